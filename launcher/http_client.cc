#include "launcher/http_client.h"

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace tgi::launcher {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;

bool IsRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// Runs one asynchronous operation at a time to completion on `ioc`, with the stream's timeout,
// and cancels it when the stop flag is raised.
class Runner {
 public:
  Runner(asio::io_context& ioc, beast::tcp_stream& tcp, const std::atomic<bool>* stop)
      : ioc_(ioc), tcp_(tcp), stop_(stop) {}

  template <typename Start>
  beast::error_code Run(std::chrono::seconds timeout, Start&& start) {
    bool done = false;
    beast::error_code result;
    tcp_.expires_after(timeout);
    start([&done, &result](beast::error_code ec, auto&&...) {
      result = ec;
      done = true;
    });
    ioc_.restart();
    bool cancelled = false;
    while (!done) {
      ioc_.run_for(std::chrono::milliseconds(100));
      if (!done && !cancelled && stop_ != nullptr && stop_->load()) {
        tcp_.cancel();
        cancelled = true;
        stopped_ = true;
      }
    }
    return result;
  }
  bool stopped() const { return stopped_; }

 private:
  asio::io_context& ioc_;
  beast::tcp_stream& tcp_;
  const std::atomic<bool>* stop_;
  bool stopped_ = false;
};

absl::Status NetworkError(const Runner& runner, const Url& url, const std::string& what,
                          const beast::error_code& ec) {
  if (runner.stopped()) return absl::CancelledError("download stopped");
  return absl::UnavailableError(absl::StrCat(what, " ", url.ToString(), ": ", ec.message()));
}

struct Exchange {
  HttpResponse response;
  std::string location;  // set for a redirect
};

// Sends the request and reads the response on an established stream (plain or TLS).
template <typename Stream>
absl::StatusOr<Exchange> SendAndReceive(Stream& stream, Runner& runner,
                                        const HttpClientOptions& options, const Url& url,
                                        const HttpHeaders& headers,
                                        const std::optional<std::string>& authorization,
                                        const HeadHandler& on_head, const BodyHandler& on_body) {
  http::request<http::empty_body> request{http::verb::get, url.target, 11};
  request.set(http::field::host, url.HostHeader());
  request.set(http::field::user_agent, options.user_agent);
  request.set(http::field::accept, "*/*");
  request.set(http::field::accept_encoding, "identity");
  request.set(http::field::connection, "close");
  for (const auto& [name, value] : headers) request.set(name, value);
  if (authorization) request.set(http::field::authorization, "Bearer " + *authorization);

  beast::error_code ec = runner.Run(options.read_timeout, [&](auto handler) {
    http::async_write(stream, request, std::move(handler));
  });
  if (ec) return NetworkError(runner, url, "sending the request to", ec);

  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  ec = runner.Run(options.read_timeout, [&](auto handler) {
    http::async_read_header(stream, buffer, parser, std::move(handler));
  });
  if (ec) return NetworkError(runner, url, "reading the response of", ec);

  Exchange exchange;
  HttpResponse& response = exchange.response;
  response.status = static_cast<int>(parser.get().result_int());
  response.url = url.ToString();
  if (parser.content_length()) response.content_length = *parser.content_length();
  response.content_range = std::string(parser.get()[http::field::content_range]);
  if (IsRedirect(response.status)) {
    exchange.location = std::string(parser.get()[http::field::location]);
    return exchange;
  }
  if (response.status < 400 && on_head) {
    if (absl::Status status = on_head(response); !status.ok()) return status;
  }

  std::array<char, 64 * 1024> chunk;
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    ec = runner.Run(options.read_timeout, [&](auto handler) {
      http::async_read(stream, buffer, parser, std::move(handler));
    });
    if (ec == http::error::need_buffer) ec = {};
    const size_t received = chunk.size() - parser.get().body().size;
    if (received > 0) {
      const std::string_view data(chunk.data(), received);
      if (response.status >= 400) {
        const size_t room = 4096 - std::min<size_t>(4096, response.error_body.size());
        response.error_body.append(data.substr(0, room));
      } else if (on_body) {
        if (absl::Status status = on_body(data); !status.ok()) return status;
      }
    }
    if (ec) return NetworkError(runner, url, "reading the body of", ec);
  }
  return exchange;
}

absl::StatusOr<Exchange> GetOnce(const HttpClientOptions& options, const Url& url,
                                 const HttpHeaders& headers,
                                 const std::optional<std::string>& authorization,
                                 const HeadHandler& on_head, const BodyHandler& on_body) {
  asio::io_context ioc;
  asio::ip::tcp::resolver resolver(ioc);
  beast::error_code ec;
  auto endpoints = resolver.resolve(url.host, url.port, ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat("cannot resolve ", url.host, ": ", ec.message()));
  }
  if (url.scheme == "http") {
    beast::tcp_stream stream(ioc);
    Runner runner(ioc, stream, options.stop);
    ec = runner.Run(options.connect_timeout,
                    [&](auto handler) { stream.async_connect(endpoints, std::move(handler)); });
    if (ec) return NetworkError(runner, url, "cannot connect to", ec);
    return SendAndReceive(stream, runner, options, url, headers, authorization, on_head, on_body);
  }
  ssl::context context(ssl::context::tls_client);
  context.set_default_verify_paths();
  context.set_verify_mode(ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream(ioc, context);
  if (!SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str())) {
    return absl::UnavailableError(absl::StrCat("cannot set the TLS server name ", url.host));
  }
  stream.set_verify_callback(ssl::host_name_verification(url.host));
  beast::tcp_stream& tcp = beast::get_lowest_layer(stream);
  Runner runner(ioc, tcp, options.stop);
  ec = runner.Run(options.connect_timeout,
                  [&](auto handler) { tcp.async_connect(endpoints, std::move(handler)); });
  if (ec) return NetworkError(runner, url, "cannot connect to", ec);
  ec = runner.Run(options.connect_timeout, [&](auto handler) {
    stream.async_handshake(ssl::stream_base::client, std::move(handler));
  });
  if (ec) return NetworkError(runner, url, "TLS handshake with", ec);
  return SendAndReceive(stream, runner, options, url, headers, authorization, on_head, on_body);
}

