// The router's routes: maps each HTTP request to validation, the scheduler and the api layer's
// JSON, and answers through the server's Responder. Owns the concurrency permits, CORS and the
// API key check. Never blocks an I/O thread: tokenization runs on validation's workers, shard
// health checks on a small pool of its own, and generation events arrive by callback.
#pragma once

#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "router/api/responses.h"
#include "router/http/server.h"
#include "router/scheduler/scheduler.h"
#include "router/validation/validation.h"

namespace tgi::router::http {

struct RoutesConfig {
  int64_t max_concurrent_requests = 128;
  std::vector<std::string> cors_allow_origin;  // empty: "*"
  std::string api_key;                         // empty: no check
  std::string compute_type = "gpu+optimized";  // x-compute-type (env COMPUTE_TYPE)
  Info info;                                   // GET /info
};

class Routes {
 public:
  Routes(RoutesConfig config, Validation& validation, Scheduler& scheduler);
  ~Routes();

  void Handle(Request request, std::shared_ptr<Responder> responder);

  // Requests holding a concurrency permit right now.
  int64_t in_flight() const { return permits_.load(); }

 private:
  // A concurrency permit, released when the last copy goes away.
  class Permit;
  std::shared_ptr<Permit> TryAcquirePermit();

  void Health(std::shared_ptr<Responder> responder, const Headers& headers);
  void Generate(Request request, std::shared_ptr<Responder> responder, bool compat);
  void GenerateStream(GenerateRequest request, std::shared_ptr<Responder> responder,
                      std::string prompt_for_full_text, const Headers& headers);
  void Tokenize(Request request, std::shared_ptr<Responder> responder, const Headers& headers);

  Headers CorsHeaders(const Request& request) const;
  bool Authorized(const Request& request) const;

  RoutesConfig config_;
  Validation& validation_;
  Scheduler& scheduler_;
  std::atomic<int64_t> permits_{0};
  boost::asio::thread_pool blocking_{2};  // shard health checks
};

}  // namespace tgi::router::http
