#include "router/infer/infer.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "router/api/errors.h"
#include "router/validation/rules.h"

namespace tgi::router {

double MeanLogprob(const GenerationOutput& output) {
  if (output.tokens.empty()) return -INFINITY;
  double sum = 0;
  for (const Token& token : output.tokens) sum += token.logprob;
  return sum / static_cast<double>(output.tokens.size());
}

namespace {

using Clock = std::chrono::steady_clock;

// Null object: Infer always has an observer to call.
class NoRequestObserver : public RequestObserver {};

// Counts the failure a status of validation (or admission) stands for.
void ReportFailure(RequestObserver& observer, const absl::Status& status) {
  switch (KindOf(status)) {
    case ErrorKind::kOverloaded:
      observer.OnRequestFailure("overloaded");
      break;
    case ErrorKind::kValidation:
      observer.OnRequestFailure("validation");
      break;
    default:  // the scheduler counts generation errors itself
      break;
  }
}

}  // namespace

RequestTimings TimingsOf(const EndEvent& end, Clock::time_point start, Clock::time_point now) {
  RequestTimings timings;
  timings.total = now - start;
  timings.validation = end.queued - start;
  timings.queue = end.start - end.queued;
  timings.inference = now - end.start;
  timings.generated_tokens = end.generated_text.generated_tokens;
  if (timings.generated_tokens > 0) timings.per_token = timings.inference / timings.generated_tokens;
  return timings;
}

InferStream::InferStream(std::shared_ptr<ResponseStream> stream, uint32_t input_length,
                         Permit permit, std::shared_ptr<RequestObserver> observer,
                         Clock::time_point start)
    : stream_(std::move(stream)),
      input_length_(input_length),
      observer_(std::move(observer)),
      start_(start),
      permit_(std::move(permit)) {}

InferStream::~InferStream() { Cancel(); }

std::optional<ResponseEvent> InferStream::TryPop() {
  std::optional<ResponseEvent> event = stream_->TryPop();
  if (event && IsFinal(*event)) {
    if (const auto* end = std::get_if<EndEvent>(&*event)) {
      observer_->OnRequestSuccess(TimingsOf(*end, start_, Clock::now()));
    }
    std::lock_guard lock(mutex_);
    permit_.Release();
  }
  return event;
}

void InferStream::SetNotify(ResponseStream::Notify notify) { stream_->SetNotify(std::move(notify)); }

void InferStream::Cancel() {
  stream_->Close();
  std::lock_guard lock(mutex_);
  permit_.Release();
}

// A streaming call between admission and the stream's hand-over.
class Infer::StreamCall : public Infer::Call {
 public:
  explicit StreamCall(StreamCallback started) : started_(std::move(started)) {}

  bool cancelled() const {
    std::lock_guard lock(mutex_);
    return cancelled_;
  }

  // Runs `started` once, or cancels the stream when the consumer left first.
  void Start(absl::StatusOr<std::shared_ptr<InferStream>> result) {
    StreamCallback started;
    {
      std::lock_guard lock(mutex_);
      if (!cancelled_) {
        started = std::move(started_);
        if (result.ok()) stream_ = *result;
      }
    }
    if (started) {
      started(std::move(result));
    } else if (result.ok()) {
      (*result)->Cancel();
    }
  }

  void Cancel() override {
    std::shared_ptr<InferStream> stream;
    {
      std::lock_guard lock(mutex_);
      cancelled_ = true;
      started_ = nullptr;
      stream = std::move(stream_);
    }
    if (stream) stream->Cancel();
  }

