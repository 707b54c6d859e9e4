// Page-aligned anonymous memory for the big buffers of the shard: packed weights (touched at once,
// transparent huge pages requested) and the KV block pool (reserved, not committed: pages cost
// memory only once written). Owns the mapping; moving transfers it.
#pragma once

#include <cstddef>
#include <memory>

#include "absl/status/statusor.h"

namespace tgi::shard::kernels {

class MappedBuffer {
 public:
  enum class Kind { kWeights, kReserve };
  static absl::StatusOr<MappedBuffer> Allocate(size_t bytes, Kind kind);

  MappedBuffer() = default;
  void* data() const { return data_.get(); }
  size_t size() const { return size_; }

 private:
  std::shared_ptr<void> data_;
  size_t size_ = 0;
};

}  // namespace tgi::shard::kernels
