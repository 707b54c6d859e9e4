#include "router/http/routes.h"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string_view>

#include "router/api/chat_request.h"
#include "router/api/chat_responses.h"
#include "router/api/errors.h"
#include "router/api/generate_request.h"
#include "router/api/openapi.h"
#include "router/http/auth.h"

namespace tgi::router::http {

namespace {

using Clock = std::chrono::steady_clock;
constexpr char kJson[] = "application/json";
using beast_http::verb;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
int64_t Millis(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

size_t Utf8Chars(std::string_view text) {
  return std::count_if(text.begin(), text.end(),
                       [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

std::optional<std::string_view> HeaderValue(const Request& request, beast_http::field field) {
  auto it = request.find(field);
  if (it == request.end()) return std::nullopt;
  return std::string_view(it->value().data(), it->value().size());
}

Headers With(Headers headers, std::initializer_list<std::pair<std::string, std::string>> more) {
  headers.insert(headers.end(), more.begin(), more.end());
  return headers;
}

void SendError(Responder& responder, const absl::Status& status, Headers headers) {
  const HttpError error = ToHttpError(status);
  responder.Send(static_cast<beast_http::status>(error.status), error.content_type, error.body,
                 std::move(headers));
}

void SendJsonError(Responder& responder, beast_http::status status, std::string_view message,
                   std::string_view type, Headers headers) {
  responder.Send(status, kJson, ErrorBodyJson(message, type), std::move(headers));
}

bool HasJsonBody(const Request& request, Responder& responder, const Headers& headers) {
  if (IsJsonContentType(HeaderValue(request, beast_http::field::content_type))) return true;
  SendError(responder, UnsupportedMediaTypeError(), headers);
  return false;
}

constexpr char kDocsPage[] = R"(<!doctype html>
<html><head><meta charset="utf-8"><title>Text Generation Inference API</title>
<link rel="stylesheet" href="https://unpkg.com/swagger-ui-dist@5/swagger-ui.css"></head>
<body><div id="swagger-ui"><p>The OpenAPI document is at
<a href="/api-doc/openapi.json">/api-doc/openapi.json</a>.</p></div>
<script src="https://unpkg.com/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>if (window.SwaggerUIBundle) SwaggerUIBundle({url: "/api-doc/openapi.json",
dom_id: "#swagger-ui"});</script></body></html>
)";

}  // namespace

const Routes::Route Routes::kTable[] = {
    {verb::get, "/", false, &Routes::Health},
    {verb::get, "/health", false, &Routes::Health},
    {verb::get, "/ping", false, &Routes::Health},
    {verb::get, "/info", false, &Routes::GetInfo},
    {verb::get, "/metrics", false, &Routes::GetMetrics},
    {verb::get, "/api-doc/openapi.json", false, &Routes::OpenApi},
    {verb::get, "/docs", false, &Routes::Docs},
    {verb::post, "/", true, &Routes::CompatGenerate},
    {verb::post, "/generate", true, &Routes::Generate},
    {verb::post, "/generate_stream", true, &Routes::GenerateStream},
    {verb::post, "/tokenize", true, &Routes::Tokenize},
    {verb::post, "/v1/chat/completions", true, &Routes::ChatCompletions},
    {verb::get, "/v1/models", false, &Routes::Models},
};

namespace {

// What a finished non-streaming request answers: the body and TGI's x-* headers.
struct GenerateAnswer {
  Routes::BodyOf body_of;
  std::string compute_type;
  size_t input_characters = 0;
  Clock::time_point start;
  Headers headers;

