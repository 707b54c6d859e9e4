// One cached batch on the shard: the requests living in its rows, each with its block table in
// the shard's paged KV pool, and their sampling state. The bucket (rows rounded up to the decode
// bucket) is what the batch accounts and warms, as in tgi-gaudi; on CPU a forward computes only
// live rows' real tokens. Prefill builds a batch, Concatenate merges batches and Filter drops
// rows without moving any K/V (a row's blocks stay where they are; a finished or filtered row
// frees its blocks at once), Decode runs one step. Knows no proto types; model thread only.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tokenizer/tokenizer.h"
#include "shard/batch/types.h"
#include "shard/kv/kv_pool.h"
#include "shard/model/llama.h"
#include "shard/sampling/sampling_state.h"
#include "shard/sampling/stopping.h"

namespace tgi::shard {

// What a batch needs from its surroundings for every operation.
struct BatchContext {
  LlamaModel* model = nullptr;
  KvPool* pool = nullptr;
  const common::Tokenizer* tokenizer = nullptr;  // null with SKIP_TOKENIZER_IN_TGI: no texts
  BucketConfig buckets;
  WatermarkConfig watermark;
  std::vector<int64_t> eos_token_ids;
  bool force_ignore_eos = false;  // TEXT_GENERATION_SERVER_IGNORE_EOS_TOKEN
};

// A request whose prompt has been tokenized and truncated.
struct PreparedRequest {
  RequestSpec spec;
  std::vector<int32_t> prompt_ids;
};

class Batch {
 public:
  // Allocates every request's blocks (prompt + max_new_tokens - 1 positions; ResourceExhausted,
  // with nothing taken, when the pool is short) and runs the first step: the prompts as one
  // ragged forward, at most `max_prompt_tokens` of them (0: all; requests in order), and each
  // request whose prompt is done picks its first token. Appends one Generation per such request
  // to out->generations; the others continue their prompts in Decode (chunked prefill). Returns
  // nullptr when every request finished on its first token.
  static absl::StatusOr<std::unique_ptr<Batch>> Prefill(uint64_t id,
                                                        std::vector<PreparedRequest> requests,
                                                        const BatchContext& context,
                                                        int64_t max_prompt_tokens,
                                                        StepResult* out);

  // Merges `batches` (at least one; consumed) into one whose bucket holds the live requests.
  // Moves rows' bookkeeping and sampling state only, never K/V. The result keeps the id of
  // batches[0]. Returns nullptr when no batch has a live request.
  static absl::StatusOr<std::unique_ptr<Batch>> Concatenate(
      std::vector<std::unique_ptr<Batch>> batches, const BatchContext& context);

  // Runs one step over the live rows, one ragged forward: every generating request's next token,
  // and up to `max_prompt_tokens` (0: all) of the prompts still pending, rows in order. Appends
  // one Generation per request that picked a token; finished requests free their rows and blocks.
  absl::Status Decode(const BatchContext& context, int64_t max_prompt_tokens, StepResult* out);

  // Keeps only the listed requests; the others' rows and blocks are freed. Unknown ids are an
  // error (and change nothing).
  absl::Status Filter(std::span<const uint64_t> request_ids);

  uint64_t id() const { return id_; }
  int64_t NumLive() const;
  CachedBatchInfo Info() const;
  // Rows of the bucket, live or free.
  int64_t rows() const { return static_cast<int64_t>(rows_.size()); }
  // The block table of a live request (empty when it is not in the batch).
  std::span<const int32_t> BlocksOf(uint64_t request_id) const;
  // Timing of the last forward (Prefill or Decode) and of the sampling + detokenization after it.
  uint64_t last_forward_ns() const { return last_forward_ns_; }
  uint64_t last_decode_ns() const { return last_decode_ns_; }

 private:
  struct Row {
    uint64_t request_id = 0;
    std::vector<int32_t> ids;  // prompt (after truncation) then generated tokens
    int64_t prompt_length = 0;
    size_t prefix_offset = 0;  // incremental detokenization window (TGI's offsets)
    size_t read_offset = 0;
    StoppingCriteria stopping;
    uint32_t top_n_tokens = 0;
    BlockTable blocks;   // positions [0, prompt + max_new_tokens - 1)
    int64_t cached = 0;  // positions whose K/V are in the cache
    // With prefill logprobs: one per prompt token (NaN for the first), filled chunk by chunk and
    // reported with the first token.
    std::vector<float> prompt_logprobs;

    // Its prompt is not all in the cache yet (a chunked prefill).
    bool InPrompt() const { return cached < prompt_length; }

    int64_t Generated() const { return static_cast<int64_t>(ids.size()) - prompt_length; }
    // Positions the row will still write: one per decode step until max_new_tokens.
    int64_t RemainingWrites() const {
      return static_cast<int64_t>(stopping.Params().max_new_tokens) - Generated();
    }
  };

  Batch(uint64_t id, int64_t rows, int64_t vocab_size, WatermarkConfig watermark);

  // Prefill's and Decode's step (see Decode).
  absl::Status Step(const BatchContext& context, int64_t max_prompt_tokens, StepResult* out);
  // Moves the live rows of `source` into free rows of this batch (with their sampling state).
  absl::Status TakeRows(Batch& source);
  // Shrinks the bucket to `rows`, moving live rows above it down into free rows first.
  absl::Status Compact(int64_t rows);

  // Turns the tokens chosen for live rows into Generations: detokenization, stopping, top-n,
  // final text; frees finished rows.
  void Record(const std::vector<ChosenToken>& chosen, const BatchContext& context,
              std::vector<std::optional<TokenList>> prefill_tokens, StepResult* out);

  void FreeRow(int64_t row);

  uint64_t id_;
  std::vector<std::optional<Row>> rows_;  // the bucket's rows: live or free
  SamplingState sampling_;                // one sampling row per bucket row
  uint64_t last_forward_ns_ = 0;
  uint64_t last_decode_ns_ = 0;
};

}  // namespace tgi::shard
