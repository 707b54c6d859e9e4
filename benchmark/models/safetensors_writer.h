// Writes and reads back the safetensors format: an 8-byte little-endian header length, a JSON
// header (dtype, shape and data offsets of every tensor, padded with spaces to 8 bytes), then
// the raw little-endian data of each tensor in header order. The writer streams: values come in
// chunks from a callback, so a 4 GB file never sits in memory. Knows nothing of models.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tgi::benchmark {

enum class Dtype { kFloat32, kBFloat16 };

// "F32" / "BF16" (the header's names); torch names "float32" / "bfloat16".
const char* SafetensorsDtypeName(Dtype dtype);
const char* TorchDtypeName(Dtype dtype);
int DtypeSize(Dtype dtype);
// Accepts float32/fp32/f32 and bfloat16/bf16.
absl::StatusOr<Dtype> ParseDtype(const std::string& name);

struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  Dtype dtype = Dtype::kFloat32;

  int64_t elements() const;
};

// Fills `out` with elements [first, first + out.size()) of tensor `index`, as floats (the writer
// converts them to the tensor's dtype, bfloat16 rounded to nearest even).
using TensorFiller =
    std::function<void(size_t index, int64_t first, std::span<float> out)>;

// Writes `tensors` in order to `path`; `metadata` becomes the header's "__metadata__".
absl::Status WriteSafetensors(const std::filesystem::path& path,
                              const std::vector<TensorSpec>& tensors,
                              const std::map<std::string, std::string>& metadata,
                              const TensorFiller& fill);

// One entry read back from a header.
struct HeaderEntry {
  std::string dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0;
  uint64_t end = 0;
};

struct SafetensorsHeader {
  uint64_t header_bytes = 0;  // the JSON's length, as the first 8 bytes say
  std::map<std::string, HeaderEntry> tensors;
  std::map<std::string, std::string> metadata;
};

// Parses the header of `path` (not the data).
absl::StatusOr<SafetensorsHeader> ReadSafetensorsHeader(const std::filesystem::path& path);

// float32 -> bfloat16 bits, rounding to nearest even (NaN stays NaN).
uint16_t FloatToBFloat16(float value);

}  // namespace tgi::benchmark
