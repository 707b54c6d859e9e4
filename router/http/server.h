// The router's HTTP/1.1 server on Boost.Beast: accepts connections, parses requests with a body
// limit (413 without buffering an oversized body), keeps connections alive, and hands each request
// to a handler with a Responder that sends one response or a server-sent-event stream, and that
// reports when the client goes away. Knows nothing of routes, JSON or generation.
#pragma once

#include <boost/asio.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace tgi::router::http {

namespace beast_http = boost::beast::http;

using Request = beast_http::request<beast_http::string_body>;
using Headers = std::vector<std::pair<std::string, std::string>>;

// Sends the answer to one request. Every method may be called from any thread; the work is posted
// to the connection's strand. Exactly one of Send or StartStream (then events, then EndStream).
class Responder {
 public:
  virtual ~Responder() = default;
  virtual void Send(beast_http::status status, std::string content_type, std::string body,
                    Headers headers = {}) = 0;
  // 200 text/event-stream; a ":\n\n" keep-alive comment goes out after 15 s without an event
  // (ServerOptions::stream_keep_alive).
  virtual void StartStream(Headers headers = {}) = 0;
  // One "data:<payload>\n\n" frame.
  virtual void SendEvent(std::string payload) = 0;
  virtual void EndStream() = 0;
  // Called once, on the connection's strand, if the client disconnects before the response is
  // complete (the cancellation signal). Set it before a long wait.
  virtual void OnClientGone(std::function<void()> callback) = 0;
  // Runs `work` on the connection's strand, after everything posted before it: where response
  // bodies are built, never on a scheduler or tokenizer thread.
  virtual void Post(std::function<void()> work) = 0;
};

using Handler = std::function<void(Request request, std::shared_ptr<Responder> responder)>;

struct ServerOptions {
  std::string hostname = "0.0.0.0";
  uint16_t port = 3000;
  uint64_t payload_limit = 2'000'000;  // bytes of request body
  // The request line and header fields together, and the number of fields: past either, or past
  // 65,000 bytes in one line (Beast's field limit), the answer is 431 with a JSON error body.
  // A 64,000-byte cookie fits, as it does in hyper (TGI's HTTP stack).
  uint32_t header_limit = 80 * 1024;
  uint32_t max_header_fields = 100;
  int threads = 2;                     // I/O threads
  // A ":" comment frame keeps a quiet event stream alive after this long without an event.
  std::chrono::milliseconds stream_keep_alive{15'000};
  // Once a request's first byte is in, its header and body must all arrive within this (a
  // slowloris client is closed); a kept-alive connection waits this long for its next request.
  // Neither bounds the time a response takes.
  std::chrono::milliseconds request_timeout{10'000};
  std::chrono::milliseconds idle_timeout{75'000};
  // A write the client does not take within this long closes the connection (a client that
  // stops reading a stream is dropped and its request cancelled, instead of queueing events).
  std::chrono::milliseconds write_timeout{30'000};
};

class Server {
 public:
  Server(ServerOptions options, Handler handler);
  ~Server();

  // Binds and listens; fails with a message when the address is taken or invalid.
  void Start();
  // The port actually bound (useful with port 0).
  uint16_t port() const;
  // Closes the listening socket; requests already read go on.
  void StopAccepting();
  // Waits up to `timeout` for every request in flight to finish; true when none is left.
  bool WaitIdle(std::chrono::milliseconds timeout);
  // StopAccepting, WaitIdle(grace), then stops the I/O threads (connections still open are
  // dropped). Idempotent.
  void Stop(std::chrono::milliseconds grace);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tgi::router::http
