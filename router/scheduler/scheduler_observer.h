// Hooks through which the scheduler reports what TGI exposes as Prometheus metrics (queue size,
// batch gauges, inference counts and durations, failures). No metrics library here: the metrics
// module implements the observer. Calls come from the scheduler thread; implementations must be
// thread-safe if they are read elsewhere, and must not block.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "router/shard_client/shard_client.h"

namespace tgi::router {

// One Prefill or Decode RPC as seen by the router.
struct InferenceRecord {
  std::string_view method;  // "prefill" or "decode"
  bool success = false;
  std::chrono::nanoseconds duration{0};  // wall time of the RPC, in the router
  StepTimings timings;                   // shard-side timings; zero on failure
  std::optional<ShardStepStats> stats;   // tgi-cpp shards only; absent on failure
};

class SchedulerObserver {
 public:
  virtual ~SchedulerObserver() = default;

  // tgi_queue_size.
  virtual void OnQueueSize(size_t entries) {}
  // tgi_batch_next_size, tgi_batch_next_tokens: a batch the queue just formed.
  virtual void OnNextBatch(size_t size, uint32_t tokens) {}
  // tgi_batch_current_size, tgi_batch_current_max_tokens (0, 0 once nothing runs).
  virtual void OnCurrentBatch(size_t size, uint32_t max_tokens) {}
  // tgi_batch_concat{reason}: "backpressure" or "wait_exceeded".
  virtual void OnBatchConcat(std::string_view reason) {}
  // tgi_batch_inference_{count,success,failure,duration},
  // tgi_batch_{forward,decode,concat}_duration.
  virtual void OnInference(const InferenceRecord& record) {}
  // tgi_batch_filter_duration{method}: sending one step's events and filtering the batch.
  virtual void OnFilter(std::string_view method, std::chrono::nanoseconds duration) {}
  // tgi_request_skipped_tokens: tokens of one generation beyond the first (speculation).
  virtual void OnSkippedTokens(size_t tokens) {}
  // tgi_request_failure{err}: "dropped" (client gone) or "generation" (shard error).
  virtual void OnRequestFailure(std::string_view reason) {}
};

// Keeps the latest gauges and running totals; readable from any thread. Enough for /metrics
// until a Prometheus registry exists, and for tests.
class CountingObserver : public SchedulerObserver {
 public:
  struct Snapshot {
    size_t queue_size = 0;
    size_t batch_size = 0;
    uint32_t batch_max_tokens = 0;
    std::map<std::string, uint64_t> inference_count;                     // by method
    std::map<std::string, uint64_t> inference_failure;                   // by method
    std::map<std::string, std::chrono::nanoseconds> inference_duration;  // summed, by method
    std::map<std::string, uint64_t> batch_concat;                        // by reason
    std::map<std::string, uint64_t> request_failure;                     // by reason
    uint64_t next_batches = 0;
    uint64_t filters = 0;
  };

  void OnQueueSize(size_t entries) override;
  void OnNextBatch(size_t size, uint32_t tokens) override;
  void OnCurrentBatch(size_t size, uint32_t max_tokens) override;
  void OnBatchConcat(std::string_view reason) override;
  void OnInference(const InferenceRecord& record) override;
  void OnFilter(std::string_view method, std::chrono::nanoseconds duration) override;
  void OnRequestFailure(std::string_view reason) override;

  Snapshot snapshot() const;

 private:
  mutable std::mutex mutex_;
  Snapshot data_;
};

}  // namespace tgi::router
