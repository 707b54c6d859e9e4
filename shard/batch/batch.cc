#include "shard/batch/batch.h"

#include <algorithm>
#include <chrono>
#include <map>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "shard/batch/detokenize.h"

namespace tgi::shard {

namespace {

uint64_t NanosSince(std::chrono::steady_clock::time_point start) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count());
}

}  // namespace

Batch::Batch(uint64_t id, int64_t rows, int64_t vocab_size, WatermarkConfig watermark)
    : id_(id), rows_(rows), sampling_(rows, vocab_size, watermark) {}

int64_t Batch::NumLive() const {
  return std::count_if(rows_.begin(), rows_.end(), [](const auto& row) { return row.has_value(); });
}

CachedBatchInfo Batch::Info() const {
  CachedBatchInfo info;
  info.id = id_;
  int64_t max_tokens = 0;
  for (const auto& row : rows_) {
    if (!row) continue;
    info.request_ids.push_back(row->request_id);
    max_tokens += row->cached + row->RemainingWrites();
  }
  info.size = static_cast<uint32_t>(info.request_ids.size());
  info.max_tokens = static_cast<uint32_t>(std::min<int64_t>(max_tokens, UINT32_MAX));
  return info;
}

std::span<const int32_t> Batch::BlocksOf(uint64_t request_id) const {
  for (const auto& row : rows_) {
    if (row && row->request_id == request_id) return row->blocks.blocks();
  }
  return {};
}

void Batch::FreeRow(int64_t row) {
  rows_[row].reset();  // its block table returns the blocks to the pool
  sampling_.ClearRow(row);
}

absl::StatusOr<std::unique_ptr<Batch>> Batch::Prefill(uint64_t id,
                                                      std::vector<PreparedRequest> requests,
                                                      const BatchContext& context,
                                                      StepResult* out) {
  const BucketConfig& buckets = context.buckets;
  const LlamaModel& model = *context.model;
  const auto n = static_cast<int64_t>(requests.size());
  // The bucket: rows padded to the prefill bucket, and to the decode bucket the batch joins.
  const int64_t rows = std::max(RoundUp(n, buckets.prefill_batch_bucket_size),
                                RoundUp(n, buckets.batch_bucket_size));
  std::unique_ptr<Batch> batch(new Batch(id, rows, model.config().vocab_size, context.watermark));

  // Every request's blocks, or none: a refusal leaves the pool as it was.
  std::vector<BlockTable> tables;
  ForwardBatch forward;
  for (const PreparedRequest& request : requests) {
    const auto length = static_cast<int64_t>(request.prompt_ids.size());
    const int64_t positions =
        length + std::max<int64_t>(request.spec.stopping.max_new_tokens, 1) - 1;
    absl::StatusOr<BlockTable> table = BlockTable::Allocate(*context.pool, positions);
    if (!table.ok()) {
      return absl::ResourceExhaustedError(absl::StrCat("cannot admit batch ", id, " (", n,
                                                       " requests): ", table.status().message()));
    }
    tables.push_back(std::move(*table));
    forward.input_ids.insert(forward.input_ids.end(), request.prompt_ids.begin(),
                             request.prompt_ids.end());
    forward.rows.push_back({.context = 0,
                            .new_tokens = length,
                            .blocks = tables.back().blocks(),
                            .all_logits = request.spec.prefill_logprobs});
  }
  for (int64_t r = 0; r < n; ++r) {
    const std::vector<int32_t>& prompt = requests[r].prompt_ids;
    const std::vector<int64_t> history(prompt.begin(), prompt.end());
    absl::Status status = batch->sampling_.SetRow(r, requests[r].spec.sampling, history,
                                                  requests[r].spec.top_n_tokens);
    if (!status.ok()) return status;
  }

  auto started = std::chrono::steady_clock::now();
  absl::StatusOr<at::Tensor> forward_logits = model.Forward(forward, context.pool->view());
  if (!forward_logits.ok()) return forward_logits.status();
  const at::Tensor logits = std::move(*forward_logits);  // [logit rows, vocab]
  batch->last_forward_ns_ = NanosSince(started);
  started = std::chrono::steady_clock::now();

  // Each request's logits rows: its whole prompt with prefill logprobs, else its last token.
  std::vector<int64_t> first_logit(n), last_logit(n);
  int64_t next = 0;
  for (int64_t r = 0; r < n; ++r) {
    first_logit[r] = next;
    next += forward.rows[r].all_logits ? forward.rows[r].new_tokens : 1;
    last_logit[r] = next - 1;
  }
  const at::Tensor last =
      next == n ? logits : logits.index_select(0, at::tensor(last_logit, at::kLong));
  absl::StatusOr<std::vector<ChosenToken>> chosen = batch->sampling_.ChooseLive(last);
  if (!chosen.ok()) return chosen.status();

  std::vector<std::optional<TokenList>> prefill_tokens(chosen->size());
  for (int64_t r = 0; r < n; ++r) {
    PreparedRequest& request = requests[r];
    const auto length = static_cast<int64_t>(request.prompt_ids.size());
    if (request.spec.prefill_logprobs) {
      prefill_tokens[r] = PrefillTokens(context.tokenizer, request.prompt_ids,
                                        logits.narrow(0, first_logit[r], length));
    }
    Row row{.request_id = request.spec.id,
            .ids = std::move(request.prompt_ids),
            .prompt_length = length,
            .stopping = StoppingCriteria(request.spec.stopping, context.eos_token_ids,
                                         context.force_ignore_eos),
            .top_n_tokens = request.spec.top_n_tokens,
            .blocks = std::move(tables[r]),
            .cached = length};
    // TGI starts the detokenization window five tokens before the end of the prompt.
    row.prefix_offset = static_cast<size_t>(std::max<int64_t>(0, length - 5));
    row.read_offset = static_cast<size_t>(length);
    batch->rows_[r] = std::move(row);
  }
  batch->Record(*chosen, context, std::move(prefill_tokens), out);
  batch->last_decode_ns_ = NanosSince(started);
  if (batch->NumLive() == 0) return nullptr;
  return batch;
}

