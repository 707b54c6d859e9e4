#include "shard/kv/kv_pool.h"

#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tgi::shard {

absl::StatusOr<std::unique_ptr<KvPool>> KvPool::Create(const kernels::PagedKv& layout,
                                                       int64_t num_blocks) {
  if (num_blocks <= 0 || num_blocks > std::numeric_limits<int32_t>::max()) {
    return absl::InvalidArgumentError(
        absl::StrCat("a KV pool needs between 1 and 2^31 - 1 blocks, not ", num_blocks));
  }
  if (layout.dtype != at::kFloat && layout.dtype != at::kBFloat16) {
    return absl::InvalidArgumentError(absl::StrCat(
        "KV cache dtype must be float32 or bfloat16, not ", c10::toString(layout.dtype)));
  }
  std::unique_ptr<KvPool> pool(new KvPool());
  pool->view_ = layout;
  pool->view_.num_blocks = num_blocks;
  const auto bytes = static_cast<size_t>(num_blocks * pool->view_.block_bytes());
  absl::StatusOr<kernels::MappedBuffer> buffer =
      kernels::MappedBuffer::Allocate(bytes, kernels::MappedBuffer::Kind::kReserve);
  if (!buffer.ok()) return buffer.status();
  pool->buffer_ = std::move(*buffer);
  pool->view_.data = pool->buffer_.data();
  pool->free_.reserve(static_cast<size_t>(num_blocks));
  for (int64_t b = num_blocks - 1; b >= 0; --b) pool->free_.push_back(static_cast<int32_t>(b));
  return pool;
}

absl::StatusOr<std::vector<int32_t>> KvPool::Allocate(int64_t n) {
  if (n < 0 || n > free_blocks()) {
    return absl::ResourceExhaustedError(absl::StrCat("not enough KV cache: ", n, " blocks of ",
                                                     kernels::kBlockSize, " tokens needed, ",
                                                     free_blocks(), " of ", num_blocks(), " free"));
  }
  std::vector<int32_t> blocks(free_.end() - n, free_.end());
  free_.resize(free_.size() - static_cast<size_t>(n));
  return blocks;
}

void KvPool::Free(std::span<const int32_t> blocks) {
  // Freed in reverse so that the next Allocate hands them out in their old order.
  for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) free_.push_back(*it);
}

absl::StatusOr<BlockTable> BlockTable::Allocate(KvPool& pool, int64_t tokens) {
  absl::StatusOr<std::vector<int32_t>> blocks = pool.Allocate(BlocksFor(tokens));
  if (!blocks.ok()) return blocks.status();
  BlockTable table;
  table.pool_ = &pool;
  table.blocks_ = std::move(*blocks);
  return table;
}

BlockTable::BlockTable(BlockTable&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)), blocks_(std::move(other.blocks_)) {
  other.blocks_.clear();
}

BlockTable& BlockTable::operator=(BlockTable&& other) noexcept {
  if (this != &other) {
    Reset();
    pool_ = std::exchange(other.pool_, nullptr);
    blocks_ = std::move(other.blocks_);
    other.blocks_.clear();
  }
  return *this;
}

void BlockTable::Reset() {
  if (pool_ != nullptr && !blocks_.empty()) pool_->Free(blocks_);
  blocks_.clear();
  pool_ = nullptr;
}

}  // namespace tgi::shard
