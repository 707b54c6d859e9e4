#include "shard/batch/batch.h"

#include <algorithm>
#include <chrono>
#include <limits>
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
    max_tokens += row->prompt_length +
                  std::max<int64_t>(row->stopping.Params().max_new_tokens, 1) - 1;
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
                                                      int64_t max_prompt_tokens, StepResult* out) {
  const BucketConfig& buckets = context.buckets;
  const auto n = static_cast<int64_t>(requests.size());
  // The bucket: rows padded to the prefill bucket, and to the decode bucket the batch joins.
  const int64_t rows = std::max(RoundUp(n, buckets.prefill_batch_bucket_size),
                                RoundUp(n, buckets.batch_bucket_size));
  std::unique_ptr<Batch> batch(
      new Batch(id, rows, context.model->config().vocab_size, context.watermark));

  // Every request's blocks, or none: a refusal leaves the pool as it was.
  std::vector<BlockTable> tables;
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
  }
  for (int64_t r = 0; r < n; ++r) {
    PreparedRequest& request = requests[r];
    const std::vector<int64_t> history(request.prompt_ids.begin(), request.prompt_ids.end());
    absl::Status status = batch->sampling_.SetRow(r, request.spec.sampling, history,
                                                  request.spec.top_n_tokens);
    if (!status.ok()) return status;
    const auto length = static_cast<int64_t>(request.prompt_ids.size());
    Row row{.request_id = request.spec.id,
            .ids = std::move(request.prompt_ids),
            .prompt_length = length,
            .stopping = StoppingCriteria(request.spec.stopping, context.eos_token_ids,
                                         context.force_ignore_eos),
            .top_n_tokens = request.spec.top_n_tokens,
            .blocks = std::move(tables[r]),
            .cached = 0,
            .prompt_logprobs = {}};
    // TGI starts the detokenization window five tokens before the end of the prompt.
    row.prefix_offset = static_cast<size_t>(std::max<int64_t>(0, length - 5));
    row.read_offset = static_cast<size_t>(length);
    if (request.spec.prefill_logprobs) {
      row.prompt_logprobs.assign(length, std::numeric_limits<float>::quiet_NaN());
    }
    batch->rows_[r] = std::move(row);
  }
  if (absl::Status status = batch->Step(context, max_prompt_tokens, out); !status.ok()) {
    return status;
  }
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

absl::Status Batch::Decode(const BatchContext& context, int64_t max_prompt_tokens,
                           StepResult* out) {
  return Step(context, max_prompt_tokens, out);
}

absl::Status Batch::Step(const BatchContext& context, int64_t max_prompt_tokens,
                         StepResult* out) {
  if (rows() != sampling_.BatchSize()) {
    return absl::InternalError("batch rows and sampling rows disagree");
  }
  // What each live row computes: a generating row its last token, a row in its prompt the next
  // chunk the budget leaves (rows in order; a row the budget does not reach waits).
  struct Planned {
    int64_t row = 0;
    int64_t new_tokens = 0;
    bool chooses = false;  // its prompt is done after this step: it picks a token
  };
  std::vector<Planned> planned;
  int64_t budget = max_prompt_tokens > 0 ? max_prompt_tokens : std::numeric_limits<int64_t>::max();
  ForwardBatch forward;
  for (int64_t r = 0; r < rows(); ++r) {
    const std::optional<Row>& row = rows_[r];
    if (!row) continue;
    if (row->InPrompt()) {
      const int64_t take = std::min(row->prompt_length - row->cached, budget);
      if (take == 0) continue;
      budget -= take;
      forward.input_ids.insert(forward.input_ids.end(), row->ids.begin() + row->cached,
                               row->ids.begin() + row->cached + take);
      forward.rows.push_back({.context = row->cached,
                              .new_tokens = take,
                              .blocks = row->blocks.blocks(),
                              .all_logits = !row->prompt_logprobs.empty()});
      planned.push_back({r, take, row->cached + take == row->prompt_length});
      continue;
    }
    if (row->cached >= row->blocks.capacity()) {
      return absl::InternalError(
          absl::StrCat("request ", row->request_id, " has no room for its next token"));
    }
    forward.input_ids.push_back(row->ids.back());
    forward.rows.push_back(
        {.context = row->cached, .new_tokens = 1, .blocks = row->blocks.blocks()});
    planned.push_back({r, 1, true});
  }
  out->stats.rows = static_cast<int64_t>(forward.rows.size());
  out->stats.tokens = static_cast<int64_t>(forward.input_ids.size());
  if (forward.rows.empty()) return absl::OkStatus();

  auto started = std::chrono::steady_clock::now();
  absl::StatusOr<at::Tensor> forward_logits = context.model->Forward(forward, context.pool->view());
  if (!forward_logits.ok()) return forward_logits.status();
  const at::Tensor logits = std::move(*forward_logits);  // [logit rows, vocab]
  last_forward_ns_ = NanosSince(started);
  started = std::chrono::steady_clock::now();

  // The last logits row of every row that chooses; prompt logprobs of the rows that asked.
  std::vector<int64_t> choosing_rows, choosing_logits;
  int64_t next = 0;
  for (size_t i = 0; i < planned.size(); ++i) {
    Row& row = *rows_[planned[i].row];
    const int64_t count = forward.rows[i].all_logits ? planned[i].new_tokens : 1;
    if (forward.rows[i].all_logits) {
      // Logits row j (position cached + j) gives the logprob of the prompt token after it.
      const int64_t first = row.cached + 1;
      const int64_t scored = std::min(row.prompt_length, row.cached + count + 1) - first;
      if (scored > 0) {
        const std::span<const int32_t> targets(row.ids.data() + first, scored);
        const std::vector<float> logprobs =
            NextTokenLogprobs(logits.narrow(0, next, scored), targets);
        std::copy(logprobs.begin(), logprobs.end(), row.prompt_logprobs.begin() + first);
      }
    }
    next += count;
    row.cached += planned[i].new_tokens;
    if (planned[i].chooses) {
      choosing_rows.push_back(planned[i].row);
      choosing_logits.push_back(next - 1);
    }
  }
  if (choosing_rows.empty()) {
    last_decode_ns_ = NanosSince(started);
    return absl::OkStatus();
  }
  const at::Tensor last =
      static_cast<int64_t>(choosing_logits.size()) == next
          ? logits
          : logits.index_select(0, at::tensor(choosing_logits, at::kLong));
  absl::StatusOr<std::vector<ChosenToken>> chosen = sampling_.ChooseRows(last, choosing_rows);
  if (!chosen.ok()) return chosen.status();

  // A row that just finished its prompt reports it (with logprobs) with its first token.
  std::vector<std::optional<TokenList>> prefill_tokens(chosen->size());
  for (size_t i = 0; i < chosen->size(); ++i) {
    Row& row = *rows_[(*chosen)[i].row];
    if (row.Generated() == 0 && !row.prompt_logprobs.empty()) {
      prefill_tokens[i] = PrefillTokens(
          context.tokenizer, std::span<const int32_t>(row.ids.data(), row.prompt_length),
          row.prompt_logprobs);
      row.prompt_logprobs = {};
    }
  }
  Record(*chosen, context, std::move(prefill_tokens), out);
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
