// The router's routes: one table of {method, path, handler}, and the handlers that turn an HTTP
// request into Infer calls, validation or the api layer's JSON (the chat route first renders the
// chat template into a /generate prompt), answered through the server's Responder. Owns CORS and
// the API-key check; admission and generation are Infer's. Never blocks an I/O thread, and builds
// every response body on the connection's strand (events from the scheduler are posted there
// first).
#pragma once

#include <boost/asio/thread_pool.hpp>

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "router/api/responses.h"
#include "router/chat/chat_prompt.h"
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
  // The model's chat template for /v1/chat/completions; null: the route answers TGI's 422
  // "template not found".
  std::shared_ptr<const chat::ChatPrompt> chat_prompt;
};

// How a stream's events become SSE payloads (/generate_stream's or the chat chunks). Runs on the
// connection's strand, one instance per stream.
class StreamFormat {
 public:
  virtual ~StreamFormat() = default;
  virtual std::string Token(const IntermediateEvent& step) = 0;
  // The payloads that end the stream after its last token, or after an error.
  virtual std::vector<std::string> End(const EndEvent& end, uint32_t input_length) = 0;
  virtual std::vector<std::string> Error(const absl::Status& status) = 0;
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
  // The body of a finished non-streaming request.
  using BodyOf = std::function<std::string(const GenerateResult&)>;
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
  void ChatCompletions(Request request, std::shared_ptr<Responder> responder,
                       const Headers& headers);
  void Models(Request request, std::shared_ptr<Responder> responder, const Headers& headers);

  static const Route kTable[];

  // The shared tails of /generate, /generate_stream, POST / and /v1/chat/completions.
  void StartGenerate(GenerateRequest request, std::shared_ptr<Responder> responder,
                     const Headers& headers, BodyOf body_of);
  void StartStream(GenerateRequest request, std::shared_ptr<Responder> responder,
                   std::unique_ptr<StreamFormat> format, const Headers& headers);

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
