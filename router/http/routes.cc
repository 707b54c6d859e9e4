#include "router/http/routes.h"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>
#include <optional>
#include <string_view>

#include "router/api/errors.h"
#include "router/api/generate_request.h"
#include "router/api/openapi.h"
#include "router/validation/rules.h"

namespace tgi::router::http {

namespace {

using Clock = std::chrono::steady_clock;
constexpr char kJson[] = "application/json";

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
  responder.Send(status, kJson,
                 std::string("{\"error\":\"") + std::string(message) + "\",\"error_type\":\"" +
                     std::string(type) + "\"}",
                 std::move(headers));
}

// TGI picks the best_of winner by the highest mean logprob of its generated tokens.
double MeanLogprob(const GenerationOutput& output) {
  if (output.tokens.empty()) return -INFINITY;
  double sum = 0;
  for (const Token& token : output.tokens) sum += token.logprob;
  return sum / static_cast<double>(output.tokens.size());
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

class Routes::Permit {
 public:
  explicit Permit(std::atomic<int64_t>& count) : count_(count) {}
  ~Permit() { --count_; }

 private:
  std::atomic<int64_t>& count_;
};

// Gathers the events of a non-streaming request's sequences (best_of of them) and answers once
// all have ended, or at the first error.
class Gather : public std::enable_shared_from_this<Gather> {
 public:
  struct Options {
    bool compat = false;
    bool details = false;
    std::optional<std::string> prompt;  // return_full_text
    std::string compute_type;
    size_t input_characters = 0;
    Clock::time_point start;
    Headers headers;
  };

  Gather(size_t n, Options options, std::shared_ptr<Responder> responder,
         std::vector<std::shared_ptr<void>> permits)
      : options_(std::move(options)),
        responder_(std::move(responder)),
        permits_(std::move(permits)),
        outputs_(n),
        ends_(n),
        streams_(n) {}

  void Watch(size_t i, std::shared_ptr<ResponseStream> stream, uint32_t input_length) {
    {
      std::lock_guard lock(mutex_);
      streams_[i] = stream;
      input_length_ = input_length;
      if (answered_) {
        stream->Close();
        return;
      }
    }
    stream->SetNotify([self = shared_from_this(), i] { self->Drain(i); });
  }

  void ClientGone() {
    std::lock_guard lock(mutex_);
    answered_ = true;
    CloseStreams();
  }

 private:
  void CloseStreams() {
    for (auto& stream : streams_) {
      if (stream) stream->Close();
    }
  }

  void Drain(size_t i) {
    std::lock_guard lock(mutex_);
    if (answered_ || !streams_[i]) return;
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
        if (++finished_ == outputs_.size()) Answer();
        return;
      } else if (auto* error = std::get_if<ErrorEvent>(&*event)) {
        answered_ = true;
        CloseStreams();
        SendError(*responder_, GenerationError(error->message), options_.headers);
        return;
      }
    }
  }

  void Answer() {
    answered_ = true;
    for (GenerationOutput& output : outputs_) {
      const bool any_top = std::any_of(output.top_tokens.begin(), output.top_tokens.end(),
                                       [](const auto& top) { return !top.empty(); });
      if (!any_top) output.top_tokens.clear();
    }
    size_t best = 0;
    for (size_t i = 1; i < outputs_.size(); ++i) {
      if (MeanLogprob(outputs_[i]) > MeanLogprob(outputs_[best])) best = i;
    }
    std::vector<GenerationOutput> others;
    for (size_t i = 0; i < outputs_.size(); ++i) {
      if (i != best) others.push_back(outputs_[i]);
    }
    GenerateResponseOptions response_options{.details = options_.details,
                                             .prompt = options_.prompt};
    const std::vector<GenerationOutput>* best_of = outputs_.size() > 1 ? &others : nullptr;
    std::string body =
        options_.compat ? CompatGenerateResponseJson(outputs_[best], response_options, best_of)
                        : GenerateResponseJson(outputs_[best], response_options, best_of);

    const Clock::time_point now = Clock::now();
    const EndEvent& end = *ends_[best];
    const uint32_t generated = outputs_[best].generated_text.generated_tokens;
    const auto inference = now - end.start;
    Headers headers = With(options_.headers, {
        {"x-compute-type", options_.compute_type},
        {"x-compute-time", std::to_string(Seconds(now - options_.start))},
        {"x-compute-characters", std::to_string(options_.input_characters)},
        {"x-total-time", std::to_string(Millis(now - options_.start))},
        {"x-validation-time", std::to_string(Millis(end.queued - options_.start))},
        {"x-queue-time", std::to_string(Millis(end.start - end.queued))},
        {"x-inference-time", std::to_string(Millis(inference))},
        {"x-time-per-token", std::to_string(generated ? Millis(inference) / generated : 0)},
        {"x-prompt-tokens", std::to_string(input_length_)},
        {"x-generated-tokens", std::to_string(generated)},
    });
    responder_->Send(beast_http::status::ok, kJson, std::move(body), std::move(headers));
  }

