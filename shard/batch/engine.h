// The shard's generation engine: the model, the tokenizer, the paged KV pool and every cached
// batch by id. It turns requests into prepared prompts (tokenize or parse ids, truncate,
// validate), and runs Prefill, Decode (with concatenation), Filter, ClearCache and Warmup, which
// sizes the pool from free memory. Errors are statuses; the engine stays usable after any of
// them. Every call runs under c10::InferenceMode. Not thread-safe: the model thread calls it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "shard/batch/batch.h"
#include "shard/kv/kv_pool.h"
#include "shard/model/llama.h"
#include "common/tokenizer/tokenizer.h"
#include "shard/batch/types.h"

namespace tgi::shard {

struct EngineOptions {
  BucketConfig buckets;
  WatermarkConfig watermark;
  bool skip_tokenizer = false;    // SKIP_TOKENIZER_IN_TGI: inputs are comma-separated ids
  bool force_ignore_eos = false;  // TEXT_GENERATION_SERVER_IGNORE_EOS_TOKEN
  double memory_fraction = 0.8;   // share of the free memory Warmup offers to the KV cache
  // Checked between Warmup's steps: true once the shard is stopping (may be empty).
  std::function<bool()> stopped;
  // KV pool blocks before Warmup sizes it; 0: memory_fraction of the free memory (reserved, not
  // committed: pages cost memory only once written).
  int64_t kv_cache_blocks = 0;
};

class Engine {
 public:
  Engine(std::unique_ptr<LlamaModel> model, std::unique_ptr<common::Tokenizer> tokenizer,
         EngineOptions options);

  // `max_prompt_tokens` bounds the prompt tokens one call computes (chunked prefill; 0: whole
  // prompts): a request whose prompt is not done yet gets no Generation and goes on in Decode.
  absl::StatusOr<StepResult> Prefill(uint64_t batch_id, std::vector<RequestSpec> requests,
                                     uint32_t max_prompt_tokens = 0);
  // Concatenates the batches (the result keeps the first id) and runs one step: every generating
  // request's next token and up to `max_prompt_tokens` (0: all) of the pending prompts.
  absl::StatusOr<StepResult> Decode(std::span<const uint64_t> batch_ids,
                                    uint32_t max_prompt_tokens = 0);
  absl::StatusOr<CachedBatchInfo> Filter(uint64_t batch_id, std::span<const uint64_t> request_ids);
  // Drops one batch, or all of them.
  void ClearCache(std::optional<uint64_t> batch_id);

  // Runs every batch through prefill, decode and concatenation so each shape has run once (on
  // CPU, where nothing is compiled per shape, only the batch needing the most positions), frees
  // everything, re-sizes the KV pool to memory_fraction of the memory then free, and returns how
  // many tokens it holds (whole blocks).
  absl::StatusOr<uint32_t> Warmup(std::vector<std::vector<RequestSpec>> batches);

  const LlamaModel& model() const { return *model_; }
  size_t NumCachedBatches() const { return batches_.size(); }
  const Batch* FindBatch(uint64_t id) const;
  // Null only when the pool could not be reserved (then every Prefill is refused).
  const KvPool* pool() const { return pool_.get(); }
  // The KV pool's use right now (nothing reserved before Warmup sizes the pool).
  KvUsage kv_usage() const;

 private:
  absl::StatusOr<PreparedRequest> Prepare(RequestSpec spec) const;

  absl::StatusOr<std::vector<int32_t>> ParseTokenIds(const std::string& inputs) const;
  // Blocks that memory_fraction of the free memory holds (at least 1); the ranks of a sharded
  // model divide it.
  int64_t BlocksFromMemory() const;
  // The fewest blocks any rank offers: every rank keeps the same pool, so that the same calls
  // allocate the same blocks everywhere.
  absl::StatusOr<int64_t> AgreedBlocks(int64_t blocks) const;
  absl::Status CreatePool(int64_t blocks);

  std::unique_ptr<LlamaModel> model_;
  std::unique_ptr<common::Tokenizer> tokenizer_;
  EngineOptions options_;
  BatchContext context_;
  std::unique_ptr<KvPool> pool_;  // declared before batches_: the batches' blocks go back first
  std::map<uint64_t, std::unique_ptr<Batch>> batches_;
};

// Bytes of memory this process may still use: MemAvailable, bounded by a cgroup limit if any.
int64_t AvailableMemoryBytes();

}  // namespace tgi::shard
