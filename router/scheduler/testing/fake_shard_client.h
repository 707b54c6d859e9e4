// An in-memory ShardClient for the scheduler's tests: deterministic tokens, cached batches with
// TGI's concatenate/filter semantics (finished requests stay in the cached batch until the router
// filters them, unless set_drops_finished), a log of every call, injectable failures and a hook
// that runs at each Prefill/Decode. Thread-safe; never used outside tests.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "router/shard_client/shard_client.h"

namespace tgi::router::testing {

class FakeShardClient : public ShardClient {
 public:
  struct Call {
    std::string method;                  // "Prefill", "Decode", "FilterBatch", "ClearCache", ...
    std::vector<uint64_t> batch_ids;     // Prefill/Filter/Clear: one id; Decode: every id
    std::vector<uint64_t> request_ids;   // Prefill: the batch's; Filter: the kept ones
    std::vector<ShardRequest> requests;  // Prefill only
    uint32_t max_prompt_tokens = 0;      // Prefill and Decode
  };

  // The token a request generates at its `step`-th new token (1-based), and its text.
  static uint32_t TokenId(uint64_t request_id, uint32_t step);
  static std::string TokenText(uint64_t request_id, uint32_t step);

  // The next call of `method` fails with an INTERNAL status carrying `message`.
  void FailNext(const std::string& method, const std::string& message);
  // Runs at the start of every Prefill and Decode, outside the fake's lock, on the calling thread.
  void SetHook(std::function<void(const Call&)> hook);
  void SetWarmupResult(std::optional<uint32_t> value);
  // Chunked prefill: with a budget (max_prompt_tokens > 0), every request spends its first
  // `steps` Prefill/Decode calls in its prompt and gets no generation in them.
  void set_prompt_steps(uint32_t steps) { prompt_steps_ = steps; }
  // Finished requests leave the cached batch at once, as this project's shard does.
  void set_drops_finished(bool drops) { drops_finished_ = drops; }

  std::vector<Call> calls() const;
  std::vector<Call> calls(const std::string& method) const;
  // Every request id ever prefilled (liveness included).
  std::set<uint64_t> prefilled_ids() const;
  // The largest number of live requests one cached batch ever held.
  size_t max_live() const;
  size_t cached_batches() const;

  absl::StatusOr<ShardInfo> Info() override;
  absl::Status Health() override;
  absl::Status ClearCache(std::optional<uint64_t> batch_id) override;
  absl::StatusOr<CachedBatch> FilterBatch(uint64_t batch_id,
                                          const std::vector<uint64_t>& request_ids) override;
  absl::StatusOr<std::optional<uint32_t>> Warmup(const std::vector<ShardBatch>& batches,
                                                 uint32_t max_input_length,
                                                 uint32_t max_prefill_tokens,
                                                 uint32_t max_total_tokens) override;
  absl::StatusOr<StepResult> Prefill(const ShardBatch& batch, uint32_t max_prompt_tokens) override;
  absl::StatusOr<StepResult> Decode(const std::vector<CachedBatch>& batches,
                                    uint32_t max_prompt_tokens) override;

 private:
  struct Live {
    ShardRequest request;
    uint32_t generated = 0;
    std::string text;
    bool finished = false;
    uint32_t prompt_steps = 0;  // calls left in its prompt (chunked prefill)
  };
  using Rows = std::vector<Live>;

  // Records the call; returns the injected failure, if any. Caller holds mutex_.
  absl::Status Record(Call call);
  // Generates one token for every unfinished row. Caller holds mutex_.
  void Step(Rows& rows, StepResult* result, bool chunked);
  // Stores the rows as batch `id` and describes it, or drops it when every row has finished.
  void Keep(uint64_t id, Rows rows, StepResult* result);
  CachedBatch Describe(uint64_t id, const Rows& rows) const;

  mutable std::mutex mutex_;
  std::vector<Call> calls_;
  std::map<std::string, std::string> failures_;
  std::function<void(const Call&)> hook_;
  std::optional<uint32_t> warmup_result_;
  std::map<uint64_t, Rows> batches_;
  std::set<uint64_t> prefilled_ids_;
  size_t max_live_ = 0;
  bool drops_finished_ = false;
  uint32_t prompt_steps_ = 0;
};

}  // namespace tgi::router::testing
