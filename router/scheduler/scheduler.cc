#include "router/scheduler/scheduler.h"

#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace tgi::router {
namespace {

constexpr char kShutdownMessage[] = "the router is shutting down";

class NoopObserver : public SchedulerObserver {};

std::string GenerationErrorMessage(const absl::Status& status) {
  return absl::StrCat("Request failed during generation: Server error: ", status.message());
}

uint32_t SaturatingSub(uint32_t a, uint32_t b) { return a > b ? a - b : 0; }

Token MakeToken(const ShardTokens& tokens, size_t i) {
  Token token;
  token.id = tokens.ids[i];
  if (i < tokens.texts.size()) token.text = tokens.texts[i];
  token.logprob =
      i < tokens.logprobs.size() ? tokens.logprobs[i] : std::numeric_limits<float>::quiet_NaN();
  token.special = i < tokens.is_special.size() && tokens.is_special[i];
  return token;
}

std::vector<Token> MakeTokens(const ShardTokens& tokens) {
  std::vector<Token> out;
  out.reserve(tokens.ids.size());
  for (size_t i = 0; i < tokens.ids.size(); ++i) out.push_back(MakeToken(tokens, i));
  return out;
}

GeneratedText MakeGeneratedText(const ShardGeneratedText& generated) {
  GeneratedText out;
  out.text = generated.text;
  out.generated_tokens = generated.generated_tokens;
  switch (generated.finish_reason) {
    case ShardFinishReason::kLength:
      out.finish_reason = FinishReason::kLength;
      break;
    case ShardFinishReason::kEosToken:
      out.finish_reason = FinishReason::kEosToken;
      break;
    case ShardFinishReason::kStopSequence:
      out.finish_reason = FinishReason::kStopSequence;
      break;
  }
  out.seed = generated.seed;
  return out;
}

}  // namespace

Scheduler::Scheduler(std::shared_ptr<ShardClient> client, SchedulerOptions options)
    : client_(std::move(client)),
      options_(std::move(options)),
      observer_(options_.observer ? options_.observer : std::make_shared<NoopObserver>()),
      queue_(options_.queue, options_.clock) {
  queue_.set_on_dropped([this] { observer_->OnRequestFailure("dropped"); });
}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Start() {
  std::lock_guard<std::mutex> lock(inbox_mutex_);
  if (thread_.joinable() || stop_) return;
  thread_ = std::thread([this] { Run(); });
}

void Scheduler::Stop() {
  {
    std::lock_guard<std::mutex> lock(inbox_mutex_);
    if (stop_ && !thread_.joinable()) return;
    stop_ = true;
  }
  inbox_ready_.notify_all();
  if (thread_.joinable()) thread_.join();
  // The thread is gone (or never ran): whatever still waits is failed here.
  DrainInbox();
  Entries left;
  for (QueueEntry& entry : queue_.Drain()) {
    const uint64_t id = entry.id;
    left.emplace(id, std::move(entry));
  }
  if (!left.empty()) FailAll(kShutdownMessage, left);
}

bool Scheduler::stopping() const {
  std::lock_guard<std::mutex> lock(inbox_mutex_);
  return stop_;
}

std::shared_ptr<ResponseStream> Scheduler::Submit(ValidRequest request) {
  auto stream = std::make_shared<ResponseStream>();
  QueueEntry entry;
  entry.request = std::move(request);
  entry.stream = stream;
  entry.queue_time = options_.clock();
  {
    std::lock_guard<std::mutex> lock(inbox_mutex_);
    if (!stop_) {
      inbox_.push_back(std::move(entry));
      inbox_ready_.notify_one();
      return stream;
    }
  }
  observer_->OnRequestFailure("generation");
  stream->Push(ErrorEvent{GenerationErrorMessage(absl::UnavailableError(kShutdownMessage))});
  return stream;
}

void Scheduler::DrainInbox() {
  std::vector<QueueEntry> submitted;
  {
    std::lock_guard<std::mutex> lock(inbox_mutex_);
    submitted.swap(inbox_);
  }
  if (submitted.empty()) return;
  for (QueueEntry& entry : submitted) queue_.Append(std::move(entry));
  observer_->OnQueueSize(queue_.size());
}

