#include "shard/batch/batch.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "shard/batch/detokenize.h"

namespace tgi::shard {

namespace {

// Additive bias of a padding slot; the model's attention skips such slots.
constexpr float kMaskedBias = -std::numeric_limits<float>::infinity();

uint64_t NanosSince(std::chrono::steady_clock::time_point start) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now() - start)
                                   .count());
}

at::Tensor IndexTensor(std::span<const int64_t> values, at::Device device) {
  return at::tensor(std::vector<int64_t>(values.begin(), values.end()), at::kLong).to(device);
}

}  // namespace

Batch::Batch(uint64_t id, Storage storage, int64_t active_rows, int64_t vocab_size,
             WatermarkConfig watermark)
    : id_(id),
      storage_(std::move(storage)),
      rows_(active_rows),
      sampling_(active_rows, vocab_size, watermark, storage_.input_ids.device()) {}

absl::StatusOr<Batch::Storage> Batch::Allocate(const LlamaModel& model, int64_t rows,
                                               int64_t capacity) {
  Storage storage;
  absl::StatusOr<KvCache> cache =
      model.AllocateCache(rows, capacity, LlamaModel::CacheInit::kUninitialized);
  if (!cache.ok()) return cache.status();
  storage.cache = std::move(*cache);
  const at::TensorOptions options = at::TensorOptions().device(model.device());
  storage.key_bias = at::full({rows, capacity}, kMaskedBias, options.dtype(at::kFloat));
  storage.input_ids = at::zeros({rows, 1}, options.dtype(at::kLong));
  storage.positions = at::zeros({rows, 1}, options.dtype(at::kLong));
  return storage;
}

KvCache Batch::CacheView(int64_t rows) const {
  return KvCache{storage_.cache.kv.narrow(2, 0, rows)};
}

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
    max_tokens += write_offset_ - row->start + row->RemainingWrites();
  }
  info.size = static_cast<uint32_t>(info.request_ids.size());
  info.max_tokens = static_cast<uint32_t>(std::min<int64_t>(max_tokens, UINT32_MAX));
  return info;
}

void Batch::FreeRow(int64_t row) {
  rows_[row].reset();
  sampling_.ClearRow(row);
}