  void Send(Responder& responder, const GenerateResult& result) const {
    std::string body = body_of(result);
    const Clock::time_point now = Clock::now();
    const uint32_t generated = result.best.generated_text.generated_tokens;
    const auto inference = now - result.start;
    Headers all = With(headers, {
        {"x-compute-type", compute_type},
        {"x-compute-time", std::to_string(Seconds(now - start))},
        {"x-compute-characters", std::to_string(input_characters)},
        {"x-total-time", std::to_string(Millis(now - start))},
        {"x-validation-time", std::to_string(Millis(result.queued - start))},
        {"x-queue-time", std::to_string(Millis(result.start - result.queued))},
        {"x-inference-time", std::to_string(Millis(inference))},
        {"x-time-per-token", std::to_string(generated ? Millis(inference) / generated : 0)},
        {"x-prompt-tokens", std::to_string(result.input_length)},
        {"x-generated-tokens", std::to_string(generated)},
    });
    responder.Send(beast_http::status::ok, kJson, std::move(body), std::move(all));
  }
};

// Relays one stream's events as SSE frames. Every method runs on the connection's strand: the
// stream's notify (on the scheduler thread) only posts Drain there. Each terminal path cancels
// the InferStream, which frees its permit and breaks the stream -> notify -> relay cycle.
class StreamRelay : public std::enable_shared_from_this<StreamRelay> {
 public:
  StreamRelay(std::shared_ptr<Responder> responder, std::unique_ptr<StreamFormat> format)
      : responder_(std::move(responder)), format_(std::move(format)) {}

  void Started(absl::StatusOr<std::shared_ptr<InferStream>> started) {
    if (ended_) {
      if (started.ok()) (*started)->Cancel();
      return;
    }
    if (!started.ok()) {
      End(format_->Error(started.status()));
      return;
    }
    stream_ = std::move(*started);
    stream_->SetNotify([self = shared_from_this()] {
      self->responder_->Post([self] { self->Drain(); });
    });
  }

  void ClientGone() {
    ended_ = true;
    Release();
  }

 private:
  void Drain() {
    if (ended_ || !stream_) return;
    while (std::optional<ResponseEvent> event = stream_->TryPop()) {
      if (auto* step = std::get_if<IntermediateEvent>(&*event)) {
        responder_->SendEvent(format_->Token(*step));
      } else if (auto* end = std::get_if<EndEvent>(&*event)) {
        End(format_->End(*end, stream_->input_length()));
        return;
      } else if (auto* error = std::get_if<ErrorEvent>(&*event)) {
        End(format_->Error(GenerationError(error->message)));
        return;
      }
    }
  }

  void End(std::vector<std::string> last_events) {
    ended_ = true;
    for (std::string& event : last_events) responder_->SendEvent(std::move(event));
    responder_->EndStream();
    Release();
  }

  void Release() {
    if (stream_) stream_->Cancel();
    stream_.reset();
  }

  const std::shared_ptr<Responder> responder_;
  const std::unique_ptr<StreamFormat> format_;
  std::shared_ptr<InferStream> stream_;
  bool ended_ = false;
};

// /generate_stream's events: {"index",token,...}, the last with generated_text; no [DONE].
class GenerateStreamFormat : public StreamFormat {
 public:
  GenerateStreamFormat(bool details, std::optional<std::string> prompt)
      : details_(details), prompt_(std::move(prompt)) {}

  std::string Token(const IntermediateEvent& step) override {
    return StreamTokenEventJson(++index_, step.token, step.top_tokens);
  }
  std::vector<std::string> End(const EndEvent& end, uint32_t) override {
    return {StreamEndEventJson(++index_, end, details_, prompt_)};
  }
  std::vector<std::string> Error(const absl::Status& status) override {
    return {StreamErrorJson(status)};
  }

 private:
  const bool details_;
  const std::optional<std::string> prompt_;
  uint32_t index_ = 0;
};

// /v1/chat/completions' chunks (TGI 2.3+): one per token, the last with its finish_reason (and
// the usage when asked for), then [DONE]; an error event is followed by [DONE] too.
class ChatStreamFormat : public StreamFormat {
 public:
  ChatStreamFormat(ChatContext context, bool include_usage)
      : context_(std::move(context)), include_usage_(include_usage) {}

