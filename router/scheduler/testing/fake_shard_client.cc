#include "router/scheduler/testing/fake_shard_client.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"

namespace tgi::router::testing {

uint32_t FakeShardClient::TokenId(uint64_t request_id, uint32_t step) {
  return static_cast<uint32_t>(1000 * (request_id % 1000) + step);
}

std::string FakeShardClient::TokenText(uint64_t request_id, uint32_t step) {
  return absl::StrCat(" r", request_id, "t", step);
}

void FakeShardClient::FailNext(const std::string& method, const std::string& message) {
  std::lock_guard<std::mutex> lock(mutex_);
  failures_[method] = message;
}

void FakeShardClient::SetHook(std::function<void(const Call&)> hook) {
  std::lock_guard<std::mutex> lock(mutex_);
  hook_ = std::move(hook);
}

void FakeShardClient::SetWarmupResult(std::optional<uint32_t> value) {
  std::lock_guard<std::mutex> lock(mutex_);
  warmup_result_ = value;
}

std::vector<FakeShardClient::Call> FakeShardClient::calls() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return calls_;
}

std::vector<FakeShardClient::Call> FakeShardClient::calls(const std::string& method) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<Call> out;
  for (const Call& call : calls_) {
    if (call.method == method) out.push_back(call);
  }
  return out;
}

std::set<uint64_t> FakeShardClient::prefilled_ids() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return prefilled_ids_;
}

size_t FakeShardClient::max_live() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return max_live_;
}

size_t FakeShardClient::cached_batches() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return batches_.size();
}

absl::Status FakeShardClient::Record(Call call) {
  const std::string method = call.method;
  calls_.push_back(std::move(call));
  auto it = failures_.find(method);
  if (it == failures_.end()) return absl::OkStatus();
  absl::Status status = absl::InternalError(it->second);
  failures_.erase(it);
  return status;
}

CachedBatch FakeShardClient::Describe(uint64_t id, const Rows& rows) const {
  CachedBatch batch;
  batch.id = id;
  for (const Live& row : rows) {
    batch.request_ids.push_back(row.request.id);
    batch.max_tokens += row.request.truncate + row.request.stopping_parameters.max_new_tokens;
  }
  batch.size = static_cast<uint32_t>(rows.size());
  return batch;
}

void FakeShardClient::Step(Rows& rows, StepResult* result, bool chunked) {
  for (Live& row : rows) {
    if (row.finished) continue;
    if (chunked && row.prompt_steps > 0) {
      --row.prompt_steps;
      continue;
    }
    ++row.generated;
    ShardGeneration generation;
    generation.request_id = row.request.id;
    if (row.generated == 1 && row.request.prefill_logprobs) {
      generation.prefill_tokens =
          ShardTokens{{1, 42}, {std::nanf(""), -0.5f}, {"<s>", " prompt"}, {true, false}};
    }
    const uint32_t id = TokenId(row.request.id, row.generated);
    const std::string text = TokenText(row.request.id, row.generated);
    generation.tokens = ShardTokens{{id}, {-0.25f}, {text}, {false}};
    if (row.request.top_n_tokens > 0) {
      generation.top_tokens.push_back(
          ShardTokens{{id, 7}, {-0.25f, -3.0f}, {text, " x"}, {false, false}});
    }
    row.text += text;
    if (row.generated >= row.request.stopping_parameters.max_new_tokens) {
      row.finished = true;
      generation.generated_text =
          ShardGeneratedText{row.text, row.generated, ShardFinishReason::kLength, std::nullopt};
    }
    result->generations.push_back(std::move(generation));
  }
}

void FakeShardClient::Keep(uint64_t id, Rows rows, StepResult* result) {
  if (drops_finished_) {
    std::erase_if(rows, [](const Live& row) { return row.finished; });
  }
  const bool running =
      std::any_of(rows.begin(), rows.end(), [](const Live& row) { return !row.finished; });
  if (!running) return;
  result->batch = Describe(id, rows);
  batches_[id] = std::move(rows);
}

absl::StatusOr<ShardInfo> FakeShardClient::Info() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (absl::Status status = Record({"Info", {}, {}, {}}); !status.ok()) return status;
  return ShardInfo{true, "torch.float32", "cpu", std::nullopt, 0};
}

absl::Status FakeShardClient::Health() {
  std::lock_guard<std::mutex> lock(mutex_);
  return Record({"Health", {}, {}, {}});
}

