#include "benchmark/models/safetensors_writer.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "boost/json.hpp"

namespace tgi::benchmark {

namespace {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

constexpr int64_t kChunkElements = int64_t{1} << 20;  // 4 MiB of floats per chunk

std::string HeaderJson(const std::vector<TensorSpec>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  boost::json::object header;
  if (!metadata.empty()) {
    boost::json::object meta;
    for (const auto& [key, value] : metadata) meta[key] = value;
    header["__metadata__"] = std::move(meta);
  }
  uint64_t offset = 0;
  for (const TensorSpec& tensor : tensors) {
    const uint64_t bytes = static_cast<uint64_t>(tensor.elements()) * DtypeSize(tensor.dtype);
    boost::json::array shape;
    for (int64_t dim : tensor.shape) shape.push_back(dim);
    header[tensor.name] = boost::json::object{{"dtype", SafetensorsDtypeName(tensor.dtype)},
                                              {"shape", std::move(shape)},
                                              {"data_offsets", boost::json::array{offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = boost::json::serialize(header);
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

// Converts `values` to `dtype` into `bytes` (resized).
void Encode(std::span<const float> values, Dtype dtype, std::vector<char>& bytes) {
  bytes.resize(values.size() * DtypeSize(dtype));
  if (dtype == Dtype::kFloat32) {
    std::memcpy(bytes.data(), values.data(), bytes.size());
    return;
  }
  for (size_t i = 0; i < values.size(); ++i) {
    const uint16_t bits = FloatToBFloat16(values[i]);
    std::memcpy(bytes.data() + 2 * i, &bits, 2);
  }
}

absl::StatusOr<HeaderEntry> ParseEntry(const std::string& name, const boost::json::value& value) {
  const boost::json::object* entry = value.if_object();
  const auto bad = [&](const char* what) {
    return absl::InvalidArgumentError(absl::StrCat("tensor `", name, "`: ", what));
  };
  if (!entry) return bad("not an object");
  HeaderEntry out;
  const boost::json::value* dtype = entry->if_contains("dtype");
  const boost::json::value* shape = entry->if_contains("shape");
  const boost::json::value* offsets = entry->if_contains("data_offsets");
  if (!dtype || !dtype->is_string()) return bad("no dtype");
  if (!shape || !shape->is_array()) return bad("no shape");
  if (!offsets || !offsets->is_array() || offsets->as_array().size() != 2) {
    return bad("no data_offsets");
  }
  out.dtype = std::string(dtype->as_string());
  for (const boost::json::value& dim : shape->as_array()) out.shape.push_back(dim.to_number<int64_t>());
  out.begin = offsets->as_array()[0].to_number<uint64_t>();
  out.end = offsets->as_array()[1].to_number<uint64_t>();
  return out;
}

}  // namespace

const char* SafetensorsDtypeName(Dtype dtype) { return dtype == Dtype::kFloat32 ? "F32" : "BF16"; }
const char* TorchDtypeName(Dtype dtype) {
  return dtype == Dtype::kFloat32 ? "float32" : "bfloat16";
}
int DtypeSize(Dtype dtype) { return dtype == Dtype::kFloat32 ? 4 : 2; }

absl::StatusOr<Dtype> ParseDtype(const std::string& name) {
  if (name == "float32" || name == "fp32" || name == "f32") return Dtype::kFloat32;
  if (name == "bfloat16" || name == "bf16") return Dtype::kBFloat16;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown dtype `", name, "` (float32 or bfloat16)"));
}

int64_t TensorSpec::elements() const {
  int64_t n = 1;
  for (int64_t dim : shape) n *= dim;
  return n;
}

uint16_t FloatToBFloat16(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  if (std::isnan(value)) return static_cast<uint16_t>((bits >> 16) | 0x40);
  const uint32_t rounding = 0x7FFF + ((bits >> 16) & 1);
  return static_cast<uint16_t>((bits + rounding) >> 16);
}

absl::Status WriteSafetensors(const std::filesystem::path& path,
                              const std::vector<TensorSpec>& tensors,
                              const std::map<std::string, std::string>& metadata,
                              const TensorFiller& fill) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return absl::PermissionDeniedError(absl::StrCat("cannot write ", path.string()));
  const std::string header = HeaderJson(tensors, metadata);
  const uint64_t length = header.size();
  out.write(reinterpret_cast<const char*>(&length), sizeof(length));
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  std::vector<float> values;
  std::vector<char> bytes;
  for (size_t index = 0; index < tensors.size(); ++index) {
    const int64_t total = tensors[index].elements();
    for (int64_t first = 0; first < total; first += kChunkElements) {
      values.resize(static_cast<size_t>(std::min(kChunkElements, total - first)));
      fill(index, first, values);
      Encode(values, tensors[index].dtype, bytes);
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
  }
  out.close();
  if (!out) return absl::DataLossError(absl::StrCat("writing ", path.string(), " failed"));
  return absl::OkStatus();
}

absl::StatusOr<SafetensorsHeader> ReadSafetensorsHeader(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path.string()));
  SafetensorsHeader header;
  in.read(reinterpret_cast<char*>(&header.header_bytes), sizeof(header.header_bytes));
  if (!in || header.header_bytes > (uint64_t{100} << 20)) {
    return absl::InvalidArgumentError("bad safetensors header length");
  }
  std::string text(header.header_bytes, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  boost::system::error_code error;
  boost::json::value parsed = boost::json::parse(text, error);
  if (!in || error || !parsed.is_object()) {
    return absl::InvalidArgumentError("the safetensors header is not a JSON object");
  }
  for (const auto& [key, value] : parsed.as_object()) {
    if (key == "__metadata__") {
      if (!value.is_object()) return absl::InvalidArgumentError("__metadata__ is not an object");
      for (const auto& [meta_key, meta_value] : value.as_object()) {
        if (meta_value.is_string()) {
          header.metadata[std::string(meta_key)] = std::string(meta_value.as_string());
        }
      }
      continue;
    }
    absl::StatusOr<HeaderEntry> entry = ParseEntry(std::string(key), value);
    if (!entry.ok()) return entry.status();
    header.tensors[std::string(key)] = std::move(*entry);
  }
  return header;
}

}  // namespace tgi::benchmark
