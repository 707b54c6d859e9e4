// How the kernels see the paged KV cache: one pool of fixed-size blocks, each holding `block_size`
// consecutive positions of one sequence for every layer. Inside a block, per layer and KV head,
// K is stored transposed ([head_dim][block_size]: one vector of scores per d) and V as
// [block_size][head_dim]. A view only: the pool (shard/kv) owns the memory and the block tables.
#pragma once

#include <c10/core/ScalarType.h>

#include <cstdint>

namespace tgi::shard::kernels {

inline constexpr int64_t kBlockSize = 16;

struct PagedKv {
  void* data = nullptr;               // [num_blocks][layers][2][kv_heads][block_size * head_dim]
  at::ScalarType dtype = at::kFloat;  // kFloat or kBFloat16
  int64_t num_blocks = 0;
  int64_t layers = 0;
  int64_t kv_heads = 0;
  int64_t head_dim = 0;

  int64_t head_elements() const { return kBlockSize * head_dim; }
  int64_t layer_elements() const { return 2 * kv_heads * head_elements(); }
  int64_t block_elements() const { return layers * layer_elements(); }
  // Element offsets of K^T [head_dim][block_size] and V [block_size][head_dim].
  int64_t KOffset(int64_t block, int64_t layer, int64_t head) const {
    return block * block_elements() + layer * layer_elements() + head * head_elements();
  }
  int64_t VOffset(int64_t block, int64_t layer, int64_t head) const {
    return KOffset(block, layer, head) + kv_heads * head_elements();
  }
  int64_t block_bytes() const {
    return block_elements() * static_cast<int64_t>(c10::elementSize(dtype));
  }
};

}  // namespace tgi::shard::kernels
