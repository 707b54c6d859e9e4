// Per-row sampling state of one bucketed batch: each row's parameters, token history (counts
// [batch, vocab], updated in place) and seeded generator, and the step that turns logits into one
// token per live row. Knows nothing of proto, KV caches or stopping; the model thread owns it and
// it is not thread-safe.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "shard/sampling/logits_process.h"
#include "shard/sampling/sampling_params.h"

namespace tgi::shard {

// The token chosen for one live row at one step.
struct ChosenToken {
  int64_t row = 0;
  int64_t id = 0;
  float logprob = 0.0f;  // log_softmax of the processed logits, as TGI reports it
  TopTokens top_tokens;  // empty unless the row asked for top_n_tokens
};

class SamplingState {
 public:
  // A bucket of batch_size free rows. Tensors live on device; generators are CPU generators
  // (as in tgi-gaudi), so a seed gives the same tokens on every device.
  SamplingState(int64_t batch_size, int64_t vocab_size, WatermarkConfig watermark = {},
                at::Device device = at::kCPU);

  int64_t BatchSize() const { return static_cast<int64_t>(rows_.size()); }
  int64_t VocabSize() const { return vocab_size_; }
  int64_t NumLive() const;
  bool IsLive(int64_t row) const { return rows_.at(row).live; }
  // Whether the row samples (TGI's switch); GeneratedText.seed is reported only then.
  bool Samples(int64_t row) const { return rows_.at(row).generator.has_value(); }
  const SamplingParams& Params(int64_t row) const { return rows_.at(row).params; }
  // Tokens in the row's history: its prompt plus the tokens chosen since.
  int64_t SeenTokens(int64_t row) const { return rows_.at(row).seen; }

  // Makes `row` live for a new request: its history is prompt_ids (after truncation, without
  // padding) and a sampling row gets a fresh generator seeded with params.seed.
  absl::Status SetRow(int64_t row, const SamplingParams& params,
                      std::span<const int64_t> prompt_ids, uint32_t top_n_tokens = 0);
  // Frees the row (finished or filtered out).
  void ClearRow(int64_t row);
  // Copies other's src_rows[i] into dst_rows[i], with their history and generator state, so the
  // rows continue exactly as they would have in `other`. `other` may be *this.
  absl::Status CopyRowsFrom(const SamplingState& other, std::span<const int64_t> src_rows,
                            std::span<const int64_t> dst_rows);
  // Grows (new rows are free) or shrinks the bucket; shrinking must drop only free rows.
  absl::Status Resize(int64_t new_batch_size);

  // The processed scores [batch, vocab] (float32) for logits [batch, vocab]: watermark,
  // repetition and frequency penalties, then temperature, top-k, top-p, typical-p, each row with
  // its own parameters. Free rows are returned unchanged. Advances nothing.
  absl::StatusOr<at::Tensor> ProcessLogits(const at::Tensor& logits) const;

  // One step: processes logits [batch, vocab], picks a token per live row, computes logprobs and
  // top-n alternatives, and appends the chosen tokens to the rows' histories. Greedy rows take
  // the argmax; sampling rows draw from softmax of their processed scores with one 64-bit number
  // from their own generator (inverse CDF), so a row's tokens depend only on its seed, its logits
  // and its history, never on its position or companions. Free rows' logits are ignored.
  // Results are in ascending row order.
  absl::StatusOr<std::vector<ChosenToken>> Choose(const at::Tensor& logits);
  // The same step for logits [NumLive(), vocab] of the live rows only, in ascending row order
  // (what a forward over live rows returns). Rows that process nothing (greedy, no penalty, no
  // warper, no watermark) read their logits in place; each logprob comes from one logsumexp
  // per row, never from a full log_softmax.
  absl::StatusOr<std::vector<ChosenToken>> ChooseLive(const at::Tensor& live_logits);
  // The same step for some live rows only (ascending; logits [rows.size(), vocab]): the others
  // advance nothing (a chunked prefill's rows whose prompt is not done yet).
  absl::StatusOr<std::vector<ChosenToken>> ChooseRows(const at::Tensor& logits,
                                                      std::span<const int64_t> rows);

 private:
  struct Row {
    bool live = false;
    SamplingParams params;
    uint32_t top_n_tokens = 0;
    int64_t seen = 0;                        // history length: prompt + chosen tokens
    int64_t last_token = -1;                 // watermark seed; -1 before any token
    std::optional<at::Generator> generator;  // sampling rows only
  };

  std::vector<int64_t> LiveRows() const;
  // Processed scores [live, vocab] of the live rows, in the order of `live`; `logits` holds
  // every row ([batch, vocab]) or, with `compact`, the live rows only ([live, vocab]).
  at::Tensor ProcessLive(const at::Tensor& logits, const std::vector<int64_t>& live,
                         bool compact = false) const;
  bool AllNeutral(const std::vector<int64_t>& live) const;
  void EnsureCounts();
  void Record(const std::vector<int64_t>& live, const std::vector<int64_t>& ids);
  absl::Status CheckRow(int64_t row) const;

  int64_t vocab_size_;
  WatermarkConfig watermark_;
  at::Device device_;
  std::vector<Row> rows_;
  // [batch, vocab] float32: occurrences of each token in the row's history. Allocated when the
  // first row with a penalty arrives; only rows with a penalty are tracked (others never read it).
  at::Tensor counts_;
};

}  // namespace tgi::shard
