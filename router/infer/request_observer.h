// Hooks through which Infer reports a request's life as TGI's Prometheus metrics count it:
// every request entering generation, its validated lengths, its failures before the scheduler
// (validation, overloaded) and its successful end with TGI's durations. No metrics library here:
// router/metrics implements it. Calls come from any thread and must not block.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

namespace tgi::router {

// What TGI records when a request succeeds (all durations in the router's clock).
struct RequestTimings {
  std::chrono::nanoseconds total{0};       // tgi_request_duration
  std::chrono::nanoseconds validation{0};  // tgi_request_validation_duration: start -> queued
  std::chrono::nanoseconds queue{0};       // tgi_request_queue_duration: queued -> batched
  std::chrono::nanoseconds inference{0};   // tgi_request_inference_duration: batched -> end
  std::chrono::nanoseconds per_token{0};   // tgi_request_mean_time_per_token_duration
  uint32_t generated_tokens = 0;           // tgi_request_generated_tokens
};

class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  // tgi_request_count: a request entered generate, generate_stream or the compat route.
  virtual void OnRequest() {}
  // tgi_request_input_length, tgi_request_max_new_tokens: a request passed validation.
  virtual void OnValidRequest(uint32_t input_length, uint32_t max_new_tokens) {}
  // tgi_request_failure{err}: "validation", "overloaded" or "incomplete" (the scheduler reports
  // "generation" and "dropped").
  virtual void OnRequestFailure(std::string_view reason) {}
  // tgi_request_success and the durations.
  virtual void OnRequestSuccess(const RequestTimings& timings) {}
};

}  // namespace tgi::router