  std::mutex mutex_;
  Options options_;
  std::shared_ptr<Responder> responder_;
  std::vector<std::shared_ptr<void>> permits_;  // held until this request is answered
  std::vector<GenerationOutput> outputs_;
  std::vector<std::optional<EndEvent>> ends_;
  std::vector<std::shared_ptr<ResponseStream>> streams_;
  size_t finished_ = 0;
  uint32_t input_length_ = 0;
  bool answered_ = false;
};

// Relays one streaming request's events as SSE frames.
class StreamRelay : public std::enable_shared_from_this<StreamRelay> {
 public:
  StreamRelay(std::shared_ptr<Responder> responder, bool details,
              std::optional<std::string> prompt)
      : responder_(std::move(responder)), details_(details), prompt_(std::move(prompt)) {}

  void Fail(const absl::Status& status) {
    std::lock_guard lock(mutex_);
    if (ended_) return;
    ended_ = true;
    responder_->SendEvent(StreamErrorJson(status));
    responder_->EndStream();
  }

  void Watch(std::shared_ptr<ResponseStream> stream, std::shared_ptr<void> permit) {
    {
      std::lock_guard lock(mutex_);
      stream_ = stream;
      permit_ = std::move(permit);
      if (ended_) {
        stream->Close();
        return;
      }
    }
    stream->SetNotify([self = shared_from_this()] { self->Drain(); });
  }

  void ClientGone() {
    std::lock_guard lock(mutex_);
    ended_ = true;
    if (stream_) stream_->Close();
    permit_.reset();
  }

 private:
  void Drain() {
    std::lock_guard lock(mutex_);
    if (ended_ || !stream_) return;
    while (std::optional<ResponseEvent> event = stream_->TryPop()) {
      if (auto* step = std::get_if<IntermediateEvent>(&*event)) {
        responder_->SendEvent(StreamTokenEventJson(++index_, step->token, step->top_tokens));
      } else if (auto* end = std::get_if<EndEvent>(&*event)) {
        responder_->SendEvent(StreamEndEventJson(++index_, *end, details_, prompt_));
        Finish();
        return;
      } else if (auto* error = std::get_if<ErrorEvent>(&*event)) {
        responder_->SendEvent(StreamErrorJson(GenerationError(error->message)));
        Finish();
        return;
      }
    }
  }

  void Finish() {
    ended_ = true;
    responder_->EndStream();
    permit_.reset();
  }

  std::mutex mutex_;
  std::shared_ptr<Responder> responder_;
  const bool details_;
  const std::optional<std::string> prompt_;
  std::shared_ptr<ResponseStream> stream_;
  std::shared_ptr<void> permit_;
  uint32_t index_ = 0;
  bool ended_ = false;
};

Routes::Routes(RoutesConfig config, Validation& validation, Scheduler& scheduler)
    : config_(std::move(config)), validation_(validation), scheduler_(scheduler) {}

Routes::~Routes() { blocking_.join(); }

std::shared_ptr<Routes::Permit> Routes::TryAcquirePermit() {
  if (permits_.fetch_add(1) >= config_.max_concurrent_requests) {
    --permits_;
    return nullptr;
  }
  return std::make_shared<Permit>(permits_);
}

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
  if (config_.api_key.empty()) return true;
  const std::optional<std::string_view> value =
      HeaderValue(request, beast_http::field::authorization);
  const std::string expected = "bearer " + config_.api_key;
  return value && value->size() == expected.size() &&
         std::equal(value->begin(), value->end(), expected.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) ==
                  std::tolower(static_cast<unsigned char>(b));
         });
}

