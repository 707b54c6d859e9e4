// The paged KV cache of one shard: a single reservation of fixed-size blocks (kernels::kBlockSize
// positions of one sequence, every layer, K and V), a free list, and the block tables that rows
// hold. Pages cost memory only once written, and freed blocks are reused first, so the resident
// cache stays near the blocks in use. Runs on the model thread only; moves no K/V data ever.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "shard/model/kernels/mapped_buffer.h"
#include "shard/model/kernels/paged_kv.h"

namespace tgi::shard {

class KvPool {
 public:
  // `layout` gives layers, KV heads, head_dim and dtype (its data and num_blocks are ignored).
  static absl::StatusOr<std::unique_ptr<KvPool>> Create(const kernels::PagedKv& layout,
                                                        int64_t num_blocks);

  // The kernels' view of the pool (data and num_blocks filled in).
  const kernels::PagedKv& view() const { return view_; }
  int64_t num_blocks() const { return view_.num_blocks; }
  int64_t free_blocks() const { return static_cast<int64_t>(free_.size()); }
  int64_t block_bytes() const { return view_.block_bytes(); }

  // n blocks (the most recently freed first); ResourceExhausted when fewer are free.
  absl::StatusOr<std::vector<int32_t>> Allocate(int64_t n);
  void Free(std::span<const int32_t> blocks);

 private:
  KvPool() = default;

  kernels::PagedKv view_;
  kernels::MappedBuffer buffer_;
  std::vector<int32_t> free_;  // a stack: the next block to hand out is at the back
};

// Blocks enough for `tokens` positions.
inline int64_t BlocksFor(int64_t tokens) {
  return (tokens + kernels::kBlockSize - 1) / kernels::kBlockSize;
}

// One row's block table: blocks[i] holds positions [i * kBlockSize, (i + 1) * kBlockSize). Returns
// its blocks to the pool when reset or destroyed (the pool must outlive it). Move-only.
class BlockTable {
 public:
  BlockTable() = default;
  // Room for `tokens` positions.
  static absl::StatusOr<BlockTable> Allocate(KvPool& pool, int64_t tokens);
  BlockTable(BlockTable&& other) noexcept;
  BlockTable& operator=(BlockTable&& other) noexcept;
  BlockTable(const BlockTable&) = delete;
  BlockTable& operator=(const BlockTable&) = delete;
  ~BlockTable() { Reset(); }

  std::span<const int32_t> blocks() const { return blocks_; }
  int64_t capacity() const { return static_cast<int64_t>(blocks_.size()) * kernels::kBlockSize; }
  void Reset();

 private:
  KvPool* pool_ = nullptr;
  std::vector<int32_t> blocks_;
};

}  // namespace tgi::shard