absl::StatusOr<std::unique_ptr<Batch>> Batch::Prefill(uint64_t id,
                                                      std::vector<PreparedRequest> requests,
                                                      const BatchContext& context,
                                                      StepResult* out) {
  const BucketConfig& buckets = context.buckets;
  const LlamaModel& model = *context.model;
  const int64_t n = static_cast<int64_t>(requests.size());

  // Shapes: rows padded to the prefill bucket, prompts left-padded to the sequence bucket (capped
  // at the longest truncation, as tgi-gaudi caps it at max_input_tokens).
  int64_t longest = 0, max_truncate = 0, max_new_tokens = 1;
  bool all_logits = false;
  for (const PreparedRequest& request : requests) {
    longest = std::max(longest, static_cast<int64_t>(request.prompt_ids.size()));
    max_truncate = std::max<int64_t>(max_truncate, request.spec.truncate);
    max_new_tokens = std::max<int64_t>(max_new_tokens, request.spec.stopping.max_new_tokens);
    all_logits |= request.spec.prefill_logprobs;
  }
  const int64_t seq_len =
      std::min(RoundUp(longest, buckets.pad_sequence_to_multiple_of), std::max(longest, max_truncate));
  const int64_t prefill_rows = RoundUp(n, buckets.prefill_batch_bucket_size);
  const int64_t storage_rows = std::max(prefill_rows, RoundUp(n, buckets.batch_bucket_size));
  // Room for every new token of the longest-lived row (its last token is never fed back), and at
  // least max_total_tokens so later concatenations rarely need to reallocate. Pages of the cache
  // that are never written are never touched.
  const int64_t needed = seq_len + max_new_tokens - 1;
  const int64_t capacity = RoundUp(std::max(needed, buckets.max_total_tokens),
                                   buckets.pad_sequence_to_multiple_of);

  absl::StatusOr<Storage> storage_or = Allocate(model, storage_rows, capacity);
  if (!storage_or.ok()) return storage_or.status();
  std::unique_ptr<Batch> batch(new Batch(id, std::move(*storage_or), prefill_rows,
                                         model.config().vocab_size, context.watermark));

  // Host-side prefill inputs, [prefill_rows, seq_len]; dummy rows stay fully padded.
  std::vector<int64_t> ids(prefill_rows * seq_len, 0), positions(prefill_rows * seq_len, 0);
  std::vector<float> bias(prefill_rows * seq_len, kMaskedBias);
  for (int64_t r = 0; r < n; ++r) {
    const std::vector<int32_t>& prompt = requests[r].prompt_ids;
    const int64_t start = seq_len - static_cast<int64_t>(prompt.size());
    for (int64_t j = 0; j < static_cast<int64_t>(prompt.size()); ++j) {
      ids[r * seq_len + start + j] = prompt[j];
      positions[r * seq_len + start + j] = j;
      bias[r * seq_len + start + j] = 0.0f;
    }
  }
  const at::Device device = model.device();
  Storage& storage = batch->storage_;
  storage.key_bias.narrow(0, 0, prefill_rows)
      .narrow(1, 0, seq_len)
      .copy_(at::from_blob(bias.data(), {prefill_rows, seq_len}, at::kFloat));
  ForwardBatch forward;
  forward.input_ids = at::from_blob(ids.data(), {prefill_rows, seq_len}, at::kLong).to(device);
  forward.positions = at::from_blob(positions.data(), {prefill_rows, seq_len}, at::kLong).to(device);
  forward.key_bias = storage.key_bias.narrow(0, 0, prefill_rows).narrow(1, 0, seq_len);
  forward.write_offset = 0;
  forward.window_start = 0;
  forward.all_logits = all_logits;

  for (int64_t r = 0; r < n; ++r) {
    const std::vector<int32_t>& prompt = requests[r].prompt_ids;
    std::vector<int64_t> history(prompt.begin(), prompt.end());
    absl::Status status = batch->sampling_.SetRow(r, requests[r].spec.sampling, history,
                                                  requests[r].spec.top_n_tokens);
    if (!status.ok()) return status;
  }

  auto started = std::chrono::steady_clock::now();
  KvCache view = batch->CacheView(prefill_rows);
  absl::StatusOr<at::Tensor> forward_logits = model.Forward(forward, view);
  if (!forward_logits.ok()) return forward_logits.status();
  const at::Tensor logits = std::move(*forward_logits);  // [prefill_rows, seq_len or 1, vocab]
  batch->last_forward_ns_ = NanosSince(started);
  started = std::chrono::steady_clock::now();

  absl::StatusOr<std::vector<ChosenToken>> chosen =
      batch->sampling_.Choose(logits.select(1, logits.size(1) - 1).contiguous());
  if (!chosen.ok()) return chosen.status();

  std::vector<std::optional<TokenList>> prefill_tokens(chosen->size());
  for (int64_t r = 0; r < n; ++r) {
    PreparedRequest& request = requests[r];
    const int64_t length = static_cast<int64_t>(request.prompt_ids.size());
    Row row{.request_id = request.spec.id,
            .ids = std::move(request.prompt_ids),
            .prompt_length = length,
            .stopping = StoppingCriteria(request.spec.stopping, context.eos_token_ids,
                                         context.force_ignore_eos),
            .top_n_tokens = request.spec.top_n_tokens,
            .start = seq_len - length};
    // TGI starts the detokenization window five tokens before the end of the prompt.
    row.prefix_offset = static_cast<size_t>(std::max<int64_t>(0, length - 5));
    row.read_offset = static_cast<size_t>(length);
    if (request.spec.prefill_logprobs) {
      prefill_tokens[r] = PrefillTokens(context.tokenizer, row.ids,
                                        logits[r].narrow(0, row.start, length));
    }
    batch->rows_[r] = std::move(row);
  }
  storage.positions.narrow(0, 0, prefill_rows)
      .copy_(at::from_blob(positions.data(), {prefill_rows, seq_len}, at::kLong)
                 .narrow(1, seq_len - 1, 1) + 1);
  batch->write_offset_ = seq_len;
  batch->Record(*chosen, context, std::move(prefill_tokens), out);
  batch->last_decode_ns_ = NanosSince(started);
  if (batch->NumLive() == 0) return nullptr;
  return batch;
}

