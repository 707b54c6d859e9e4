#include "shard/model/safetensors.h"

#include <ATen/ATen.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "shard/model/status_macros.h"

namespace tgi::shard {
namespace {

namespace json = boost::json;

// The safetensors header is a JSON object of at most this many bytes (the format's own limit).
constexpr uint64_t kMaxHeaderBytes = 100 * 1000 * 1000;

struct DtypeInfo {
  std::string_view name;
  uint64_t size;
  std::optional<at::ScalarType> scalar_type;  // nullopt: valid safetensors, not in libtorch 1.13
};

constexpr DtypeInfo kDtypes[] = {
    {"BOOL", 1, at::kBool},     {"U8", 1, at::kByte},         {"I8", 1, at::kChar},
    {"I16", 2, at::kShort},     {"U16", 2, std::nullopt},     {"F16", 2, at::kHalf},
    {"BF16", 2, at::kBFloat16}, {"I32", 4, at::kInt},         {"U32", 4, std::nullopt},
    {"F32", 4, at::kFloat},     {"F64", 8, at::kDouble},      {"I64", 8, at::kLong},
    {"U64", 8, std::nullopt},   {"F8_E4M3", 1, std::nullopt}, {"F8_E5M2", 1, std::nullopt},
};

const DtypeInfo* FindDtype(std::string_view name) {
  for (const DtypeInfo& info : kDtypes) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

absl::Status Corrupt(const std::filesystem::path& path, absl::string_view problem) {
  return absl::DataLossError(absl::StrCat(path.string(), ": ", problem));
}

// Reads a non-negative integer that fits in int64.
std::optional<uint64_t> AsSize(const json::value& value) {
  if (value.is_int64() && value.as_int64() >= 0) return static_cast<uint64_t>(value.as_int64());
  if (value.is_uint64() && value.as_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return value.as_uint64();
  }
  return std::nullopt;
}

absl::StatusOr<SafetensorsEntry> ParseEntry(const std::filesystem::path& path,
                                            absl::string_view name, const json::value& value,
                                            uint64_t data_size) {
  auto bad = [&](absl::string_view problem) {
    return Corrupt(path, absl::StrCat("tensor '", name, "': ", problem));
  };
  if (!value.is_object()) return bad("entry is not an object");
  const json::object& object = value.as_object();
  const json::value* dtype = object.if_contains("dtype");
  const json::value* shape = object.if_contains("shape");
  const json::value* offsets = object.if_contains("data_offsets");
  if (dtype == nullptr || !dtype->is_string()) return bad("missing or non-string 'dtype'");
  if (shape == nullptr || !shape->is_array()) return bad("missing or non-list 'shape'");
  if (offsets == nullptr || !offsets->is_array() || offsets->as_array().size() != 2) {
    return bad("'data_offsets' must be a list of two integers");
  }
  SafetensorsEntry entry;
  entry.dtype = std::string(dtype->as_string());
  const DtypeInfo* info = FindDtype(entry.dtype);
  if (info == nullptr) return bad(absl::StrCat("unknown dtype '", entry.dtype, "'"));

  // Element count, guarding against overflow: a span larger than the data area is an error anyway.
  uint64_t bytes = info->size;
  bool overflow = false;
  for (const json::value& dim : shape->as_array()) {
    std::optional<uint64_t> size = AsSize(dim);
    if (!size.has_value()) return bad("shape entries must be non-negative integers");
    entry.shape.push_back(static_cast<int64_t>(*size));
    if (*size != 0 && bytes > UINT64_MAX / *size) overflow = true;
    bytes = overflow ? 0 : bytes * *size;
  }
  std::optional<uint64_t> begin = AsSize(offsets->as_array()[0]);
  std::optional<uint64_t> end = AsSize(offsets->as_array()[1]);
  if (!begin.has_value() || !end.has_value() || *begin > *end) {
    return bad("'data_offsets' must be two non-negative integers, begin <= end");
  }
  entry.begin = *begin;
  entry.end = *end;
  if (entry.end > data_size) {
    return bad(absl::StrCat("data_offsets [", entry.begin, ", ", entry.end,
                            ") run past the end of the data area (", data_size,
                            " bytes): the file is truncated or corrupt"));
  }
  if (overflow || bytes != entry.end - entry.begin) {
    return bad(absl::StrCat("shape x dtype size does not match its byte span of ",
                            entry.end - entry.begin, " bytes"));
  }
  return entry;
}

absl::StatusOr<std::string> ReadText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path.string()));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return std::move(buffer).str();
}

}  // namespace