bool SameOrigin(const Url& a, const Url& b) {
  return a.scheme == b.scheme && absl::AsciiStrToLower(a.host) == absl::AsciiStrToLower(b.host) &&
         a.port == b.port;
}

}  // namespace

std::string Url::HostHeader() const {
  const std::string bracketed = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  const bool default_port =
      (scheme == "http" && port == "80") || (scheme == "https" && port == "443");
  return default_port ? bracketed : bracketed + ":" + port;
}

std::string Url::ToString() const { return scheme + "://" + HostHeader() + target; }

absl::StatusOr<Url> ParseUrl(const std::string& text) {
  const size_t scheme_end = text.find("://");
  if (scheme_end == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("not an absolute URL: ", text));
  }
  Url url;
  url.scheme = absl::AsciiStrToLower(text.substr(0, scheme_end));
  if (url.scheme != "http" && url.scheme != "https") {
    return absl::InvalidArgumentError(absl::StrCat("unsupported URL scheme: ", text));
  }
  const std::string rest = text.substr(scheme_end + 3);
  const size_t authority_end = rest.find_first_of("/?#");
  const std::string authority = rest.substr(0, authority_end);
  std::string target = authority_end == std::string::npos ? "/" : rest.substr(authority_end);
  if (const size_t hash = target.find('#'); hash != std::string::npos) target.resize(hash);
  if (target.empty() || target[0] != '/') target = "/" + target;
  url.target = target;
  if (authority.empty() || authority.find('@') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported URL authority: ", text));
  }
  url.port = url.scheme == "https" ? "443" : "80";
  if (authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string::npos) return absl::InvalidArgumentError("bad IPv6 host in " + text);
    url.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return absl::InvalidArgumentError("bad port in " + text);
      url.port = authority.substr(close + 2);
    }
  } else {
    const size_t colon = authority.rfind(':');
    url.host = authority.substr(0, colon);
    if (colon != std::string::npos) url.port = authority.substr(colon + 1);
  }
  if (url.host.empty() || url.port.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("bad URL: ", text));
  }
  for (char c : url.port) {
    if (!absl::ascii_isdigit(c)) return absl::InvalidArgumentError("bad port in " + text);
  }
  return url;
}

absl::StatusOr<Url> ResolveRedirect(const Url& base, const std::string& location) {
  if (location.empty()) return absl::InvalidArgumentError("redirect without a Location");
  if (location.find("://") != std::string::npos) return ParseUrl(location);
  if (absl::StartsWith(location, "//")) return ParseUrl(base.scheme + ":" + location);
  Url url = base;
  if (location[0] == '/') {
    url.target = location;
  } else {
    std::string path = base.target.substr(0, base.target.find('?'));
    url.target = path.substr(0, path.rfind('/') + 1) + location;
  }
  return url;
}

absl::StatusOr<HttpResponse> HttpClient::Get(const std::string& url_text,
                                             const HttpHeaders& headers,
                                             const std::optional<std::string>& authorization,
                                             const HeadHandler& on_head,
                                             const BodyHandler& on_body) {
  absl::StatusOr<Url> first = ParseUrl(url_text);
  if (!first.ok()) return first.status();
  Url url = *first;
  for (int hop = 0; hop <= options_.max_redirects; ++hop) {
    // The token goes only to the host it was meant for, never to a CDN we are redirected to.
    const std::optional<std::string> auth =
        SameOrigin(url, *first) ? authorization : std::optional<std::string>();
    absl::StatusOr<Exchange> exchange = GetOnce(options_, url, headers, auth, on_head, on_body);
    if (!exchange.ok()) return exchange.status();
    if (exchange->location.empty()) return exchange->response;
    absl::StatusOr<Url> next = ResolveRedirect(url, exchange->location);
    if (!next.ok()) return next.status();
    url = *next;
  }
  return absl::UnavailableError(
      absl::StrCat("more than ", options_.max_redirects, " redirects from ", url_text));
}

absl::StatusOr<std::pair<HttpResponse, std::string>> HttpClient::GetString(
    const std::string& url, const std::optional<std::string>& authorization, size_t max_bytes) {
  std::string body;
  absl::StatusOr<HttpResponse> response =
      Get(url, {}, authorization, nullptr, [&](std::string_view chunk) {
        if (body.size() + chunk.size() > max_bytes) {
          return absl::ResourceExhaustedError(
              absl::StrCat(url, " returned more than ", max_bytes, " bytes"));
        }
        body.append(chunk);
        return absl::OkStatus();
      });
  if (!response.ok()) return response.status();
  return std::make_pair(*response, std::move(body));
}

}  // namespace tgi::launcher
