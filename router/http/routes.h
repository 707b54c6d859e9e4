// The router's routes: one table of {method, path, handler}, and the handlers that turn an HTTP
// request into Infer calls, validation or the api layer's JSON, answered through the server's
// Responder. Owns CORS and the API-key check; admission and generation are Infer's. Never blocks
// an I/O thread, and builds every response body on the connection's strand (events from the
// scheduler are posted there first).
#pragma once

#include <boost/asio/thread_pool.hpp>

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "router/api/responses.h"
#include "router/http/server.h"
#include "router/infer/infer.h"
#include "router/metrics/metrics.h"
#include "router/scheduler/scheduler.h"
#include "router/validation/validation.h"

namespace tgi::router::http {

struct RoutesConfig {
  std::vector<std::string> cors_allow_origin;  // empty: "*"
  std::string api_key;                         // empty: no check
  std::string compute_type = "gpu+optimized";  // x-compute-type (env COMPUTE_TYPE)
  Info info;                                   // GET /info
};

class Routes {
 public:
  using Handler = void (Routes::*)(Request request, std::shared_ptr<Responder> responder,
                                   const Headers& headers);
  struct Route {
    beast_http::verb method;  // a GET route also answers HEAD
    std::string_view path;
    bool generation;  // TGI's generation group: behind --api-key
    Handler handler;
  };
  // Every route the router serves; anything else is 404, or 405 for a known path.
  static std::span<const Route> Table();

  Routes(RoutesConfig config, Infer& infer, Validation& validation, Scheduler& scheduler,
         const Metrics& metrics);
  ~Routes();

  void Handle(Request request, std::shared_ptr<Responder> responder);

 private:
  void Health(Request request, std::shared_ptr<Responder> responder, const Headers& headers);
  void GetInfo(Request request, std::shared_ptr<Responder> responder, const Headers& headers);
  void GetMetrics(Request request, std::shared_ptr<Responder> responder, const Headers& headers);
  void OpenApi(Request request, std::shared_ptr<Responder> responder, const Headers& headers);
  void Docs(Request request, std::shared_ptr<Responder> responder, const Headers& headers);
  void Generate(Request request, std::shared_ptr<Responder> responder, const Headers& headers);
  void CompatGenerate(Request request, std::shared_ptr<Responder> responder,
                      const Headers& headers);
  void GenerateStream(Request request, std::shared_ptr<Responder> responder,
                      const Headers& headers);
  void Tokenize(Request request, std::shared_ptr<Responder> responder, const Headers& headers);

  static const Route kTable[];

  // The shared tails of /generate, /generate_stream and POST /.
  void StartGenerate(GenerateRequest request, std::shared_ptr<Responder> responder,
                     const Headers& headers, bool compat);
  void StartStream(GenerateRequest request, std::shared_ptr<Responder> responder,
                   std::optional<std::string> prompt, const Headers& headers);

  Headers CorsHeaders(const Request& request) const;
  bool Authorized(const Request& request) const;

  RoutesConfig config_;
  Infer& infer_;
  Validation& validation_;
  Scheduler& scheduler_;
  const Metrics& metrics_;
  boost::asio::thread_pool blocking_{2};  // shard health checks
};

}  // namespace tgi::router::http
