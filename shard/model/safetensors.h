// Reads safetensors checkpoints: one `model.safetensors`, or the shards that
// `model.safetensors.index.json` names. Files are mapped read-only and validated in full when
// opened; tensors are zero-copy views of the mapping, which each tensor keeps alive. Knows
// nothing of models: it neither converts dtypes nor slices for tensor parallelism.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace tgi::shard {

// One tensor's entry in a safetensors header.
struct SafetensorsEntry {
  std::string dtype;           // as written: "F32", "BF16", ...
  std::vector<int64_t> shape;  // may be empty (a scalar)
  uint64_t begin = 0;          // byte offsets relative to the start of the data area
  uint64_t end = 0;
};

// One mapped `.safetensors` file. The returned tensors point into the read-only mapping: they
// must never be written to (copy or convert them first). The mapping lives as long as the file
// object or any tensor obtained from it.
class SafetensorsFile : public std::enable_shared_from_this<SafetensorsFile> {
 public:
  // Maps and validates `path`: header length inside the file, valid JSON, known dtypes,
  // shape x dtype size == byte span, spans inside the data area and not overlapping.
  static absl::StatusOr<std::shared_ptr<const SafetensorsFile>> Open(
      const std::filesystem::path& path);

  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const std::map<std::string, SafetensorsEntry, std::less<>>& entries() const { return entries_; }
  bool Contains(std::string_view name) const { return entries_.find(name) != entries_.end(); }

  // A zero-copy CPU tensor. Errors for unknown names and for dtypes libtorch 1.13 cannot hold
  // (U16, U32, U64, F8_*).
  absl::StatusOr<at::Tensor> Get(std::string_view name) const;

  // Drops the mapping's resident pages from this process (MADV_DONTNEED; the page cache keeps
  // them, and a later read maps them again): a loader that has copied what it read calls it so
  // that the file does not count a second time in its memory.
  void ReleaseResidentPages() const;

 private:
  struct Private {};

 public:
  SafetensorsFile(Private, std::filesystem::path path);

 private:
  std::filesystem::path path_;
  const uint8_t* mapping_ = nullptr;
  uint64_t file_size_ = 0;
  const uint8_t* data_ = nullptr;  // start of the data area, after the header
  std::map<std::string, SafetensorsEntry, std::less<>> entries_;
};

// A whole checkpoint directory: the sharded files of `model.safetensors.index.json` (its
// `weight_map`), or the single `model.safetensors`.
class SafetensorsCheckpoint {
 public:
  static absl::StatusOr<SafetensorsCheckpoint> Open(const std::filesystem::path& dir);

  bool Contains(std::string_view name) const;
  absl::StatusOr<at::Tensor> Get(std::string_view name) const;
  // The entry of `name` (for shape checks before loading); nullptr if absent.
  const SafetensorsEntry* Find(std::string_view name) const;
  std::vector<std::string> Names() const;
  // ReleaseResidentPages of every file.
  void ReleaseResidentPages() const;

 private:
  std::vector<std::shared_ptr<const SafetensorsFile>> files_;
  std::map<std::string, size_t, std::less<>> file_of_;  // tensor name -> index in files_
};

}  // namespace tgi::shard