SafetensorsFile::SafetensorsFile(Private, std::filesystem::path path) : path_(std::move(path)) {}

SafetensorsFile::~SafetensorsFile() {
  if (mapping_ != nullptr) munmap(const_cast<uint8_t*>(mapping_), file_size_);
}

absl::StatusOr<std::shared_ptr<const SafetensorsFile>> SafetensorsFile::Open(
    const std::filesystem::path& path) {
  auto file = std::make_shared<SafetensorsFile>(Private{}, path);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(absl::StrCat("cannot open ", path.string(), ": ", strerror(errno)));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int error = errno;
    close(fd);
    return absl::InternalError(absl::StrCat("cannot stat ", path.string(), ": ", strerror(error)));
  }
  file->file_size_ = static_cast<uint64_t>(st.st_size);
  if (file->file_size_ < 8) {
    close(fd);
    return Corrupt(path, absl::StrCat("file of ", file->file_size_,
                                      " bytes is too short for the 8-byte header length"));
  }
  void* mapping = mmap(nullptr, file->file_size_, PROT_READ, MAP_PRIVATE, fd, 0);
  int map_error = errno;
  close(fd);
  if (mapping == MAP_FAILED) {
    return absl::InternalError(
        absl::StrCat("cannot mmap ", path.string(), ": ", strerror(map_error)));
  }
  file->mapping_ = static_cast<const uint8_t*>(mapping);

  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | file->mapping_[i];
  if (header_size > file->file_size_ - 8) {
    return Corrupt(path,
                   absl::StrCat("header length ", header_size, " runs past the end of the file (",
                                file->file_size_, " bytes): truncated or not a safetensors file"));
  }
  if (header_size > kMaxHeaderBytes) {
    return Corrupt(path, absl::StrCat("header length ", header_size, " exceeds the limit of ",
                                      kMaxHeaderBytes, " bytes"));
  }
  file->data_ = file->mapping_ + 8 + header_size;
  const uint64_t data_size = file->file_size_ - 8 - header_size;

  boost::system::error_code ec;
  json::value header = json::parse(
      json::string_view(reinterpret_cast<const char*>(file->mapping_ + 8), header_size), ec);
  if (ec) return Corrupt(path, absl::StrCat("header is not valid JSON: ", ec.message()));
  if (!header.is_object()) return Corrupt(path, "header is not a JSON object");

  for (const auto& [key, value] : header.as_object()) {
    absl::string_view name(key.data(), key.size());
    if (name == "__metadata__") continue;
    TGI_ASSIGN_OR_RETURN(SafetensorsEntry entry, ParseEntry(path, name, value, data_size));
    file->entries_.emplace(std::string(name), std::move(entry));
  }

  // No two tensors may share bytes (empty tensors occupy none).
  std::vector<std::pair<const std::string*, const SafetensorsEntry*>> spans;
  for (const auto& [name, entry] : file->entries_) {
    if (entry.end > entry.begin) spans.emplace_back(&name, &entry);
  }
  std::sort(spans.begin(), spans.end(),
            [](const auto& a, const auto& b) { return a.second->begin < b.second->begin; });
  for (size_t i = 1; i < spans.size(); ++i) {
    if (spans[i].second->begin < spans[i - 1].second->end) {
      return Corrupt(path, absl::StrCat("tensors '", *spans[i - 1].first, "' and '",
                                        *spans[i].first, "' have overlapping data_offsets"));
    }
  }
  return std::shared_ptr<const SafetensorsFile>(std::move(file));
}

absl::StatusOr<at::Tensor> SafetensorsFile::Get(std::string_view std_name) const {
  const absl::string_view name(std_name.data(), std_name.size());
  auto it = entries_.find(std_name);
  if (it == entries_.end()) {
    return absl::NotFoundError(absl::StrCat(path_.string(), ": no tensor '", name, "'"));
  }
  const SafetensorsEntry& entry = it->second;
  const DtypeInfo* info = FindDtype(entry.dtype);
  if (!info->scalar_type.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(path_.string(), ": tensor '", name,
                                                   "' has dtype ", entry.dtype,
                                                   ", which this build cannot load"));
  }
  try {
    at::TensorOptions options = at::TensorOptions().dtype(*info->scalar_type);
    const uint8_t* bytes = data_ + entry.begin;
    if (reinterpret_cast<uintptr_t>(bytes) % info->size != 0) {
      // A header of odd length leaves the data misaligned: copy rather than hand out a pointer
      // that vectorised kernels may not accept.
      at::Tensor copy = at::empty(entry.shape, options);
      std::memcpy(copy.data_ptr(), bytes, entry.end - entry.begin);
      return copy;
    }
    std::shared_ptr<const SafetensorsFile> owner = shared_from_this();
    return at::from_blob(
        const_cast<uint8_t*>(bytes), entry.shape, [owner](void*) {}, options);
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat(path_.string(), ": cannot wrap tensor '", name, "': ", e.what()));
  }
}