absl::Status FakeShardClient::ClearCache(std::optional<uint64_t> batch_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<uint64_t> ids;
  if (batch_id) ids.push_back(*batch_id);
  if (absl::Status status = Record({"ClearCache", ids, {}, {}}); !status.ok()) return status;
  if (batch_id) {
    batches_.erase(*batch_id);
  } else {
    batches_.clear();
  }
  return absl::OkStatus();
}

absl::StatusOr<CachedBatch> FakeShardClient::FilterBatch(uint64_t batch_id,
                                                         const std::vector<uint64_t>& request_ids) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (absl::Status status = Record({"FilterBatch", {batch_id}, request_ids, {}}); !status.ok()) {
    return status;
  }
  auto it = batches_.find(batch_id);
  if (it == batches_.end()) return absl::NotFoundError(absl::StrCat("batch ", batch_id));
  Rows kept;
  for (Live& row : it->second) {
    if (std::find(request_ids.begin(), request_ids.end(), row.request.id) != request_ids.end()) {
      kept.push_back(std::move(row));
    }
  }
  it->second = std::move(kept);
  return Describe(batch_id, it->second);
}

absl::StatusOr<std::optional<uint32_t>> FakeShardClient::Warmup(
    const std::vector<ShardBatch>& batches, uint32_t, uint32_t, uint32_t) {
  std::lock_guard<std::mutex> lock(mutex_);
  Call call{"Warmup", {}, {}, {}};
  for (const ShardBatch& batch : batches) call.batch_ids.push_back(batch.id);
  if (absl::Status status = Record(std::move(call)); !status.ok()) return status;
  return warmup_result_;
}

absl::StatusOr<StepResult> FakeShardClient::Prefill(const ShardBatch& batch,
                                                    uint32_t max_prompt_tokens) {
  Call call{"Prefill", {batch.id}, {}, batch.requests, max_prompt_tokens};
  for (const ShardRequest& request : batch.requests) call.request_ids.push_back(request.id);
  std::function<void(const Call&)> hook;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    hook = hook_;
  }
  if (hook) hook(call);
  std::lock_guard<std::mutex> lock(mutex_);
  if (absl::Status status = Record(std::move(call)); !status.ok()) return status;
  Rows rows;
  for (const ShardRequest& request : batch.requests) {
    prefilled_ids_.insert(request.id);
    rows.push_back(Live{request, 0, "", false, max_prompt_tokens > 0 ? prompt_steps_ : 0});
  }
  max_live_ = std::max(max_live_, rows.size());
  StepResult result;
  Step(rows, &result, /*chunked=*/max_prompt_tokens > 0);
  result.timings = StepTimings{1000, 100, 1100, std::nullopt};
  Keep(batch.id, std::move(rows), &result);
  return result;
}

absl::StatusOr<StepResult> FakeShardClient::Decode(const std::vector<CachedBatch>& batches,
                                                   uint32_t max_prompt_tokens) {
  Call call{"Decode", {}, {}, {}, max_prompt_tokens};
  for (const CachedBatch& batch : batches) {
    call.batch_ids.push_back(batch.id);
    call.request_ids.insert(call.request_ids.end(), batch.request_ids.begin(),
                            batch.request_ids.end());
  }
  std::function<void(const Call&)> hook;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    hook = hook_;
  }
  if (hook) hook(call);
  std::lock_guard<std::mutex> lock(mutex_);
  if (absl::Status status = Record(std::move(call)); !status.ok()) return status;
  if (batches.empty()) return absl::InvalidArgumentError("Decode without batches");
  Rows merged;
  for (const CachedBatch& batch : batches) {
    auto it = batches_.find(batch.id);
    if (it == batches_.end()) return absl::NotFoundError(absl::StrCat("batch ", batch.id));
    for (Live& row : it->second) merged.push_back(std::move(row));
    batches_.erase(it);
  }
  max_live_ = std::max<size_t>(
      max_live_,
      std::count_if(merged.begin(), merged.end(), [](const Live& row) { return !row.finished; }));
  StepResult result;
  Step(merged, &result, /*chunked=*/max_prompt_tokens > 0);
  result.timings = StepTimings{2000, 200, 2300, 50};
  Keep(batches.front().id, std::move(merged), &result);
  return result;
}

}  // namespace tgi::router::testing
