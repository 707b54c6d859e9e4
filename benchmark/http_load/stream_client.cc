#include "benchmark/http_load/stream_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "absl/strings/str_cat.h"
#include "benchmark/http_load/sse_parser.h"

namespace tgi::benchmark {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;

std::optional<uint32_t> UintAt(const json::object& object, const char* outer, const char* inner) {
  const json::value* value = object.if_contains(outer);
  if (!value || !value->is_object()) return std::nullopt;
  const json::value* field = value->as_object().if_contains(inner);
  if (!field || !field->is_number()) return std::nullopt;
  return field->to_number<uint32_t>();
}

StreamEvent ErrorEvent(const json::object& event) {
  StreamEvent meaning;
  const json::value& error = event.at("error");
  if (error.is_string()) {
    meaning.error_message = std::string(error.as_string());
  } else if (error.is_object() && error.as_object().contains("message") &&
             error.as_object().at("message").is_string()) {
    meaning.error_message = std::string(error.as_object().at("message").as_string());
  } else {
    meaning.error_message = json::serialize(error);
  }
  const json::value* type = event.if_contains("error_type");
  if (!type && error.is_object()) type = error.as_object().if_contains("type");
  meaning.error_type = type && type->is_string() ? std::string(type->as_string()) : "unknown";
  return meaning;
}

void SetError(StreamOutcome& outcome, StreamOutcome::Error error, std::string kind,
              std::string message) {
  outcome.error = error;
  outcome.error_kind = std::move(kind);
  outcome.error_message = std::move(message);
}

// Reads the event stream until it ends or fails, filling `outcome`.
void ReadEvents(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                http::response_parser<http::buffer_body>& parser, Api api,
                StreamOutcome& outcome) {
  SseParser sse;
  bool final_seen = false;
  char chunk[8192];
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof(chunk);
    beast::error_code error;
    // read_some: return with whatever has arrived, so that each token is timed when it comes.
    http::read_some(stream, buffer, parser, error);
    if (error == http::error::need_buffer) error = {};
    if (error) {
      SetError(outcome, StreamOutcome::Error::kConnection, "connection: " + error.message(),
               error.message());
      return;
    }
    const size_t received = sizeof(chunk) - parser.get().body().size;
    const Clock::time_point now = Clock::now();
    for (const std::string& data : sse.Feed(std::string_view(chunk, received))) {
      const StreamEvent meaning = InterpretEvent(api, data);
      if (meaning.error_type) {
        SetError(outcome, StreamOutcome::Error::kSseError, "SSE error: " + *meaning.error_type,
                 meaning.error_message);
        return;
      }
      if (meaning.token) outcome.token_times.push_back(now);
      if (meaning.reported_tokens) outcome.reported_tokens = meaning.reported_tokens;
      final_seen = final_seen || meaning.final;
    }
  }
  if (!final_seen) {
    SetError(outcome, StreamOutcome::Error::kIncomplete,
             "incomplete: stream ended before the final event", "");
  }
}

http::request<http::string_body> PostRequest(const Endpoint& endpoint, Api api,
                                             const std::string& body) {
  http::request<http::string_body> request{http::verb::post, StreamRoute(api), 11};
  request.set(http::field::host, endpoint.host + ":" + endpoint.port);
  request.set(http::field::content_type, "application/json");
  request.set(http::field::accept, "text/event-stream");
  request.set(http::field::connection, "close");
  request.body() = body;
  request.prepare_payload();
  return request;
}

}  // namespace

