// One streaming generation over HTTP/1.1 (Boost.Beast, blocking, a connection per request):
// POST a JSON body, read the text/event-stream answer as it arrives and time every token event.
// Speaks TGI's /generate_stream and the OpenAI /v1/completions stream (llama.cpp's llama-server,
// vLLM). Classifies every failure; never throws.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tgi::benchmark {

using Clock = std::chrono::steady_clock;

struct Endpoint {
  std::string host;
  std::string port;
};

// "http://host[:port][/]" (port 80 by default). https is refused.
absl::StatusOr<Endpoint> ParseHttpUrl(const std::string& url);

enum class Api { kTgi, kOpenAi };
absl::StatusOr<Api> ParseApi(const std::string& name);  // "tgi" or "openai"
// The route a generation goes to: /generate_stream or /v1/completions.
const char* StreamRoute(Api api);

struct StreamOutcome {
  enum class Error { kNone, kHttpStatus, kSseError, kConnection, kIncomplete };
  Error error = Error::kNone;
  // What the error report groups by: "HTTP 429", "SSE error: overloaded",
  // "connection: Connection refused", "incomplete: stream ended before the final event".
  std::string error_kind;
  std::string error_message;  // the server's message or the socket error, for the first of a kind
  Clock::time_point sent;     // just before the request was written
  std::vector<Clock::time_point> token_times;  // when each token event arrived
  std::optional<uint32_t> reported_tokens;     // details.generated_tokens / usage.completion_tokens
  Clock::time_point finished;

  bool ok() const { return error == Error::kNone; }
};

// What one event's data says, for `api`: a token, the final event, an error event.
struct StreamEvent {
  bool token = false;
  bool final = false;
  std::optional<uint32_t> reported_tokens;
  std::optional<std::string> error_type;  // set for an error event (or unparsable data)
  std::string error_message;
};
StreamEvent InterpretEvent(Api api, const std::string& data);

StreamOutcome StreamGeneration(const Endpoint& endpoint, Api api, const std::string& body,
                               std::chrono::seconds timeout);

// The status of GET `target`; an error when nothing answers within `timeout`.
absl::StatusOr<int> HttpGetStatus(const Endpoint& endpoint, const std::string& target,
                                  std::chrono::milliseconds timeout);

}  // namespace tgi::benchmark