void Routes::Handle(Request request, std::shared_ptr<Responder> responder) {
  std::string_view target(request.target().data(), request.target().size());
  target = target.substr(0, target.find('?'));
  const beast_http::verb method = request.method();
  Headers headers = CorsHeaders(request);

  if (method == beast_http::verb::options) {
    responder->Send(beast_http::status::ok, "text/plain", "",
                    With(headers, {{"access-control-allow-methods", "GET,POST"},
                                   {"access-control-allow-headers", "content-type"}}));
    return;
  }
  const bool get = method == beast_http::verb::get || method == beast_http::verb::head;
  const bool post = method == beast_http::verb::post;
  const bool generation_route = target == "/generate" || target == "/generate_stream" ||
                                target == "/tokenize" || (target == "/" && post);
  if (generation_route && post && !Authorized(request)) {
    responder->Send(beast_http::status::unauthorized, "text/plain", "", headers);
    return;
  }

  if (get && (target == "/" || target == "/health" || target == "/ping")) {
    Health(responder, headers);
  } else if (get && target == "/info") {
    responder->Send(beast_http::status::ok, kJson, InfoJson(config_.info), headers);
  } else if (get && target == "/api-doc/openapi.json") {
    responder->Send(beast_http::status::ok, kJson, std::string(OpenApiJson()), headers);
  } else if (get && target == "/docs") {
    responder->Send(beast_http::status::ok, "text/html; charset=utf-8", kDocsPage, headers);
  } else if (post && (target == "/generate" || target == "/")) {
    Generate(std::move(request), std::move(responder), /*compat=*/target == "/");
  } else if (post && target == "/generate_stream") {
    if (!IsJsonContentType(HeaderValue(request, beast_http::field::content_type))) {
      SendError(*responder, UnsupportedMediaTypeError(), headers);
      return;
    }
    absl::StatusOr<GenerateRequest> parsed = ParseGenerateRequest(request.body());
    if (!parsed.ok()) {
      SendError(*responder, parsed.status(), headers);
      return;
    }
    std::string prompt = parsed->inputs;
    const bool full_text = parsed->parameters.return_full_text.value_or(false);
    GenerateStream(std::move(*parsed), std::move(responder), full_text ? prompt : "", headers);
  } else if (post && target == "/tokenize") {
    Tokenize(std::move(request), std::move(responder), headers);
  } else if (target == "/" || target == "/health" || target == "/ping" || target == "/info" ||
             target == "/docs" || target == "/api-doc/openapi.json" || target == "/generate" ||
             target == "/generate_stream" || target == "/tokenize") {
    SendJsonError(*responder, beast_http::status::method_not_allowed, "Method Not Allowed",
                  "method_not_allowed", headers);
  } else {
    SendJsonError(*responder, beast_http::status::not_found, "Not Found", "not_found", headers);
  }
}

