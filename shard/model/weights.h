// Loads named checkpoint tensors for one tensor-parallel rank: checks their shape, slices the
// rank's part (columns = output features, dim 0; rows = input features, dim 1; vocab = dim 0)
// and converts them to the working dtype and device. It owns no tensors and knows no model: the
// architecture decides which tensor is sliced how.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "shard/model/safetensors.h"

namespace tgi::shard {

class WeightLoader {
 public:
  WeightLoader(const SafetensorsCheckpoint& checkpoint, at::ScalarType dtype, at::Device device,
               int rank, int world_size)
      : checkpoint_(checkpoint),
        dtype_(dtype),
        device_(device),
        rank_(rank),
        world_size_(world_size) {}

  bool Contains(std::string_view name) const { return checkpoint_.Contains(name); }

  // The whole tensor, which must have shape `shape`. When the checkpoint already holds the
  // working dtype on CPU, the result is the read-only zero-copy view of the mapping.
  absl::StatusOr<at::Tensor> Replicated(std::string_view name, std::vector<int64_t> shape) const;
  // This rank's slice of dim 0 (the output features of a column-parallel projection, or the
  // vocabulary rows of an embedding). `shape` is the full tensor's.
  absl::StatusOr<at::Tensor> ColumnShard(std::string_view name, std::vector<int64_t> shape) const;
  // This rank's slice of dim 1 (the input features of a row-parallel projection).
  absl::StatusOr<at::Tensor> RowShard(std::string_view name, std::vector<int64_t> shape) const;
  // Rows [begin, begin + count) of dim 0, whatever the rank (KV heads replicated across ranks).
  absl::StatusOr<at::Tensor> Rows(std::string_view name, std::vector<int64_t> shape, int64_t begin,
                                  int64_t count) const;

  at::ScalarType dtype() const { return dtype_; }

 private:
  // split_dim -1: the whole tensor; else [begin, begin + count) of that dim (count -1: this
  // rank's even share).
  absl::StatusOr<at::Tensor> Load(std::string_view name, const std::vector<int64_t>& shape,
                                  int64_t split_dim, int64_t begin = 0, int64_t count = -1) const;

  const SafetensorsCheckpoint& checkpoint_;
  at::ScalarType dtype_;
  at::Device device_;
  int rank_;
  int world_size_;
};

}  // namespace tgi::shard