absl::Status Batch::TakeRows(Batch& source) {
  std::vector<int64_t> src_rows, dst_rows;
  int64_t free_row = 0;
  for (int64_t r = 0; r < source.rows(); ++r) {
    if (!source.rows_[r]) continue;
    while (free_row < rows() && rows_[free_row]) ++free_row;
    if (free_row == rows()) return absl::InternalError("concatenate: the bucket is too small");
    src_rows.push_back(r);
    dst_rows.push_back(free_row++);
  }
  absl::Status status = sampling_.CopyRowsFrom(source.sampling_, src_rows, dst_rows);
  if (!status.ok()) return status;
  for (size_t i = 0; i < src_rows.size(); ++i) {
    rows_[dst_rows[i]] = std::move(source.rows_[src_rows[i]]);
    source.rows_[src_rows[i]].reset();
    source.sampling_.ClearRow(src_rows[i]);
  }
  return absl::OkStatus();
}

absl::Status Batch::Compact(int64_t target_rows) {
  if (rows() <= target_rows) return absl::OkStatus();
  std::vector<int64_t> src_rows, dst_rows;
  int64_t free_row = 0;
  for (int64_t r = target_rows; r < rows(); ++r) {
    if (!rows_[r]) continue;
    while (rows_[free_row]) ++free_row;  // exists: live rows fit in target_rows
    src_rows.push_back(r);
    dst_rows.push_back(free_row++);
  }
  absl::Status status = sampling_.CopyRowsFrom(sampling_, src_rows, dst_rows);
  if (!status.ok()) return status;
  for (size_t i = 0; i < src_rows.size(); ++i) {
    rows_[dst_rows[i]] = std::move(rows_[src_rows[i]]);
    rows_[src_rows[i]].reset();
    sampling_.ClearRow(src_rows[i]);
  }
  rows_.resize(target_rows);
  return sampling_.Resize(target_rows);
}

absl::StatusOr<std::unique_ptr<Batch>> Batch::Concatenate(
    std::vector<std::unique_ptr<Batch>> batches, const BatchContext& context) {
  const uint64_t id = batches.front()->id_;
  std::erase_if(batches, [](const auto& batch) { return batch->NumLive() == 0; });
  if (batches.empty()) return nullptr;
  int64_t live = 0;
  for (const auto& batch : batches) live += batch->NumLive();
  const int64_t target_rows = RoundUp(live, context.buckets.batch_bucket_size);

  std::unique_ptr<Batch> result = std::move(batches.front());
  if (result->rows() < target_rows) {
    result->rows_.resize(target_rows);
    absl::Status status = result->sampling_.Resize(target_rows);
    if (!status.ok()) return status;
  }
  for (size_t i = 1; i < batches.size(); ++i) {
    absl::Status status = result->TakeRows(*batches[i]);
    if (!status.ok()) return status;
  }
  absl::Status status = result->Compact(target_rows);
  if (!status.ok()) return status;
  result->id_ = id;
  return result;
}