void Scheduler::Run() {
  const std::optional<size_t> max_batch_size = options_.max_batch_size;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(inbox_mutex_);
      inbox_ready_.wait(lock, [this] { return stop_ || !inbox_.empty(); });
      if (stop_) return;
    }
    DrainInbox();
    while (!stopping()) {
      std::optional<QueuedBatch> next =
          queue_.NextBatch(std::nullopt, max_batch_size, options_.max_batch_prefill_tokens,
                           options_.max_batch_total_tokens);
      observer_->OnQueueSize(queue_.size());
      if (!next) break;
      observer_->OnNextBatch(next->batch.size, next->batch.max_tokens);
      Entries entries = std::move(next->entries);
      std::optional<CachedBatch> cached = Prefill(next->batch, entries);
      uint32_t waiting_tokens = 1;

      while (cached && !stopping()) {
        DrainInbox();
        observer_->OnCurrentBatch(cached->size, cached->max_tokens);
        std::optional<size_t> min_size;
        if (waiting_tokens < options_.max_waiting_tokens) {
          min_size = static_cast<size_t>(
              std::floor(static_cast<float>(cached->size) * options_.waiting_served_ratio));
        }
        const uint32_t token_budget =
            SaturatingSub(options_.max_batch_total_tokens, cached->max_tokens);
        std::optional<size_t> max_size;
        if (options_.max_batch_size) {
          max_size = SaturatingSub(*options_.max_batch_size, cached->size);
        }

        std::vector<CachedBatch> batches{*cached};
        std::optional<QueuedBatch> added =
            queue_.NextBatch(min_size, max_size, options_.max_batch_prefill_tokens, token_budget);
        observer_->OnQueueSize(queue_.size());
        if (added) {
          observer_->OnBatchConcat(min_size ? "backpressure" : "wait_exceeded");
          observer_->OnNextBatch(added->batch.size, added->batch.max_tokens);
          Entries added_entries = std::move(added->entries);
          std::optional<CachedBatch> added_cached = Prefill(added->batch, added_entries);
          waiting_tokens = 1;
          if (added_cached) {
            entries.merge(added_entries);
            batches.push_back(*added_cached);
          }
        }
        cached = Decode(batches, entries);
        ++waiting_tokens;
      }
      observer_->OnCurrentBatch(0, 0);
      if (cached) {
        // Stopped while a batch was running.
        client_->ClearCache(cached->id).IgnoreError();
        FailAll(kShutdownMessage, entries);
      }
    }
  }
}

std::optional<CachedBatch> Scheduler::Prefill(const ShardBatch& batch, Entries& entries) {
  const Clock::time_point start = Clock::now();
  absl::StatusOr<StepResult> result = client_->Prefill(batch, options_.max_prefill_chunk_tokens);
  InferenceRecord record{"prefill", result.ok(), Clock::now() - start, {}, std::nullopt};
  if (result.ok()) {
    record.timings = result->timings;
    record.stats = result->stats;
  }
  observer_->OnInference(record);
  if (!result.ok()) {
    generation_healthy_ = false;
    client_->ClearCache(batch.id).IgnoreError();
    SendErrors(result.status(), entries);
    return std::nullopt;
  }
  generation_healthy_ = true;
  return SendAndFilter("prefill", std::move(*result), entries);
}

std::optional<CachedBatch> Scheduler::SendAndFilter(std::string_view method, StepResult result,
                                                    Entries& entries) {
  const Clock::time_point start = Clock::now();
  SendGenerations(result.generations, entries);
  std::optional<CachedBatch> next = Filter(std::move(result.batch), entries);
  observer_->OnFilter(method, Clock::now() - start);
  return next;
}

std::optional<CachedBatch> Scheduler::Decode(const std::vector<CachedBatch>& batches,
                                             Entries& entries) {
  const Clock::time_point start = Clock::now();
  absl::StatusOr<StepResult> result = client_->Decode(batches, options_.max_prefill_chunk_tokens);
  InferenceRecord record{"decode", result.ok(), Clock::now() - start, {}, std::nullopt};
  if (result.ok()) {
    record.timings = result->timings;
    record.stats = result->stats;
  }
  observer_->OnInference(record);
  if (!result.ok()) {
    generation_healthy_ = false;
    for (const CachedBatch& batch : batches) client_->ClearCache(batch.id).IgnoreError();
    SendErrors(result.status(), entries);
    return std::nullopt;
  }
  generation_healthy_ = true;
  return SendAndFilter("decode", std::move(*result), entries);
}