void Routes::Health(std::shared_ptr<Responder> responder, const Headers& headers) {
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

void Routes::Generate(Request request, std::shared_ptr<Responder> responder, bool compat) {
  const Clock::time_point start = Clock::now();
  const Headers headers = CorsHeaders(request);
  if (!IsJsonContentType(HeaderValue(request, beast_http::field::content_type))) {
    SendError(*responder, UnsupportedMediaTypeError(), headers);
    return;
  }
  GenerateRequest generate;
  if (compat) {
    absl::StatusOr<CompatGenerateRequest> parsed = ParseCompatGenerateRequest(request.body());
    if (!parsed.ok()) {
      SendError(*responder, parsed.status(), headers);
      return;
    }
    // POST / without a pipeline tag (none is known here) returns the full text by default.
    const bool full_text = parsed->request.parameters.return_full_text.value_or(true);
    if (parsed->stream) {
      std::string prompt = full_text ? parsed->request.inputs : "";
      GenerateStream(std::move(parsed->request), std::move(responder), std::move(prompt), headers);
      return;
    }
    parsed->request.parameters.return_full_text = full_text;
    generate = std::move(parsed->request);
  } else {
    absl::StatusOr<GenerateRequest> parsed = ParseGenerateRequest(request.body());
    if (!parsed.ok()) {
      SendError(*responder, parsed.status(), headers);
      return;
    }
    generate = std::move(*parsed);
  }

  size_t n = 1;
  if (generate.parameters.best_of.value_or(1) > 1) {
    absl::StatusOr<size_t> best_of =
        ValidateBestOf(*generate.parameters.best_of, validation_.config());
    if (!best_of.ok()) {
      SendError(*responder, best_of.status(), headers);
      return;
    }
    n = *best_of;
  }
  std::vector<std::shared_ptr<void>> permits;
  for (size_t i = 0; i < n; ++i) {
    std::shared_ptr<Permit> permit = TryAcquirePermit();
    if (permit == nullptr) {
      SendError(*responder, OverloadedError(), headers);
      return;
    }
    permits.push_back(std::move(permit));
  }

  Gather::Options options;
  options.compat = compat;
  options.details = generate.parameters.details || generate.parameters.decoder_input_details;
  if (generate.parameters.return_full_text.value_or(false)) options.prompt = generate.inputs;
  options.compute_type = config_.compute_type;
  options.input_characters = Utf8Chars(generate.inputs);
  options.start = start;
  options.headers = headers;
  auto gather = std::make_shared<Gather>(n, std::move(options), responder, std::move(permits));
  responder->OnClientGone([gather] { gather->ClientGone(); });

  validation_.Validate(std::move(generate), [this, gather, responder, headers,
                                             n](absl::StatusOr<ValidRequest> valid) {
    if (!valid.ok()) {
      gather->ClientGone();  // nothing to wait for
      SendError(*responder, valid.status(), headers);
      return;
    }
    const uint32_t input_length = valid->input_length;
    std::vector<ValidRequest> requests =
        n > 1 ? FanOutBestOf(*valid, n) : std::vector<ValidRequest>{std::move(*valid)};
    for (size_t i = 0; i < requests.size(); ++i) {
      gather->Watch(i, scheduler_.Submit(std::move(requests[i])), input_length);
    }
  });
}

void Routes::GenerateStream(GenerateRequest request, std::shared_ptr<Responder> responder,
                            std::string prompt_for_full_text, const Headers& headers) {
  responder->StartStream(
      With(headers, {{"x-compute-type", config_.compute_type},
                     {"x-compute-characters", std::to_string(Utf8Chars(request.inputs))},
                     {"x-accel-buffering", "no"}}));
  std::optional<std::string> prompt;
  if (!prompt_for_full_text.empty()) prompt = std::move(prompt_for_full_text);
  auto relay = std::make_shared<StreamRelay>(responder, request.parameters.details, prompt);
  responder->OnClientGone([relay] { relay->ClientGone(); });

  if (absl::Status status = CheckStreamParameters(request.parameters); !status.ok()) {
    relay->Fail(status);
    return;
  }
  std::shared_ptr<Permit> permit = TryAcquirePermit();
  if (permit == nullptr) {
    relay->Fail(OverloadedError());
    return;
  }
  validation_.Validate(std::move(request), [this, relay, permit = std::move(permit)](
                                               absl::StatusOr<ValidRequest> valid) mutable {
    if (!valid.ok()) {
      relay->Fail(valid.status());
      return;
    }
    relay->Watch(scheduler_.Submit(std::move(*valid)), std::move(permit));
  });
}

void Routes::Tokenize(Request request, std::shared_ptr<Responder> responder,
                      const Headers& headers) {
  if (!IsJsonContentType(HeaderValue(request, beast_http::field::content_type))) {
    SendError(*responder, UnsupportedMediaTypeError(), headers);
    return;
  }
  absl::StatusOr<GenerateRequest> parsed = ParseGenerateRequest(request.body());
  if (!parsed.ok()) {
    SendError(*responder, parsed.status(), headers);
    return;
  }
  std::string inputs = parsed->inputs;
  validation_.Tokenize(std::move(parsed->inputs), [responder, headers, inputs = std::move(inputs)](
                                                      absl::StatusOr<std::vector<TokenOffsets>> tokens) {
    if (!tokens.ok()) {
      SendError(*responder, tokens.status(), headers);
      return;
    }
    responder->Send(beast_http::status::ok, kJson, TokenizeResponseJson(inputs, *tokens), headers);
  });
}

}  // namespace tgi::router::http