absl::Status Batch::Decode(const BatchContext& context, StepResult* out) {
  if (rows() != sampling_.BatchSize()) {
    return absl::InternalError("batch rows and sampling rows disagree");
  }
  ForwardBatch forward;
  for (const auto& row : rows_) {
    if (!row) continue;
    if (row->cached >= row->blocks.capacity()) {
      return absl::InternalError(
          absl::StrCat("request ", row->request_id, " has no room for its next token"));
    }
    forward.input_ids.push_back(row->ids.back());
    forward.rows.push_back(
        {.context = row->cached, .new_tokens = 1, .blocks = row->blocks.blocks()});
  }
  if (forward.rows.empty()) return absl::OkStatus();

  auto started = std::chrono::steady_clock::now();
  absl::StatusOr<at::Tensor> logits = context.model->Forward(forward, context.pool->view());
  if (!logits.ok()) return logits.status();  // [live, vocab]
  last_forward_ns_ = NanosSince(started);
  started = std::chrono::steady_clock::now();

  absl::StatusOr<std::vector<ChosenToken>> chosen = sampling_.ChooseLive(*logits);
  if (!chosen.ok()) return chosen.status();
  for (auto& row : rows_) {
    if (row) ++row->cached;
  }
  Record(*chosen, context, std::vector<std::optional<TokenList>>(chosen->size()), out);
  last_decode_ns_ = NanosSince(started);
  return absl::OkStatus();
}

void Batch::Record(const std::vector<ChosenToken>& chosen, const BatchContext& context,
                   std::vector<std::optional<TokenList>> prefill_tokens, StepResult* out) {
  const common::Tokenizer* tokenizer = context.tokenizer;
  for (size_t i = 0; i < chosen.size(); ++i) {
    const ChosenToken& token = chosen[i];
    Row& row = *rows_[token.row];
    row.ids.push_back(static_cast<int32_t>(token.id));

    std::string text;
    if (tokenizer != nullptr) {
      common::Tokenizer::DecodeStep step =
          tokenizer->DecodeToken(row.ids, row.prefix_offset, row.read_offset);
      text = std::move(step.text);
      row.prefix_offset = step.prefix_offset;
      row.read_offset = step.read_offset;
    }
    const std::optional<FinishReason> reason = row.stopping.Step(token.id, text);

    Generation generation;
    generation.request_id = row.request_id;
    generation.prefill_tokens = std::move(prefill_tokens[i]);
    generation.tokens.Add(static_cast<uint32_t>(token.id), token.logprob, std::move(text),
                          IsSpecial(tokenizer, token.id));
    if (row.top_n_tokens > 0) {
      generation.top_tokens.push_back(TopTokenList(tokenizer, token.top_tokens));
    }
    if (reason) {
      GeneratedTextResult done;
      done.text = GeneratedText(tokenizer, row.ids, row.Generated());
      done.generated_tokens = static_cast<uint32_t>(row.Generated());
      done.finish_reason = *reason;
      if (sampling_.Samples(token.row)) done.seed = sampling_.Params(token.row).seed;
      generation.generated_text = std::move(done);
      FreeRow(token.row);
    }
    out->generations.push_back(std::move(generation));
  }
}

absl::Status Batch::Filter(std::span<const uint64_t> request_ids) {
  std::map<uint64_t, int64_t> row_of;
  for (int64_t r = 0; r < rows(); ++r) {
    if (rows_[r]) row_of[rows_[r]->request_id] = r;
  }
  std::vector<bool> keep(rows_.size(), false);
  for (uint64_t id : request_ids) {
    auto it = row_of.find(id);
    if (it == row_of.end()) {
      return absl::NotFoundError(
          absl::StrCat("request ", id, " is not in batch ", id_, " (finished or never added)"));
    }
    keep[it->second] = true;
  }
  for (int64_t r = 0; r < rows(); ++r) {
    if (rows_[r] && !keep[r]) FreeRow(r);
  }
  return absl::OkStatus();
}

}  // namespace tgi::shard