  std::string Token(const IntermediateEvent& step) override {
    return ChatCompletionChunkJson(context_, step.token, step.top_tokens, std::nullopt,
                                   std::nullopt);
  }
  std::vector<std::string> End(const EndEvent& end, uint32_t input_length) override {
    std::optional<Usage> usage;
    if (include_usage_) usage = Usage{input_length, end.generated_text.generated_tokens};
    return {ChatCompletionChunkJson(context_, end.token, end.top_tokens,
                                    end.generated_text.finish_reason, usage),
            "[DONE]"};
  }
  std::vector<std::string> Error(const absl::Status& status) override {
    return {StreamErrorJson(status), "[DONE]"};
  }

 private:
  const ChatContext context_;
  const bool include_usage_;
};

// The non-streaming body of /generate (compat: POST /).
Routes::BodyOf GenerateBody(const GenerateRequest& request, bool compat) {
  GenerateResponseOptions options{
      .details = request.parameters.details || request.parameters.decoder_input_details};
  if (request.parameters.return_full_text.value_or(false)) options.prompt = request.inputs;
  return [options, compat](const GenerateResult& result) {
    const std::vector<GenerationOutput>* others = result.others.empty() ? nullptr : &result.others;
    return compat ? CompatGenerateResponseJson(result.best, options, others)
                  : GenerateResponseJson(result.best, options, others);
  };
}

std::unique_ptr<StreamFormat> GenerateFormat(const GenerateRequest& request,
                                             std::optional<std::string> prompt) {
  return std::make_unique<GenerateStreamFormat>(request.parameters.details, std::move(prompt));
}

int64_t UnixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::span<const Routes::Route> Routes::Table() { return kTable; }

Routes::Routes(RoutesConfig config, Infer& infer, Validation& validation, Scheduler& scheduler,
               const Metrics& metrics)
    : config_(std::move(config)),
      infer_(infer),
      validation_(validation),
      scheduler_(scheduler),
      metrics_(metrics) {}

Routes::~Routes() { blocking_.join(); }

Headers Routes::CorsHeaders(const Request& request) const {
  if (config_.cors_allow_origin.empty()) return {{"access-control-allow-origin", "*"}};
  const std::optional<std::string_view> origin = HeaderValue(request, beast_http::field::origin);
  if (origin && std::find(config_.cors_allow_origin.begin(), config_.cors_allow_origin.end(),
                          *origin) != config_.cors_allow_origin.end()) {
    return {{"access-control-allow-origin", std::string(*origin)}, {"vary", "origin"}};
  }
  return {{"vary", "origin"}};
}

bool Routes::Authorized(const Request& request) const {
  return BearerKeyMatches(HeaderValue(request, beast_http::field::authorization), config_.api_key);
}

void Routes::Handle(Request request, std::shared_ptr<Responder> responder) {
  std::string_view target(request.target().data(), request.target().size());
  target = target.substr(0, target.find('?'));
  const verb method = request.method() == verb::head ? verb::get : request.method();
  Headers headers = CorsHeaders(request);

  if (method == verb::options) {
    responder->Send(beast_http::status::ok, "text/plain", "",
                    With(headers, {{"access-control-allow-methods", "GET,POST"},
                                   {"access-control-allow-headers", "content-type"}}));
    return;
  }
  bool known_path = false;
  for (const Route& route : kTable) {
    if (route.path != target) continue;
    known_path = true;
    if (route.method != method) continue;
    if (route.generation && !Authorized(request)) {
      responder->Send(beast_http::status::unauthorized, "text/plain", "", headers);
      return;
    }
    (this->*route.handler)(std::move(request), std::move(responder), headers);
    return;
  }
  if (known_path) {
    SendJsonError(*responder, beast_http::status::method_not_allowed, "Method Not Allowed",
                  "method_not_allowed", headers);
  } else {
    SendJsonError(*responder, beast_http::status::not_found, "Not Found", "not_found", headers);
  }
}

void Routes::Health(Request, std::shared_ptr<Responder> responder, const Headers& headers) {
  boost::asio::post(blocking_, [this, responder, headers] {
    const absl::Status status = scheduler_.Health();
    if (status.ok()) {
      responder->Send(beast_http::status::ok, "text/plain", "", headers);
    } else {
      spdlog::warn("health check failed: {}", std::string(status.message()));
      SendError(*responder, UnhealthyError(), headers);
    }
  });
}

void Routes::GetInfo(Request, std::shared_ptr<Responder> responder, const Headers& headers) {
  responder->Send(beast_http::status::ok, kJson, InfoJson(config_.info), headers);
}

void Routes::GetMetrics(Request, std::shared_ptr<Responder> responder, const Headers& headers) {
  responder->Send(beast_http::status::ok, "text/plain; version=0.0.4; charset=utf-8",
                  metrics_.Render(), headers);
}

void Routes::OpenApi(Request, std::shared_ptr<Responder> responder, const Headers& headers) {
  responder->Send(beast_http::status::ok, kJson, std::string(OpenApiJson()), headers);
}

void Routes::Docs(Request, std::shared_ptr<Responder> responder, const Headers& headers) {
  responder->Send(beast_http::status::ok, "text/html; charset=utf-8", kDocsPage, headers);
}

void Routes::Generate(Request request, std::shared_ptr<Responder> responder,
                      const Headers& headers) {
  if (!HasJsonBody(request, *responder, headers)) return;
  absl::StatusOr<GenerateRequest> parsed = ParseGenerateRequest(request.body());
  if (!parsed.ok()) {
    SendError(*responder, parsed.status(), headers);
    return;
  }
  BodyOf body_of = GenerateBody(*parsed, /*compat=*/false);
  StartGenerate(std::move(*parsed), std::move(responder), headers, std::move(body_of));
}

void Routes::CompatGenerate(Request request, std::shared_ptr<Responder> responder,
                            const Headers& headers) {
  if (!HasJsonBody(request, *responder, headers)) return;
  absl::StatusOr<CompatGenerateRequest> parsed = ParseCompatGenerateRequest(request.body());
  if (!parsed.ok()) {
    SendError(*responder, parsed.status(), headers);
    return;
  }
  // POST / without a pipeline tag (none is known here) returns the full text by default.
  GenerateRequest& generate = parsed->request;
  const bool full_text = generate.parameters.return_full_text.value_or(true);
  if (parsed->stream) {
    std::optional<std::string> prompt;
    if (full_text) prompt = generate.inputs;
    std::unique_ptr<StreamFormat> format = GenerateFormat(generate, std::move(prompt));
    StartStream(std::move(generate), std::move(responder), std::move(format), headers);
    return;
  }
  generate.parameters.return_full_text = full_text;
  BodyOf body_of = GenerateBody(generate, /*compat=*/true);
  StartGenerate(std::move(generate), std::move(responder), headers, std::move(body_of));
}

void Routes::StartGenerate(GenerateRequest request, std::shared_ptr<Responder> responder,
                           const Headers& headers, BodyOf body_of) {
  auto answer = std::make_shared<GenerateAnswer>();
  answer->body_of = std::move(body_of);
  answer->compute_type = config_.compute_type;
  answer->input_characters = Utf8Chars(request.inputs);
  answer->start = Clock::now();
  answer->headers = headers;
  std::shared_ptr<Infer::Call> call = infer_.Generate(
      std::move(request), [responder, answer](absl::StatusOr<GenerateResult> result) {
        responder->Post([responder, answer, result = std::move(result)] {
          if (result.ok()) {
            answer->Send(*responder, *result);
          } else {
            SendError(*responder, result.status(), answer->headers);
          }
        });
      });
  responder->OnClientGone([call] { call->Cancel(); });
}

void Routes::GenerateStream(Request request, std::shared_ptr<Responder> responder,
                            const Headers& headers) {
  if (!HasJsonBody(request, *responder, headers)) return;
  absl::StatusOr<GenerateRequest> parsed = ParseGenerateRequest(request.body());
  if (!parsed.ok()) {
    SendError(*responder, parsed.status(), headers);
    return;
  }
  std::optional<std::string> prompt;
  if (parsed->parameters.return_full_text.value_or(false)) prompt = parsed->inputs;
  std::unique_ptr<StreamFormat> format = GenerateFormat(*parsed, std::move(prompt));
  StartStream(std::move(*parsed), std::move(responder), std::move(format), headers);
}

void Routes::StartStream(GenerateRequest request, std::shared_ptr<Responder> responder,
                         std::unique_ptr<StreamFormat> format, const Headers& headers) {
  responder->StartStream(
      With(headers, {{"x-compute-type", config_.compute_type},
                     {"x-compute-characters", std::to_string(Utf8Chars(request.inputs))},
                     {"x-accel-buffering", "no"}}));
  auto relay = std::make_shared<StreamRelay>(responder, std::move(format));
  std::shared_ptr<Infer::Call> call = infer_.GenerateStream(
      std::move(request), [responder, relay](absl::StatusOr<std::shared_ptr<InferStream>> started) {
        responder->Post([relay, started = std::move(started)] { relay->Started(started); });
      });
  responder->OnClientGone([relay, call] {
    call->Cancel();
    relay->ClientGone();
  });
}

void Routes::Tokenize(Request request, std::shared_ptr<Responder> responder,
                      const Headers& headers) {
  if (!HasJsonBody(request, *responder, headers)) return;
  absl::StatusOr<GenerateRequest> parsed = ParseGenerateRequest(request.body());
  if (!parsed.ok()) {
    SendError(*responder, parsed.status(), headers);
    return;
  }
  std::string inputs = parsed->inputs;
  validation_.Tokenize(std::move(parsed->inputs), [responder, headers, inputs = std::move(inputs)](
                                                      absl::StatusOr<std::vector<TokenOffsets>> tokens) {
    responder->Post([responder, headers, inputs, tokens = std::move(tokens)] {
      if (!tokens.ok()) {
        SendError(*responder, tokens.status(), headers);
        return;
      }
      responder->Send(beast_http::status::ok, kJson, TokenizeResponseJson(inputs, *tokens),
                      headers);
    });
  });
}

void Routes::ChatCompletions(Request request, std::shared_ptr<Responder> responder,
                             const Headers& headers) {
  if (!HasJsonBody(request, *responder, headers)) return;
  absl::StatusOr<ChatRequest> parsed = ParseChatRequest(request.body());
  if (!parsed.ok()) {
    SendError(*responder, parsed.status(), headers);
    return;
  }
  if (absl::Status status = CheckChatRequest(*parsed); !status.ok()) {
    SendError(*responder, status, headers);
    return;
  }
  if (config_.chat_prompt == nullptr) {
    SendError(*responder, TemplateNotFoundError(), headers);
    return;
  }
  absl::StatusOr<std::string> prompt = config_.chat_prompt->Render(parsed->messages);
  if (!prompt.ok()) {
    SendError(*responder, TemplateError(std::string(prompt.status().message())), headers);
    return;
  }
  ChatContext context{.model = config_.info.model_id,
                      .system_fingerprint = SystemFingerprint(config_.info),
                      .created = UnixSeconds(),
                      .logprobs = parsed->logprobs};
  GenerateRequest generate{.inputs = std::move(*prompt),
                           .parameters = std::move(parsed->parameters)};
  if (parsed->stream) {
    auto format = std::make_unique<ChatStreamFormat>(std::move(context), parsed->include_usage);
    StartStream(std::move(generate), std::move(responder), std::move(format), headers);
    return;
  }
  StartGenerate(std::move(generate), std::move(responder), headers,
                [context = std::move(context)](const GenerateResult& result) {
                  return ChatCompletionJson(context, result.best, result.input_length);
                });
}

void Routes::Models(Request, std::shared_ptr<Responder> responder, const Headers& headers) {
  responder->Send(beast_http::status::ok, kJson, ModelsJson(config_.info.model_id), headers);
}

}  // namespace tgi::router::http
