#include "router/scheduler/scheduler_observer.h"

namespace tgi::router {

void CountingObserver::OnQueueSize(size_t entries) {
  std::lock_guard<std::mutex> lock(mutex_);
  data_.queue_size = entries;
}

void CountingObserver::OnNextBatch(size_t, uint32_t) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++data_.next_batches;
}

void CountingObserver::OnCurrentBatch(size_t size, uint32_t max_tokens) {
  std::lock_guard<std::mutex> lock(mutex_);
  data_.batch_size = size;
  data_.batch_max_tokens = max_tokens;
}

void CountingObserver::OnBatchConcat(std::string_view reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++data_.batch_concat[std::string(reason)];
}

void CountingObserver::OnInference(const InferenceRecord& record) {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::string method(record.method);
  ++data_.inference_count[method];
  if (!record.success) ++data_.inference_failure[method];
  data_.inference_duration[method] += record.duration;
}

void CountingObserver::OnFilter(std::string_view, std::chrono::nanoseconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++data_.filters;
}

void CountingObserver::OnRequestFailure(std::string_view reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++data_.request_failure[std::string(reason)];
}

CountingObserver::Snapshot CountingObserver::snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return data_;
}

}  // namespace tgi::router
