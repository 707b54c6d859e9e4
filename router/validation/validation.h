// Request validation as TGI's router runs it: the parameter rules on the caller's thread, then
// tokenization (the prompt's length) on a pool of `validation_workers` threads fed round-robin,
// so an HTTP I/O thread never waits on a tokenizer. Owns the pool; the rules themselves live in
// rules.h. Must not queue, schedule or talk to shards.
#pragma once

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "router/api/generate_request.h"
#include "router/api/responses.h"
#include "router/scheduler/request.h"
#include "router/validation/validation_config.h"
#include "router/validation/validation_tokenizer.h"

namespace tgi::router {

class Validation {
 public:
  using ValidateCallback = std::function<void(absl::StatusOr<ValidRequest>)>;
  using TokenizeCallback = std::function<void(absl::StatusOr<std::vector<TokenOffsets>>)>;

  // `tokenizer` null: no fast tokenizer (rule 15's tgi-gaudi branch; /tokenize answers 404).
  Validation(ValidationConfig config, std::shared_ptr<const ValidationTokenizer> tokenizer);
  // Shutdown().
  ~Validation();
  Validation(const Validation&) = delete;
  Validation& operator=(const Validation&) = delete;

  // Rules 1-16 in TGI's order. `done` runs exactly once: on the calling thread when a rule before
  // tokenization fails, otherwise on a worker thread. It must not throw. Rules 17 (best_of) and
  // 18 (streams) are the route's to call first: ValidateBestOf, CheckStreamParameters.
  void Validate(GenerateRequest request, ValidateCallback done);
  std::future<absl::StatusOr<ValidRequest>> Validate(GenerateRequest request);

  // /tokenize: the tokens of `inputs` with their byte offsets, on a worker thread; a
  // NoFastTokenizerError (404) at once when there is no tokenizer.
  void Tokenize(std::string inputs, TokenizeCallback done);

  // Runs what is still queued, then joins the workers; later requests fail at once with
  // "the router is shutting down" (a generation error). Idempotent.
  void Shutdown();

  const ValidationConfig& config() const { return config_; }
  bool has_tokenizer() const { return tokenizer_ != nullptr; }

 private:
  class Worker;

  // Rules 15-16 and the ValidRequest, on a worker.
  absl::StatusOr<ValidRequest> Finish(const GenerateRequest& request) const;
  // Runs `task` on a worker; false (task not run) after Shutdown.
  bool Dispatch(std::function<void()> task);

  const ValidationConfig config_;
  const std::shared_ptr<const ValidationTokenizer> tokenizer_;
  std::mutex workers_mutex_;
  std::vector<std::unique_ptr<Worker>> workers_;  // empty after Shutdown
  size_t next_worker_ = 0;
};

}  // namespace tgi::router
