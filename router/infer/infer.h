// What TGI's Infer does, without HTTP: admission (one --max-concurrent-requests permit per
// sequence, refused at once with 429), validation, submission to the scheduler, and for a
// non-streaming request the gathering of its sequences' events into one answer (best_of: the
// sequence of highest mean logprob wins). Every permit is released when its request reaches its
// terminal outcome (final event, error or cancellation), on every path.
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
#include "router/scheduler/response_stream.h"
#include "router/scheduler/scheduler.h"
#include "router/validation/validation.h"

namespace tgi::router {

// One streaming request after admission and validation: its events, and the permit it holds
// until the final event is popped or the consumer cancels.
class InferStream {
 public:
  InferStream(std::shared_ptr<ResponseStream> stream, uint32_t input_length, Permit permit);
  ~InferStream();
  InferStream(const InferStream&) = delete;
  InferStream& operator=(const InferStream&) = delete;

  // The next event without blocking. Popping the final event (End or Error) releases the permit.
  std::optional<ResponseEvent> TryPop();
  // As ResponseStream::SetNotify: runs on the producing thread and must only post work.
  void SetNotify(ResponseStream::Notify notify);
  // The consumer is gone: the scheduler drops the request at its next step; the permit is freed.
  void Cancel();
  uint32_t input_length() const { return input_length_; }

 private:
  const std::shared_ptr<ResponseStream> stream_;
  const uint32_t input_length_;
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

  Infer(size_t max_concurrent_requests, Validation& validation, Scheduler& scheduler);

  // One streaming sequence. `started` runs exactly once: with OverloadedError (synchronously)
  // when no permit is free, with the validation error, or with the stream.
  std::shared_ptr<Call> GenerateStream(GenerateRequest request, StreamCallback started);

  // `best_of` sequences (1 without best_of; the caller has checked it with ValidateBestOf),
  // gathered. `done` runs exactly once, unless the call is cancelled first.
  std::shared_ptr<Call> Generate(GenerateRequest request, size_t best_of, GenerateCallback done);

  const Admission& admission() const { return admission_; }

 private:
  class StreamCall;
  class Gather;

  Admission admission_;
  Validation& validation_;
  Scheduler& scheduler_;
};

// TGI's best_of winner: the highest mean logprob over the generated tokens.
double MeanLogprob(const GenerationOutput& output);

}  // namespace tgi::router
