// The router's Prometheus metrics: every series of TGI 2.0.4 (tgi.md §5) with its name, type,
// labels and bucket layout, kept in a prometheus-cpp registry and rendered in text exposition
// format 0.0.4 for GET /metrics, plus tgi-cpp's own series for tuning buckets (tgi_cpp_*: steps
// and forward time per bucket shape, real and padding positions, KV blocks in use and reserved,
// permits in use). It is
// the scheduler's and Infer's observer; a series appears only after its first update, as in TGI.
// Thread-safe. Knows nothing of HTTP.
#pragma once

#include <prometheus/registry.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "router/infer/admission.h"
#include "router/infer/request_observer.h"
#include "router/scheduler/scheduler_observer.h"

namespace tgi::router {

struct MetricsConfig {
  uint32_t max_input_tokens = 1024;  // tgi_request_input_length buckets
  uint32_t max_total_tokens = 2048;  // generated_tokens and max_new_tokens buckets
  uint32_t speculate = 0;            // tgi_request_skipped_tokens buckets
};

// TGI's bucket layouts.
// Every *_duration histogram: 0.0001 x 1.5^k seconds, k = 1..35.
std::vector<double> DurationBuckets();
// (max / 100) x i, i = 1..100.
std::vector<double> LengthBuckets(uint32_t max);
// 1..1024.
std::vector<double> BatchSizeBuckets();
// 0..speculate.
std::vector<double> SkippedTokenBuckets(uint32_t speculate);

class Metrics final : public SchedulerObserver, public RequestObserver {
 public:
  explicit Metrics(MetricsConfig config);
  ~Metrics() override;

  // The text exposition of every series updated so far.
  std::string Render() const;

  // tgi_cpp_permits_in_use reads `admission` at every Render (it must outlive the renders).
  void WatchAdmission(const Admission* admission) { admission_ = admission; }
  // tgi_cpp_kv_blocks_{used,reserved}, tgi_cpp_kv_block_size read `usage` at every Render.
  void WatchKvUsage(std::function<std::optional<ShardKvUsage>()> usage) {
    kv_usage_ = std::move(usage);
  }

  // RequestObserver.
  void OnRequest() override;
  void OnValidRequest(uint32_t input_length, uint32_t max_new_tokens) override;
  void OnRequestSuccess(const RequestTimings& timings) override;
  // Both observers: tgi_request_failure{err}.
  void OnRequestFailure(std::string_view reason) override;

  // SchedulerObserver.
  void OnQueueSize(size_t entries) override;
  void OnNextBatch(size_t size, uint32_t tokens) override;
  void OnCurrentBatch(size_t size, uint32_t max_tokens) override;
  void OnBatchConcat(std::string_view reason) override;
  void OnInference(const InferenceRecord& record) override;
  void OnFilter(std::string_view method, std::chrono::nanoseconds duration) override;
  void OnSkippedTokens(size_t tokens) override;

 private:
  struct Families;

  // tgi_cpp_*: the step's bucket shape and its positions.
  void OnStepStats(std::string_view method, const ShardStepStats& stats, double forward_seconds);

  const MetricsConfig config_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Families> families_;
  const Admission* admission_ = nullptr;
  std::function<std::optional<ShardKvUsage>()> kv_usage_;
};

}  // namespace tgi::router