absl::Status Batch::MoveRowsFrom(Batch& source, std::span<const int64_t> src_rows,
                                 std::span<const int64_t> dst_rows, int64_t shift) {
  if (src_rows.empty()) return absl::OkStatus();
  const at::Device device = storage_.input_ids.device();
  // Copy the slots every moved row needs: from the earliest start among them to the source's
  // write offset. Slots of a row below its own start are finite padding (the invariant), so
  // copying a few more than it needs is harmless.
  int64_t first = source.write_offset_;
  for (int64_t r : src_rows) first = std::min(first, source.rows_[r]->start);
  const int64_t length = source.write_offset_ - first;
  const at::Tensor src_index = IndexTensor(src_rows, device);
  const at::Tensor dst_index = IndexTensor(dst_rows, device);

  at::Tensor moved = source.storage_.cache.kv.narrow(4, first, length).index_select(2, src_index);
  storage_.cache.kv.narrow(4, 0, first + shift).index_fill_(2, dst_index, 0);
  storage_.cache.kv.narrow(4, first + shift, length).index_copy_(2, dst_index, moved);
  storage_.key_bias.index_fill_(0, dst_index, kMaskedBias);
  storage_.input_ids.index_copy_(0, dst_index, source.storage_.input_ids.index_select(0, src_index));
  storage_.positions.index_copy_(0, dst_index, source.storage_.positions.index_select(0, src_index));
  absl::Status status = sampling_.CopyRowsFrom(source.sampling_, src_rows, dst_rows);
  if (!status.ok()) return status;

  for (size_t i = 0; i < src_rows.size(); ++i) {
    Row row = std::move(*source.rows_[src_rows[i]]);
    source.rows_[src_rows[i]].reset();
    row.start += shift;
    storage_.key_bias[dst_rows[i]].narrow(0, row.start, write_offset_ - row.start).fill_(0.0f);
    rows_[dst_rows[i]] = std::move(row);
  }
  if (&source != this) {
    for (int64_t r : src_rows) source.sampling_.ClearRow(r);
  } else {
    for (size_t i = 0; i < src_rows.size(); ++i) {
      if (std::find(dst_rows.begin(), dst_rows.end(), src_rows[i]) == dst_rows.end()) {
        sampling_.ClearRow(src_rows[i]);
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Batch>> Batch::Concatenate(
    std::vector<std::unique_ptr<Batch>> batches, const BatchContext& context) {
  const BucketConfig& buckets = context.buckets;
  const uint64_t id = batches.front()->id_;
  std::erase_if(batches, [](const auto& batch) { return batch->NumLive() == 0; });
  if (batches.empty()) return nullptr;

  int64_t live = 0, write_offset = 0;
  for (const auto& batch : batches) {
    live += batch->NumLive();
    write_offset = std::max(write_offset, batch->write_offset_);
  }
  const int64_t target_rows = RoundUp(live, buckets.batch_bucket_size);
  int64_t needed = write_offset + 1;
  for (const auto& batch : batches) {
    for (const auto& row : batch->rows_) {
      if (row) needed = std::max(needed, write_offset + row->RemainingWrites());
    }
  }

  // Reuse the storage of the batch that already sits at the common write offset, is big enough,
  // and holds the most live rows; only the other batches' rows (and its own rows beyond the new
  // bucket) move.
  int best = -1;
  for (int i = 0; i < static_cast<int>(batches.size()); ++i) {
    const Batch& batch = *batches[i];
    if (batch.write_offset_ == write_offset && batch.storage_.rows() >= target_rows &&
        batch.storage_.capacity() >= needed &&
        (best < 0 || batch.NumLive() > batches[best]->NumLive())) {
      best = i;
    }
  }

  std::unique_ptr<Batch> result;
  if (best >= 0) {
    result = std::move(batches[best]);
    batches.erase(batches.begin() + best);
    const int64_t old_rows = result->rows();
    if (target_rows > old_rows) {
      result->rows_.resize(target_rows);
      absl::Status status = result->sampling_.Resize(target_rows);
      if (!status.ok()) return status;
    }
    // Its own rows beyond the new bucket move down into free slots.
    std::vector<int64_t> free_rows, src_rows, dst_rows;
    for (int64_t r = 0; r < target_rows; ++r) {
      if (!result->rows_[r]) free_rows.push_back(r);
    }
    for (int64_t r = target_rows; r < old_rows; ++r) {
      if (result->rows_[r]) {
        src_rows.push_back(r);
        dst_rows.push_back(free_rows.back());
        free_rows.pop_back();
      }
    }
    absl::Status status = result->MoveRowsFrom(*result, src_rows, dst_rows, 0);
    if (!status.ok()) return status;
    if (target_rows < old_rows) {
      result->rows_.resize(target_rows);
      status = result->sampling_.Resize(target_rows);
      if (!status.ok()) return status;
    }
    for (auto& batch : batches) {
      src_rows.clear();
      dst_rows.clear();
      for (int64_t r = 0; r < batch->rows(); ++r) {
        if (!batch->rows_[r]) continue;
        src_rows.push_back(r);
        dst_rows.push_back(free_rows.back());
        free_rows.pop_back();
      }
      status = result->MoveRowsFrom(*batch, src_rows, dst_rows, write_offset - batch->write_offset_);
      if (!status.ok()) return status;
    }
  } else {
    // New storage, every row moves. Re-base: each batch's earliest row may start at slot 0, so the
    // merged write offset is the longest live span.
    int64_t merged_offset = 1;
    for (const auto& batch : batches) {
      int64_t earliest = batch->write_offset_;
      for (const auto& row : batch->rows_) {
        if (row) earliest = std::min(earliest, row->start);
      }
      merged_offset = std::max(merged_offset, batch->write_offset_ - earliest);
    }
    needed = merged_offset + 1;
    for (const auto& batch : batches) {
      for (const auto& row : batch->rows_) {
        if (row) needed = std::max(needed, merged_offset + row->RemainingWrites());
      }
    }
    const int64_t capacity = RoundUp(std::max(needed, buckets.max_total_tokens),
                                     buckets.pad_sequence_to_multiple_of);
    const LlamaModel& model = *context.model;
    absl::StatusOr<Storage> storage = Allocate(model, target_rows, capacity);
    if (!storage.ok()) return storage.status();
    result.reset(new Batch(id, std::move(*storage), target_rows, model.config().vocab_size,
                           context.watermark));
    result->write_offset_ = merged_offset;
    int64_t next_row = 0;
    for (auto& batch : batches) {
      std::vector<int64_t> src_rows, dst_rows;
      for (int64_t r = 0; r < batch->rows(); ++r) {
        if (!batch->rows_[r]) continue;
        src_rows.push_back(r);
        dst_rows.push_back(next_row++);
      }
      absl::Status status =
          result->MoveRowsFrom(*batch, src_rows, dst_rows, merged_offset - batch->write_offset_);
      if (!status.ok()) return status;
    }
  }
  result->id_ = id;
  return result;
}

absl::Status Batch::Decode(const BatchContext& context, StepResult* out) {
  const int64_t rows = this->rows();
  if (rows != sampling_.BatchSize()) {
    return absl::InternalError("batch rows and sampling rows disagree");
  }
  if (write_offset_ >= storage_.capacity()) {
    return absl::InternalError(absl::StrCat("no room for the next token: write offset ",
                                            write_offset_, ", capacity ", storage_.capacity()));
  }
  int64_t earliest = write_offset_;
  for (const auto& row : rows_) {
    if (row) earliest = std::min(earliest, row->start);
  }
  // The live window: from the earliest live row to the new slot, rounded up to the sequence bucket.
  const int64_t end = write_offset_ + 1;
  const int64_t window = std::min(
      end, RoundUp(end - earliest, context.buckets.pad_sequence_to_multiple_of));
  const int64_t window_start = end - window;

  at::Tensor key_bias = storage_.key_bias.narrow(0, 0, rows);  // [rows, capacity]
  key_bias.narrow(1, write_offset_, 1).fill_(0.0f);
  ForwardBatch forward;
  forward.input_ids = storage_.input_ids.narrow(0, 0, rows);
  forward.positions = storage_.positions.narrow(0, 0, rows);
  forward.key_bias = key_bias.narrow(1, window_start, window);
  forward.write_offset = write_offset_;
  forward.window_start = window_start;
  forward.all_logits = false;

  auto started = std::chrono::steady_clock::now();
  KvCache view = CacheView(rows);
  absl::StatusOr<at::Tensor> logits = context.model->Forward(forward, view);  // [rows, 1, vocab]
  if (!logits.ok()) return logits.status();
  last_forward_ns_ = NanosSince(started);
  started = std::chrono::steady_clock::now();

  absl::StatusOr<std::vector<ChosenToken>> chosen = sampling_.Choose(logits->select(1, 0));
  if (!chosen.ok()) return chosen.status();
  ++write_offset_;
  forward.positions.add_(1);
  Record(*chosen, context, std::vector<std::optional<TokenList>>(chosen->size()), out);
  last_decode_ns_ = NanosSince(started);
  return absl::OkStatus();
}

void Batch::Record(const std::vector<ChosenToken>& chosen, const BatchContext& context,
                   std::vector<std::optional<TokenList>> prefill_tokens, StepResult* out) {
  const common::Tokenizer* tokenizer = context.tokenizer;
  std::vector<int64_t> next_rows, next_ids;
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
    } else {
      next_rows.push_back(token.row);
      next_ids.push_back(token.id);
    }
    out->generations.push_back(std::move(generation));
  }
  if (!next_rows.empty()) {
    const at::Device device = storage_.input_ids.device();
    storage_.input_ids.index_put_({IndexTensor(next_rows, device), 0},
                                  IndexTensor(next_ids, device));
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
