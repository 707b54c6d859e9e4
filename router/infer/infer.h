// What TGI's Infer does, without HTTP: admission (one --max-concurrent-requests permit per
// sequence, refused at once with 429), validation (best_of and the stream rules included),
// submission to the scheduler, and for a non-streaming request the gathering of its sequences'
// events into one answer (best_of: the sequence of highest mean logprob wins). Every permit is
// released when its request reaches its terminal outcome (final event, error or cancellation), on
// every path; each outcome is reported to the RequestObserver (TGI's request metrics).
//
// Threads: callbacks run on validation workers or on the scheduler thread and must only hand
// work to the caller's executor (they must not block or build responses there).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "router/api/generate_request.h"
#include "router/api/responses.h"
#include "router/infer/admission.h"
#include "router/infer/request_observer.h"
#include "router/scheduler/response_stream.h"
#include "router/scheduler/scheduler.h"
#include "router/validation/validation.h"

namespace tgi::router {

// One streaming request after admission and validation: its events, and the permit it holds
// until the final event is popped or the consumer cancels.
class InferStream {
 public:
  InferStream(std::shared_ptr<ResponseStream> stream, uint32_t input_length, Permit permit,
              std::shared_ptr<RequestObserver> observer, std::chrono::steady_clock::time_point start);
  ~InferStream();
  InferStream(const InferStream&) = delete;
  InferStream& operator=(const InferStream&) = delete;

  // The next event without blocking. Popping the final event (End or Error) releases the permit
  // (and reports an End's success).
  std::optional<ResponseEvent> TryPop();
  // As ResponseStream::SetNotify: runs on the producing thread and must only post work.
  void SetNotify(ResponseStream::Notify notify);
  // The consumer is gone: the scheduler drops the request at its next step; the permit is freed.
  void Cancel();
  uint32_t input_length() const { return input_length_; }

 private:
  const std::shared_ptr<ResponseStream> stream_;
  const uint32_t input_length_;
  const std::shared_ptr<RequestObserver> observer_;
  const std::chrono::steady_clock::time_point start_;
  std::mutex mutex_;
  Permit permit_;
};

// A non-streaming request's answer (TGI's InferResponse, plus the best_of losers).
struct GenerateResult {
  GenerationOutput best;
  std::vector<GenerationOutput> others;  // best_of > 1: the other sequences
  uint32_t input_length = 0;
  std::chrono::steady_clock::time_point queued;  // of the best sequence
  std::chrono::steady_clock::time_point start;
};

class Infer {
 public:
  using StreamCallback = std::function<void(absl::StatusOr<std::shared_ptr<InferStream>>)>;
  using GenerateCallback = std::function<void(absl::StatusOr<GenerateResult>)>;

  // A request in flight, so that its caller can cancel it (the client went away).
  class Call {
   public:
    virtual ~Call() = default;
    virtual void Cancel() = 0;
  };

  // `observer` may be null (no metrics).
  Infer(size_t max_concurrent_requests, Validation& validation, Scheduler& scheduler,
        std::shared_ptr<RequestObserver> observer = nullptr);

  // One streaming sequence. `started` runs exactly once: with the stream rules' error or
  // OverloadedError (synchronously), with the validation error, or with the stream.
  std::shared_ptr<Call> GenerateStream(GenerateRequest request, StreamCallback started);

  // The request's best_of sequences (one without best_of), gathered. `done` runs exactly once,
  // unless the call is cancelled first.
  std::shared_ptr<Call> Generate(GenerateRequest request, GenerateCallback done);

  const Admission& admission() const { return admission_; }

 private:
  class StreamCall;
  class Gather;

  Admission admission_;
  Validation& validation_;
  Scheduler& scheduler_;
  std::shared_ptr<RequestObserver> observer_;
};

// TGI's request durations of a sequence that ended with `end`, for a request that started at
// `start`, as seen at `now`.
RequestTimings TimingsOf(const EndEvent& end, std::chrono::steady_clock::time_point start,
                         std::chrono::steady_clock::time_point now);

// TGI's best_of winner: the highest mean logprob over the generated tokens.
double MeanLogprob(const GenerationOutput& output);

}  // namespace tgi::router
