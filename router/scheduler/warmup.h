// Warmup plans and their runner. On a device that compiles or captures per shape (HPU, CUDA
// graphs), tgi-gaudi's enumeration (§7.4): every prefill (batch bucket x sequence bucket) and
// decode bucket as Warmup calls. On CPU, where nothing is compiled, one call: the batch that needs
// the most memory (TGI's own warmup), which checks that it fits and lets the shard size its KV
// pool from what is left. Where tgi-gaudi's formula gives no prefill shape (its default
// max_batch_prefill_tokens is below PREFILL_BATCH_BUCKET_SIZE x max_input_tokens), that call is
// added too, so that the token budget always comes from memory. The plan is pure data;
// WARMUP_ENABLED=false is the caller's business (it simply does not run the plan).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "router/shard_client/shard_client.h"

namespace tgi::router {

struct WarmupOptions {
  uint32_t batch_bucket_size = 8;              // BATCH_BUCKET_SIZE (DB)
  uint32_t prefill_batch_bucket_size = 4;      // PREFILL_BATCH_BUCKET_SIZE (PB)
  uint32_t pad_sequence_to_multiple_of = 128;  // PAD_SEQUENCE_TO_MULTIPLE_OF (S)
  uint32_t max_input_tokens = 0;
  uint32_t max_batch_prefill_tokens = 0;
  uint32_t max_total_tokens = 0;
  std::optional<uint32_t> max_batch_size;  // after the §7.2 coupling; DB when unset
  bool skip_tokenizer = false;  // SKIP_TOKENIZER_IN_TGI: inputs are comma-separated token ids
  // The device compiles or captures a graph per shape (every device but "cpu"): warm every bucket.
  bool every_shape = true;
  // Chunked prefill's budget (0: none): no step computes more prompt tokens than this, so the
  // memory call's prompts hold no more either.
  uint32_t max_prefill_chunk_tokens = 0;
};

enum class WarmupPass {
  kPrefill,  // one (batch, length) shape with sampling, plus a (1, length) batch to concatenate
  kDecode,   // batches growing the live request count through every decode bucket
  kGreedy,   // one (batch, S) shape with neutral parameters
  kMemory,   // the largest step: as many max_input_tokens prompts as max_batch_prefill_tokens
             // (or a chunk) holds (at least one, at most max_batch_size), 2 new tokens each
};

// A (batch size, prompt length bucket) pair.
struct WarmupShape {
  uint32_t batch_size = 0;
  uint32_t seq_len = 0;
  bool operator==(const WarmupShape&) const = default;
};

// One Warmup call: its shapes (one per batch) and the batches themselves.
struct WarmupStep {
  WarmupPass pass = WarmupPass::kPrefill;
  std::vector<WarmupShape> shapes;
  std::vector<ShardBatch> batches;
};

struct WarmupPlan {
  std::vector<uint32_t> decode_batch_sizes;   // DB, 2DB, ... <= maxD
  std::vector<uint32_t> prefill_batch_sizes;  // PB, 2PB, ... <= maxP
  std::vector<uint32_t> seq_lengths;          // S, 2S, ... <= max_input, then max_input
  std::vector<WarmupStep> steps;  // prefill shapes, the decode pass, greedy shapes; or memory
};

// The enumeration; an error when a bucket or a length is zero.
absl::StatusOr<WarmupPlan> PlanWarmup(const WarmupOptions& options);

// "_test " repeated so that the prompt lands in the bucket of `seq_len` (tgi-gaudi's text).
std::string WarmupInput(uint32_t seq_len, uint32_t bucket);

// Sends each step as one Warmup call, logging every step's time and the total. Returns the
// smallest max_supported_total_tokens any call reported, or nullopt when none did. Checks
// `stopped` (may be empty) before every step and returns CANCELLED once it is true.
absl::StatusOr<std::optional<uint32_t>> RunWarmup(ShardClient& client, const WarmupPlan& plan,
                                                  const WarmupOptions& options,
                                                  const std::function<bool()>& stopped = nullptr);

}  // namespace tgi::router