absl::StatusOr<SafetensorsCheckpoint> SafetensorsCheckpoint::Open(
    const std::filesystem::path& dir) {
  SafetensorsCheckpoint checkpoint;
  const std::filesystem::path index_path = dir / "model.safetensors.index.json";
  if (!std::filesystem::exists(index_path)) {
    const std::filesystem::path single = dir / "model.safetensors";
    if (!std::filesystem::exists(single)) {
      return absl::NotFoundError(
          absl::StrCat("no model.safetensors or "
                       "model.safetensors.index.json in ",
                       dir.string()));
    }
    TGI_ASSIGN_OR_RETURN(std::shared_ptr<const SafetensorsFile> file,
                         SafetensorsFile::Open(single));
    for (const auto& [name, entry] : file->entries()) checkpoint.file_of_.emplace(name, 0);
    checkpoint.files_.push_back(std::move(file));
    return checkpoint;
  }

  TGI_ASSIGN_OR_RETURN(std::string text, ReadText(index_path));
  boost::system::error_code ec;
  json::value index = json::parse(text, ec);
  if (ec) return Corrupt(index_path, absl::StrCat("invalid JSON: ", ec.message()));
  const json::value* weight_map =
      index.is_object() ? index.as_object().if_contains("weight_map") : nullptr;
  if (weight_map == nullptr || !weight_map->is_object()) {
    return Corrupt(index_path, "missing 'weight_map' object");
  }
  std::map<std::string, size_t, std::less<>> file_index;  // file name -> index in files_
  for (const auto& [key, value] : weight_map->as_object()) {
    std::string name(key.data(), key.size());
    if (!value.is_string()) {
      return Corrupt(index_path, absl::StrCat("weight_map['", name, "'] is not a file name"));
    }
    std::string file_name(value.as_string());
    if (file_name.empty() || std::filesystem::path(file_name).is_absolute()) {
      return Corrupt(index_path, absl::StrCat("weight_map['", name, "'] is not a relative path"));
    }
    auto [it, inserted] = file_index.emplace(file_name, checkpoint.files_.size());
    if (inserted) {
      TGI_ASSIGN_OR_RETURN(std::shared_ptr<const SafetensorsFile> file,
                           SafetensorsFile::Open(dir / file_name));
      checkpoint.files_.push_back(std::move(file));
    }
    if (!checkpoint.files_[it->second]->Contains(name)) {
      return Corrupt(index_path, absl::StrCat("weight_map maps '", name, "' to ", file_name,
                                              ", which has no such tensor"));
    }
    checkpoint.file_of_.emplace(std::move(name), it->second);
  }
  return checkpoint;
}

bool SafetensorsCheckpoint::Contains(std::string_view name) const {
  return file_of_.find(name) != file_of_.end();
}

const SafetensorsEntry* SafetensorsCheckpoint::Find(std::string_view name) const {
  auto it = file_of_.find(name);
  if (it == file_of_.end()) return nullptr;
  return &files_[it->second]->entries().find(name)->second;
}

void SafetensorsFile::ReleaseResidentPages() const {
  // A private read-only file mapping: dropped pages come back from the file unchanged.
  if (mapping_ != nullptr) madvise(const_cast<uint8_t*>(mapping_), file_size_, MADV_DONTNEED);
}

void SafetensorsCheckpoint::ReleaseResidentPages() const {
  for (const auto& file : files_) file->ReleaseResidentPages();
}

absl::StatusOr<at::Tensor> SafetensorsCheckpoint::Get(std::string_view name) const {
  auto it = file_of_.find(name);
  if (it == file_of_.end()) {
    return absl::NotFoundError(absl::StrCat("checkpoint has no tensor '", std::string(name), "'"));
  }
  return files_[it->second]->Get(name);
}

std::vector<std::string> SafetensorsCheckpoint::Names() const {
  std::vector<std::string> names;
  names.reserve(file_of_.size());
  for (const auto& [name, index] : file_of_) names.push_back(name);
  return names;
}

}  // namespace tgi::shard
