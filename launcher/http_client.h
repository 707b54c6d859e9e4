// A small blocking HTTP(S) GET client on Boost.Beast and Asio SSL (OpenSSL): redirects, custom
// headers, streamed bodies, per-operation timeouts and cancellation from another thread. One
// connection per request. It knows nothing about the hub; it never runs an external program.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace tgi::launcher {

struct Url {
  std::string scheme;  // http or https
  std::string host;    // without brackets for IPv6
  std::string port;
  std::string target;  // path and query, at least "/"
  std::string HostHeader() const;
  std::string ToString() const;
};

absl::StatusOr<Url> ParseUrl(const std::string& text);
// `location` (absolute, scheme-relative, absolute-path or relative) against `base`.
absl::StatusOr<Url> ResolveRedirect(const Url& base, const std::string& location);

struct HttpResponse {
  int status = 0;
  std::optional<uint64_t> content_length;
  std::string content_range;
  std::string url;         // after redirects
  std::string error_body;  // the first 4 KiB of a >= 400 response's body
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;
// Called once with the final response's head (status < 400); an error aborts the transfer.
using HeadHandler = std::function<absl::Status(const HttpResponse&)>;
// Called with each chunk of the final response's body (status < 400).
using BodyHandler = std::function<absl::Status(std::string_view)>;

struct HttpClientOptions {
  std::chrono::seconds connect_timeout{30};
  std::chrono::seconds read_timeout{60};  // per read, not per transfer
  int max_redirects = 10;
  std::string user_agent = "tgi-cpp-launcher/0.1";
  // Checked every 100 ms; when it becomes true the transfer stops with kCancelled.
  const std::atomic<bool>* stop = nullptr;
};

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options) : options_(std::move(options)) {}

  // GET `url` following redirects. `authorization` is sent only to the first URL's host.
  // Network failures (DNS, connect, TLS, timeouts, a connection closed mid-body) are kUnavailable;
  // an HTTP error status is a response with that status, not an error.
  absl::StatusOr<HttpResponse> Get(const std::string& url, const HttpHeaders& headers,
                                   const std::optional<std::string>& authorization,
                                   const HeadHandler& on_head, const BodyHandler& on_body);

  // GET into a string of at most `max_bytes`.
  absl::StatusOr<std::pair<HttpResponse, std::string>> GetString(
      const std::string& url, const std::optional<std::string>& authorization,
      size_t max_bytes = 16 << 20);

 private:
  HttpClientOptions options_;
};

}  // namespace tgi::launcher