std::optional<CachedBatch> Scheduler::Filter(std::optional<CachedBatch> batch, Entries& entries) {
  if (!batch) {
    if (!entries.empty()) {
      // The shards report every request finished but some never got their last token.
      spdlog::error("{} request(s) left without a final generation", entries.size());
      SendErrors(absl::InternalError("the shard dropped the request"), entries);
    }
    return std::nullopt;
  }
  if (batch->size == entries.size()) return batch;

  std::vector<uint64_t> kept;
  for (uint64_t id : batch->request_ids) {
    if (entries.contains(id)) kept.push_back(id);
  }
  std::optional<CachedBatch> filtered;
  absl::Status status;
  if (kept.empty()) {
    status = client_->ClearCache(batch->id);
  } else {
    absl::StatusOr<CachedBatch> result = client_->FilterBatch(batch->id, kept);
    status = result.status();
    if (result.ok()) filtered = std::move(*result);
  }
  if (!status.ok()) {
    // TGI's router panics here; failing the batch keeps the server up.
    spdlog::error("Filtering batch {} failed: {}", batch->id, std::string(status.message()));
    generation_healthy_ = false;
    client_->ClearCache(batch->id).IgnoreError();
    SendErrors(status, entries);
    return std::nullopt;
  }
  return filtered;
}

void Scheduler::SendGenerations(const std::vector<ShardGeneration>& generations, Entries& entries) {
  for (const ShardGeneration& generation : generations) {
    if (!generation.tokens.ids.empty()) observer_->OnSkippedTokens(generation.tokens.ids.size() - 1);
    auto it = entries.find(generation.request_id);
    if (it == entries.end()) {
      spdlog::error("Generation for unknown request {}", generation.request_id);
      continue;
    }
    if (Send(generation, it->second)) entries.erase(it);
  }
}

bool Scheduler::Send(const ShardGeneration& generation, const QueueEntry& entry) {
  ResponseStream& stream = *entry.stream;
  auto dropped = [this] {
    observer_->OnRequestFailure("dropped");
    return true;
  };
  if (stream.closed()) return dropped();
  if (generation.prefill_tokens) {
    if (!stream.Push(PrefillEvent{MakeTokens(*generation.prefill_tokens)})) return dropped();
  }
  const ShardTokens& tokens = generation.tokens;
  for (size_t i = 0; i < tokens.ids.size(); ++i) {
    Token token = MakeToken(tokens, i);
    std::vector<Token> top_tokens;
    if (i < generation.top_tokens.size()) top_tokens = MakeTokens(generation.top_tokens[i]);
    const bool last = i + 1 == tokens.ids.size();
    bool sent;
    if (last && generation.generated_text) {
      sent = stream.Push(EndEvent{std::move(token), std::move(top_tokens),
                                  MakeGeneratedText(*generation.generated_text), entry.queue_time,
                                  entry.batch_time});
      if (sent) return true;
    } else {
      sent = stream.Push(IntermediateEvent{std::move(token), std::move(top_tokens)});
    }
    if (!sent) return dropped();
  }
  return false;
}

void Scheduler::SendErrors(const absl::Status& status, Entries& entries) {
  const std::string message = GenerationErrorMessage(status);
  spdlog::error("{}", message);
  for (auto& [id, entry] : entries) {
    observer_->OnRequestFailure("generation");
    entry.stream->Push(ErrorEvent{message});
  }
  entries.clear();
}

void Scheduler::FailAll(const std::string& message, Entries& entries) {
  SendErrors(absl::UnavailableError(message), entries);
}

absl::Status Scheduler::Health() {
  std::lock_guard<std::mutex> lock(health_mutex_);
  if (generation_healthy_) return client_->Health();

  ShardRequest request;
  request.id = kLivenessId;
  request.inputs = "liveness";
  request.truncate = 10;
  request.stopping_parameters.max_new_tokens = 1;
  ShardBatch batch;
  batch.id = kLivenessId;
  batch.requests.push_back(std::move(request));
  batch.size = 1;
  batch.max_tokens = 2;
  absl::StatusOr<StepResult> result = client_->Prefill(batch, /*max_prompt_tokens=*/0);
  generation_healthy_ = result.ok();
  if (!result.ok()) return result.status();
  // A shard that keeps even a finished batch must not hold on to it.
  if (result->batch) client_->ClearCache(kLivenessId).IgnoreError();
  return absl::OkStatus();
}

}  // namespace tgi::router