 private:
  mutable std::mutex mutex_;
  StreamCallback started_;
  std::shared_ptr<InferStream> stream_;
  bool cancelled_ = false;
};

// Gathers the events of a non-streaming request's sequences; answers once all have ended, or at
// the first error. Drain runs on the scheduler thread; the permit and the streams are released
// on every terminal path (Finish), which also breaks the stream -> notify -> Gather cycle.
class Infer::Gather : public Infer::Call, public std::enable_shared_from_this<Gather> {
 public:
  Gather(size_t n, Permit permit, GenerateCallback done, std::shared_ptr<RequestObserver> observer,
         Clock::time_point start)
      : permit_(std::move(permit)),
        done_(std::move(done)),
        observer_(std::move(observer)),
        start_(start),
        outputs_(n),
        ends_(n) {}

  bool cancelled() const {
    std::lock_guard lock(mutex_);
    return finished_;
  }

  void Watch(std::vector<std::shared_ptr<ResponseStream>> streams, uint32_t input_length) {
    {
      std::lock_guard lock(mutex_);
      input_length_ = input_length;
      streams_ = streams;
      if (finished_) {
        for (auto& stream : streams) stream->Close();
        return;
      }
    }
    for (size_t i = 0; i < streams.size(); ++i) {
      streams[i]->SetNotify([self = shared_from_this(), i] { self->Drain(i); });
    }
  }

  void Fail(const absl::Status& status) { Finish(status); }

  void Cancel() override {
    std::unique_lock lock(mutex_);
    if (finished_) return;
    done_ = nullptr;
    EndLocked();
  }

 private:
  void Drain(size_t i) {
    std::unique_lock lock(mutex_);
    if (finished_) return;
    while (std::optional<ResponseEvent> event = streams_[i]->TryPop()) {
      GenerationOutput& output = outputs_[i];
      if (auto* prefill = std::get_if<PrefillEvent>(&*event)) {
        output.prefill = std::move(prefill->tokens);
      } else if (auto* step = std::get_if<IntermediateEvent>(&*event)) {
        output.tokens.push_back(std::move(step->token));
        output.top_tokens.push_back(std::move(step->top_tokens));
      } else if (auto* end = std::get_if<EndEvent>(&*event)) {
        output.tokens.push_back(end->token);
        output.top_tokens.push_back(end->top_tokens);
        output.generated_text = end->generated_text;
        ends_[i] = std::move(*end);
        if (++ended_ == outputs_.size()) {
          lock.unlock();
          Finish(Result());
        }
        return;
      } else if (auto* error = std::get_if<ErrorEvent>(&*event)) {
        lock.unlock();
        Finish(GenerationError(error->message));
        return;
      }
    }
  }

  // The winner and the others; called once every sequence has ended (under no lock: the
  // outputs are no longer written).
  GenerateResult Result() {
    for (GenerationOutput& output : outputs_) {
      const bool any_top = std::any_of(output.top_tokens.begin(), output.top_tokens.end(),
                                       [](const auto& top) { return !top.empty(); });
      if (!any_top) output.top_tokens.clear();
    }
    size_t best = 0;
    for (size_t i = 1; i < outputs_.size(); ++i) {
      if (MeanLogprob(outputs_[i]) > MeanLogprob(outputs_[best])) best = i;
    }
    GenerateResult result;
    result.input_length = input_length_;
    result.queued = ends_[best]->queued;
    result.start = ends_[best]->start;
    observer_->OnRequestSuccess(TimingsOf(*ends_[best], start_, Clock::now()));
    for (size_t i = 0; i < outputs_.size(); ++i) {
      if (i == best) {
        result.best = std::move(outputs_[i]);
      } else {
        result.others.push_back(std::move(outputs_[i]));
      }
    }
    return result;
  }

  void Finish(absl::StatusOr<GenerateResult> result) {
    GenerateCallback done;
    {
      std::unique_lock lock(mutex_);
      if (finished_) return;
      done = std::move(done_);
      EndLocked();
    }
    if (done) done(std::move(result));
  }

  // Terminal: frees the permit and the streams (the scheduler drops closed ones).
  void EndLocked() {
    finished_ = true;
    permit_.Release();
    for (auto& stream : streams_) stream->Close();
    streams_.clear();
  }

