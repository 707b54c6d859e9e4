// One cached batch on the shard, in the bucketed (static-shape) execution model: its KV cache and
// per-row buffers, allocated for a bucket and written in place, and the requests living in its
// rows. Prefill builds one, Concatenate merges several (moving rows, realigning write positions),
// Filter frees rows, Decode runs one step. Knows no proto types; runs on the model thread only.
//
// Layout. Every row writes its next token at the same cache slot (write_offset); a row's real
// tokens occupy slots [start, write_offset) and everything before `start` is padding, masked by
// key_bias. Invariant: every slot below write_offset of a live row holds finite values, so masked
// slots can never turn a score into NaN.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "shard/model/llama.h"
#include "shard/sampling/sampling_state.h"
#include "shard/sampling/stopping.h"
#include "common/tokenizer/tokenizer.h"
#include "shard/batch/types.h"

namespace tgi::shard {

// What a batch needs from its surroundings for every operation.
struct BatchContext {
  LlamaModel* model = nullptr;
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
  // Runs the first forward of `requests` (at least one) and picks each request's first token.
  // Appends one Generation per request to out->generations. Returns nullptr when every request
  // finished on its first token.
  static absl::StatusOr<std::unique_ptr<Batch>> Prefill(uint64_t id,
                                                        std::vector<PreparedRequest> requests,
                                                        const BatchContext& context,
                                                        StepResult* out);

  // Merges `batches` (at least one; consumed) into one batch laid out for the next decode step:
  // rows = live requests rounded up to the decode bucket, every write position aligned. Reuses
  // the storage of the batch that needs the fewest moves when it is big enough. The result keeps
  // the id of batches[0]. Returns nullptr when no batch has a live request.
  static absl::StatusOr<std::unique_ptr<Batch>> Concatenate(
      std::vector<std::unique_ptr<Batch>> batches, const BatchContext& context);

  // Runs one decode step over the live rows and appends one Generation per live request.
  // Finished requests free their rows. The batch must come from Concatenate.
  absl::Status Decode(const BatchContext& context, StepResult* out);

  // Keeps only the listed requests; the others' rows become free. Unknown ids are an error.
  absl::Status Filter(std::span<const uint64_t> request_ids);

  uint64_t id() const { return id_; }
  int64_t NumLive() const;
  CachedBatchInfo Info() const;
  int64_t rows() const { return static_cast<int64_t>(rows_.size()); }
  int64_t write_offset() const { return write_offset_; }
  int64_t capacity() const { return storage_.capacity(); }
  // Timing of the last forward (Prefill or Decode) and of the sampling + detokenization after it.
  uint64_t last_forward_ns() const { return last_forward_ns_; }
  uint64_t last_decode_ns() const { return last_decode_ns_; }

 private:
  // The tensors of a batch: allocated once for (rows, capacity), written in place.
  struct Storage {
    KvCache cache;         // [layers, 2, rows, kv_heads, capacity, head_dim]
    at::Tensor key_bias;   // [rows, capacity] float32: 0 = attend, kMaskedBias = padding
    at::Tensor input_ids;  // [rows, 1] int64: the token each row feeds next
    at::Tensor positions;  // [rows, 1] int64: its rotary position
    int64_t rows() const { return input_ids.defined() ? input_ids.size(0) : 0; }
    int64_t capacity() const { return key_bias.defined() ? key_bias.size(1) : 0; }
  };

  struct Row {
    uint64_t request_id = 0;
    std::vector<int32_t> ids;  // prompt (after truncation) then generated tokens
    int64_t prompt_length = 0;
    size_t prefix_offset = 0;  // incremental detokenization window (TGI's offsets)
    size_t read_offset = 0;
    StoppingCriteria stopping;
    uint32_t top_n_tokens = 0;
    int64_t start = 0;  // first cache slot of the row's tokens

    int64_t Generated() const { return static_cast<int64_t>(ids.size()) - prompt_length; }
    // Cache slots the row will still write: one per decode step until max_new_tokens.
    int64_t RemainingWrites() const {
      return static_cast<int64_t>(stopping.Params().max_new_tokens) - Generated();
    }
  };

  Batch(uint64_t id, Storage storage, int64_t active_rows, int64_t vocab_size,
        WatermarkConfig watermark);

  static absl::StatusOr<Storage> Allocate(const LlamaModel& model, int64_t rows,
                                         int64_t capacity);
  // The key_bias / cache views of the first `rows` rows.
  KvCache CacheView(int64_t rows) const;

  // Moves the live rows `src_rows` of `source` (which may be *this) into the free rows `dst_rows`
  // of this batch, shifting their slots by `shift` (their write offset becomes ours).
  absl::Status MoveRowsFrom(Batch& source, std::span<const int64_t> src_rows,
                            std::span<const int64_t> dst_rows, int64_t shift);

  // Turns the tokens chosen for live rows into Generations: detokenization, stopping, top-n,
  // final text; frees finished rows and stores the others' next input ids.
  void Record(const std::vector<ChosenToken>& chosen, const BatchContext& context,
              std::vector<std::optional<TokenList>> prefill_tokens, StepResult* out);

  void FreeRow(int64_t row);

  uint64_t id_;
  Storage storage_;
  std::vector<std::optional<Row>> rows_;  // the active rows: live or free
  SamplingState sampling_;                // one sampling row per active row
  int64_t write_offset_ = 0;              // the cache slot the next forward writes
  uint64_t last_forward_ns_ = 0;
  uint64_t last_decode_ns_ = 0;
};

}  // namespace tgi::shard