StreamEvent InterpretEvent(Api api, const std::string& data) {
  StreamEvent meaning;
  if (api == Api::kOpenAi && data == "[DONE]") {
    meaning.final = true;
    return meaning;
  }
  boost::system::error_code parse_error;
  json::value parsed = json::parse(data, parse_error);
  if (parse_error || !parsed.is_object()) {
    meaning.error_type = "unparsable event";
    meaning.error_message = data.substr(0, 200);
    return meaning;
  }
  const json::object& event = parsed.as_object();
  if (event.contains("error")) return ErrorEvent(event);
  if (api == Api::kTgi) {
    meaning.token = event.contains("token");
    const json::value* text = event.if_contains("generated_text");
    meaning.final = text && !text->is_null();
    meaning.reported_tokens = UintAt(event, "details", "generated_tokens");
    return meaning;
  }
  meaning.reported_tokens = UintAt(event, "usage", "completion_tokens");
  const json::value* choices = event.if_contains("choices");
  if (choices && choices->is_array() && !choices->as_array().empty() &&
      choices->as_array()[0].is_object()) {
    const json::object& choice = choices->as_array()[0].as_object();
    const json::value* text = choice.if_contains("text");
    const json::value* finish = choice.if_contains("finish_reason");
    const bool has_text = text && text->is_string() && !text->as_string().empty();
    // A closing chunk with no text only carries the finish reason.
    meaning.token = has_text || !finish || finish->is_null();
  }
  return meaning;
}

absl::StatusOr<Endpoint> ParseHttpUrl(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  if (!std::string_view(url).starts_with(kScheme)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--url must start with http:// (got `", url, "`)"));
  }
  std::string rest = url.substr(kScheme.size());
  if (const size_t slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  Endpoint endpoint{rest, "80"};
  if (const size_t colon = rest.rfind(':'); colon != std::string::npos && rest.back() != ']') {
    endpoint.host = rest.substr(0, colon);
    endpoint.port = rest.substr(colon + 1);
  }
  if (endpoint.host.size() > 2 && endpoint.host.front() == '[') {
    endpoint.host = endpoint.host.substr(1, endpoint.host.size() - 2);
  }
  if (endpoint.host.empty() || endpoint.port.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("no host in --url `", url, "`"));
  }
  return endpoint;
}

absl::StatusOr<Api> ParseApi(const std::string& name) {
  if (name == "tgi") return Api::kTgi;
  if (name == "openai") return Api::kOpenAi;
  return absl::InvalidArgumentError(absl::StrCat("--api must be tgi or openai (got ", name, ")"));
}

const char* StreamRoute(Api api) {
  return api == Api::kTgi ? "/generate_stream" : "/v1/completions";
}

StreamOutcome StreamGeneration(const Endpoint& endpoint, Api api, const std::string& body,
                               std::chrono::seconds timeout) {
  StreamOutcome outcome;
  asio::io_context context;
  beast::tcp_stream stream(context);
  beast::error_code error;
  outcome.sent = Clock::now();
  const auto resolved = asio::ip::tcp::resolver(context).resolve(endpoint.host, endpoint.port, error);
  stream.expires_after(timeout);
  if (!error) stream.connect(resolved, error);
  const http::request<http::string_body> request = PostRequest(endpoint, api, body);
  if (!error) http::write(stream, request, error);
  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  if (!error) http::read_header(stream, buffer, parser, error);
  if (error) {
    SetError(outcome, StreamOutcome::Error::kConnection, "connection: " + error.message(),
             error.message());
  } else if (parser.get().result_int() != 200) {
    http::response_parser<http::string_body> body_parser(std::move(parser));
    http::read(stream, buffer, body_parser, error);
    SetError(outcome, StreamOutcome::Error::kHttpStatus,
             absl::StrCat("HTTP ", body_parser.get().result_int()),
             body_parser.get().body().substr(0, 300));
  } else {
    ReadEvents(stream, buffer, parser, api, outcome);
  }
  outcome.finished = Clock::now();
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, error);
  return outcome;
}

absl::StatusOr<int> HttpGetStatus(const Endpoint& endpoint, const std::string& target,
                                  std::chrono::milliseconds timeout) {
  asio::io_context context;
  beast::tcp_stream stream(context);
  beast::error_code error;
  const auto resolved = asio::ip::tcp::resolver(context).resolve(endpoint.host, endpoint.port, error);
  stream.expires_after(timeout);
  if (!error) stream.connect(resolved, error);
  http::request<http::empty_body> request{http::verb::get, target, 11};
  request.set(http::field::host, endpoint.host + ":" + endpoint.port);
  request.set(http::field::connection, "close");
  if (!error) http::write(stream, request, error);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  if (!error) http::read(stream, buffer, response, error);
  if (error) return absl::UnavailableError(error.message());
  return response.result_int();
}

}  // namespace tgi::benchmark