  mutable std::mutex mutex_;
  Permit permit_;
  GenerateCallback done_;
  const std::shared_ptr<RequestObserver> observer_;
  const Clock::time_point start_;
  std::vector<GenerationOutput> outputs_;
  std::vector<std::optional<EndEvent>> ends_;
  std::vector<std::shared_ptr<ResponseStream>> streams_;
  size_t ended_ = 0;
  uint32_t input_length_ = 0;
  bool finished_ = false;
};

Infer::Infer(size_t max_concurrent_requests, Validation& validation, Scheduler& scheduler,
             std::shared_ptr<RequestObserver> observer)
    : admission_(max_concurrent_requests),
      validation_(validation),
      scheduler_(scheduler),
      observer_(observer ? std::move(observer) : std::make_shared<NoRequestObserver>()) {}

std::shared_ptr<Infer::Call> Infer::GenerateStream(GenerateRequest request,
                                                   StreamCallback started) {
  const Clock::time_point start = Clock::now();
  observer_->OnRequest();
  auto call = std::make_shared<StreamCall>(std::move(started));
  absl::Status refused = CheckStreamParameters(request.parameters);
  std::optional<Permit> permit;
  if (refused.ok()) {
    permit = admission_.TryAcquire(1);
    if (!permit) refused = OverloadedError();
  }
  if (!refused.ok()) {
    ReportFailure(*observer_, refused);
    call->Start(refused);
    return call;
  }
  auto held = std::make_shared<Permit>(std::move(*permit));
  validation_.Validate(std::move(request), [this, call, held,
                                            start](absl::StatusOr<ValidRequest> valid) {
    if (!valid.ok()) ReportFailure(*observer_, valid.status());
    if (!valid.ok() || call->cancelled()) {
      held->Release();
      call->Start(valid.ok() ? absl::CancelledError("client gone") : valid.status());
      return;
    }
    const uint32_t input_length = valid->input_length;
    observer_->OnValidRequest(input_length, valid->shard.stopping_parameters.max_new_tokens);
    call->Start(std::make_shared<InferStream>(scheduler_.Submit(std::move(*valid)), input_length,
                                              std::move(*held), observer_, start));
  });
  return call;
}

std::shared_ptr<Infer::Call> Infer::Generate(GenerateRequest request, GenerateCallback done) {
  const Clock::time_point start = Clock::now();
  observer_->OnRequest();
  absl::StatusOr<size_t> best_of = size_t{1};
  if (request.parameters.best_of.value_or(1) > 1) {
    best_of = ValidateBestOf(*request.parameters.best_of, validation_.config());
  }
  std::optional<Permit> permit;
  if (best_of.ok()) {
    permit = admission_.TryAcquire(*best_of);
    if (!permit) best_of = OverloadedError();
  }
  if (!best_of.ok()) {
    ReportFailure(*observer_, best_of.status());
    done(best_of.status());
    return std::make_shared<Gather>(1, Permit(), nullptr, observer_, start);
  }
  const size_t n = *best_of;
  auto gather = std::make_shared<Gather>(n, std::move(*permit), std::move(done), observer_, start);
  validation_.Validate(std::move(request), [this, gather, n](absl::StatusOr<ValidRequest> valid) {
    if (!valid.ok()) {
      ReportFailure(*observer_, valid.status());
      gather->Fail(valid.status());
      return;
    }
    if (gather->cancelled()) return;
    observer_->OnValidRequest(valid->input_length, valid->shard.stopping_parameters.max_new_tokens);
    const uint32_t input_length = valid->input_length;
    std::vector<ValidRequest> requests =
        n > 1 ? FanOutBestOf(*valid, n) : std::vector<ValidRequest>{std::move(*valid)};
    std::vector<std::shared_ptr<ResponseStream>> streams;
    for (ValidRequest& sequence : requests) streams.push_back(scheduler_.Submit(std::move(sequence)));
    gather->Watch(std::move(streams), input_length);
  });
  return gather;
}

}  // namespace tgi::router
