#include "router/validation/validation.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "router/api/errors.h"
#include "router/validation/rules.h"

namespace tgi::router {
namespace {

absl::Status ShuttingDownError() { return GenerationError("the router is shutting down"); }

}  // namespace

// One tokenizer thread and its queue (TGI gives each worker its own channel).
class Validation::Worker {
 public:
  Worker() : thread_([this] { Run(); }) {}

  ~Worker() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_one();
    thread_.join();
  }

  void Post(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      tasks_.push_back(std::move(task));
    }
    ready_.notify_one();
  }

 private:
  void Run() {
    while (true) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;  // stopping, and everything queued has run
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

Validation::Validation(ValidationConfig config,
                       std::shared_ptr<const ValidationTokenizer> tokenizer)
    : config_(std::move(config)), tokenizer_(std::move(tokenizer)) {
  const size_t count = std::max<size_t>(config_.validation_workers, 1);
  for (size_t i = 0; i < count; ++i) workers_.push_back(std::make_unique<Worker>());
}

Validation::~Validation() { Shutdown(); }

void Validation::Shutdown() {
  std::vector<std::unique_ptr<Worker>> workers;
  {
    std::lock_guard lock(workers_mutex_);
    workers.swap(workers_);
  }
  workers.clear();  // each runs what it has queued, then joins
}

bool Validation::Dispatch(std::function<void()> task) {
  std::lock_guard lock(workers_mutex_);
  if (workers_.empty()) return false;
  workers_[next_worker_++ % workers_.size()]->Post(std::move(task));
  return true;
}

void Validation::Validate(GenerateRequest request, ValidateCallback done) {
  if (absl::Status status = CheckParameters(request, config_); !status.ok()) {
    done(status);
    return;
  }
  auto task = [this, request = std::move(request), done] { done(Finish(request)); };
  if (!Dispatch(std::move(task))) done(ShuttingDownError());
}

std::future<absl::StatusOr<ValidRequest>> Validation::Validate(GenerateRequest request) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<ValidRequest>>>();
  std::future<absl::StatusOr<ValidRequest>> future = promise->get_future();
  Validate(std::move(request), [promise](absl::StatusOr<ValidRequest> result) {
    promise->set_value(std::move(result));
  });
  return future;
}

absl::StatusOr<ValidRequest> Validation::Finish(const GenerateRequest& request) const {
  const GenerateParameters& p = request.parameters;
  absl::StatusOr<InputLength> length;
  if (config_.skip_tokenizer) {
    absl::StatusOr<size_t> count = CountTokenIds(request.inputs);
    if (!count.ok()) return count.status();
    length = CheckInputLength(*count, p.truncate, p.max_new_tokens, config_);
  } else if (tokenizer_ != nullptr) {
    absl::StatusOr<size_t> count = tokenizer_->CountTokens(request.inputs);
    if (!count.ok()) return TokenizerError(std::string(count.status().message()));
    length = CheckInputLength(*count, p.truncate, p.max_new_tokens, config_);
  } else {
    length = CheckInputLengthWithoutTokenizer(p.truncate, p.max_new_tokens, config_);
  }
  if (!length.ok()) return length.status();
  if (absl::Status status = CheckGrammar(p.grammar, config_); !status.ok()) return status;
  return MakeValidRequest(request, *length, config_, RandomSeed());
}

void Validation::Tokenize(std::string inputs, TokenizeCallback done) {
  if (tokenizer_ == nullptr) {
    done(NoFastTokenizerError());
    return;
  }
  auto task = [this, inputs = std::move(inputs), done] {
    absl::StatusOr<std::vector<TokenOffsets>> tokens = tokenizer_->EncodeWithOffsets(inputs);
    if (!tokens.ok()) {
      done(TokenizerError(std::string(tokens.status().message())));
    } else {
      done(std::move(tokens));
    }
  };
  if (!Dispatch(std::move(task))) done(ShuttingDownError());
}

}  // namespace tgi::router
