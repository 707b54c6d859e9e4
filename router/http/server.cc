#include "router/http/server.h"

#include <boost/beast/core.hpp>
#include <spdlog/spdlog.h>

#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <deque>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace tgi::router::http {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

namespace {

constexpr std::chrono::seconds kLinger{2};
// Beast stores a field's name and value in at most 65535 bytes (and throws past that).
constexpr size_t kMaxLineBytes = 65'000;
constexpr size_t kLingerBytes = 64 << 20;

std::string ChunkOf(std::string_view data) {
  std::ostringstream chunk;
  chunk << std::hex << data.size() << "\r\n" << data << "\r\n";
  return chunk.str();
}

}  // namespace

// One connection: reads requests one after another, writes their responses in order.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const Handler& handler, const ServerOptions& options,
          std::atomic<int>& in_flight)
      : stream_(std::move(socket)),
        strand_(stream_.get_executor()),
        keep_alive_timer_(strand_),
        handler_(handler),
        options_(options),
        in_flight_(in_flight) {}
  ~Session() { EndRequest(); }

  void Start() {
    net::dispatch(strand_, [self = shared_from_this()] { self->ReadRequest(); });
  }

  // --- called on the strand by the Responder ---
  void Send(beast_http::status status, std::string content_type, std::string body,
            const Headers& headers) {
    if (responded_ || closed_) return;
    responded_ = true;
    beast_http::response<beast_http::string_body> response{status, 11};
    response.set(beast_http::field::content_type, content_type);
    AddCommonHeaders(response, headers);
    response.keep_alive(keep_alive_);
    response.body() = std::move(body);
    response.prepare_payload();
    std::ostringstream bytes;
    bytes << response;
    Enqueue(bytes.str());
    response_complete_ = true;
    MaybeFinish();
  }

  void StartStream(const Headers& headers) {
    if (responded_ || closed_) return;
    responded_ = true;
    streaming_ = true;
    beast_http::response<beast_http::empty_body> response{beast_http::status::ok, 11};
    response.set(beast_http::field::content_type, "text/event-stream");
    response.set(beast_http::field::cache_control, "no-cache");
    AddCommonHeaders(response, headers);
    response.keep_alive(keep_alive_);
    response.chunked(true);
    std::ostringstream bytes;
    bytes << response.base();
    Enqueue(bytes.str());
    ArmKeepAlive();
  }

  void SendEvent(const std::string& payload) {
    if (!streaming_ || response_complete_ || closed_) return;
    Enqueue(ChunkOf("data:" + payload + "\n\n"));
    ArmKeepAlive();
  }

  void EndStream() {
    if (!streaming_ || response_complete_ || closed_) return;
    keep_alive_timer_.cancel();
    Enqueue("0\r\n\r\n");
    response_complete_ = true;
    MaybeFinish();
  }

  void OnClientGone(std::function<void()> callback) {
    if (closed_) {
      if (callback) callback();
      return;
    }
    on_gone_ = std::move(callback);
  }

  net::strand<net::any_io_executor>& strand() { return strand_; }

 private:
  template <typename Message>
  void AddCommonHeaders(Message& response, const Headers& headers) {
    for (const auto& [name, value] : headers) response.set(name, value);
  }

  // First the header block alone, bounded by header_limit, so that its size, its field count and
  // each line's length are checked before Beast parses it (Beast throws on a field over 64 KiB).
  void ReadRequest() {
    responded_ = streaming_ = response_complete_ = false;
    on_gone_ = nullptr;
    // Idle until the request's first byte (already here when the client pipelined it).
    stream_.expires_after(buffer_.size() == 0 ? options_.idle_timeout : options_.request_timeout);
    ReadHeaderBlock();
  }

  void ReadHeaderBlock() {
    const std::string_view data(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    if (const size_t end = data.find("\r\n\r\n"); end != std::string_view::npos) {
      OnHeaderBlock(end + 4);
      return;
    }
    if (buffer_.size() >= options_.header_limit) {
      RefuseHeaders();
      return;
    }
    stream_.async_read_some(
        buffer_.prepare(options_.header_limit - buffer_.size()),
        net::bind_executor(strand_, [self = shared_from_this()](beast::error_code ec, size_t n) {
          if (ec) {
            self->OnRead(ec);
            return;
          }
          if (self->buffer_.size() == 0) {
            self->stream_.expires_after(self->options_.request_timeout);
          }
          self->buffer_.commit(n);
          self->ReadHeaderBlock();
        }));
  }

  void OnHeaderBlock(size_t header_size) {
    if (!HeaderBlockFits(header_size)) {
      RefuseHeaders();
      return;
    }
    parser_.emplace();
    parser_->body_limit(options_.payload_limit);
    parser_->header_limit(options_.header_limit);
    beast_http::async_read(stream_, buffer_, *parser_,
                           net::bind_executor(strand_, [self = shared_from_this()](
                                                           beast::error_code ec, size_t) {
                             self->OnRead(ec);
                           }));
  }

  // At most max_header_fields fields, and no line longer than Beast can store.
  bool HeaderBlockFits(size_t header_size) const {
    std::string_view block(static_cast<const char*>(buffer_.data().data()), header_size);
    size_t lines = 0;
    for (size_t start = 0; start < block.size();) {
      size_t end = block.find("\r\n", start);
      if (end == std::string_view::npos) end = block.size();
      if (end - start > kMaxLineBytes) return false;
      if (end > start) ++lines;
      start = end + 2;
    }
    return lines <= options_.max_header_fields + 1;  // the request line, then the fields
  }

  void RefuseHeaders() {
    keep_alive_ = false;
    Send(beast_http::status::request_header_fields_too_large, "application/json",
         "{\"error\":\"Request header fields too large\",\"error_type\":\"header_too_large\"}",
         {});
  }

  void OnRead(beast::error_code ec) {
    if (ec == beast_http::error::body_limit) {
      // Answer without reading the rest of the body, then close.
      keep_alive_ = false;
      Send(beast_http::status::payload_too_large, "text/plain; charset=utf-8",
           "Failed to buffer the request body: length limit exceeded", {});
      return;
    }
    if (ec == beast_http::error::header_limit) {
      RefuseHeaders();
      return;
    }
    if (ec) {
      if (ec != beast_http::error::end_of_stream) spdlog::debug("closing connection: {}", ec.message());
      Close();
      return;
    }
    // The request is in; the response takes as long as generation does.
    stream_.expires_never();
    Request request = parser_->release();
    keep_alive_ = request.keep_alive();
    ++in_flight_;
    counted_ = true;
    WatchForDisconnect();
    auto responder = MakeResponder();
    try {
      handler_(std::move(request), std::move(responder));
    } catch (const std::exception& error) {
      spdlog::error("HTTP handler failed: {}", error.what());
      Send(beast_http::status::internal_server_error, "text/plain; charset=utf-8",
           "Internal server error", {});
    }
  }

  std::shared_ptr<Responder> MakeResponder();

  // While a response is pending, watches the socket for the peer closing it (cancellation).
  void WatchForDisconnect() {
    const uint64_t generation = ++watch_generation_;
    stream_.socket().async_wait(
        tcp::socket::wait_read,
        net::bind_executor(strand_, [self = shared_from_this(), generation](beast::error_code ec) {
          if (ec || generation != self->watch_generation_ || self->response_complete_) return;
          // Readiness can be stale (the request's own bytes, already read); only a peek tells
          // a closed peer (0 bytes) from a live one (nothing yet) or a pipelined request.
          char byte;
          const ssize_t peeked = ::recv(self->stream_.socket().native_handle(), &byte, 1,
                                        MSG_PEEK | MSG_DONTWAIT);
          if (peeked < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            self->WatchForDisconnect();
          } else if (peeked <= 0) {
            spdlog::debug("client gone while its response is pending");
            self->Close();
          }
          // Otherwise the client pipelined its next request; it is read after this response.
        }));
  }

  void ArmKeepAlive() {
    keep_alive_timer_.expires_after(options_.stream_keep_alive);
    keep_alive_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->response_complete_ || self->closed_) return;
      self->Enqueue(ChunkOf(":\n\n"));
      self->ArmKeepAlive();
    });
  }

  void Enqueue(std::string bytes) {
    writes_.push_back(std::move(bytes));
    if (!writing_) WriteNext();
  }

  void WriteNext() {
    if (writes_.empty() || closed_) {
      writing_ = false;
      MaybeFinish();
      return;
    }
    writing_ = true;
    stream_.expires_after(options_.write_timeout);
    net::async_write(stream_, net::buffer(writes_.front()),
                     net::bind_executor(strand_, [self = shared_from_this()](beast::error_code ec,
                                                                             size_t) {
                       if (ec) {
                         self->Close();
                         return;
                       }
                       self->writes_.pop_front();
                       self->WriteNext();
                     }));
  }

  // A request is in flight from its parse to the last byte of its response (or the close).
  void EndRequest() {
    if (counted_) --in_flight_;
    counted_ = false;
  }

  // After the last byte of a complete response: the next request, or close.
  void MaybeFinish() {
    if (!response_complete_ || writing_ || !writes_.empty() || closed_) return;
    EndRequest();
    ++watch_generation_;
    if (!keep_alive_) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      LingerThenClose();
      return;
    }
    beast::error_code ignored;
    stream_.socket().cancel(ignored);  // the disconnect watch
    ReadRequest();
  }

  // A client may still be sending a body we refused (413): read and drop what it sends for a
  // moment, so that closing does not reset the connection before it has read our answer.
  void LingerThenClose() {
    stream_.expires_after(kLinger);
    stream_.async_read_some(
        net::buffer(linger_buffer_),
        net::bind_executor(strand_, [self = shared_from_this()](beast::error_code ec, size_t) {
          if (ec || (self->lingered_ += sizeof(self->linger_buffer_)) > kLingerBytes) {
            self->Close();
            return;
          }
          self->LingerThenClose();
        }));
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    keep_alive_timer_.cancel();
    beast::error_code ignored;
    stream_.socket().close(ignored);
    if (!response_complete_ && on_gone_) {
      auto callback = std::move(on_gone_);
      callback();
    }
    EndRequest();
  }

  beast::tcp_stream stream_;
  net::strand<net::any_io_executor> strand_;
  net::steady_timer keep_alive_timer_;
  beast::flat_buffer buffer_;
  std::optional<beast_http::request_parser<beast_http::string_body>> parser_;
  const Handler& handler_;
  const ServerOptions& options_;
  std::atomic<int>& in_flight_;
  bool counted_ = false;
  std::deque<std::string> writes_;
  std::function<void()> on_gone_;
  uint64_t watch_generation_ = 0;
  char linger_buffer_[16 * 1024];
  size_t lingered_ = 0;
  bool writing_ = false;
  bool keep_alive_ = true;
  bool responded_ = false;
  bool streaming_ = false;
  bool response_complete_ = false;
  bool closed_ = false;
};

namespace {

// Posts every call to the session's strand; keeps the session alive until the response is done.
class StrandResponder final : public Responder {
 public:
  explicit StrandResponder(std::shared_ptr<Session> session) : session_(std::move(session)) {}

  void Send(beast_http::status status, std::string content_type, std::string body,
            Headers headers) override {
    OnStrand([status, content_type = std::move(content_type), body = std::move(body),
          headers = std::move(headers)](Session& s) mutable {
      s.Send(status, std::move(content_type), std::move(body), headers);
    });
  }
  void StartStream(Headers headers) override {
    OnStrand([headers = std::move(headers)](Session& s) { s.StartStream(headers); });
  }
  void SendEvent(std::string payload) override {
    OnStrand([payload = std::move(payload)](Session& s) { s.SendEvent(payload); });
  }
  void EndStream() override {
    OnStrand([](Session& s) { s.EndStream(); });
  }
  void OnClientGone(std::function<void()> callback) override {
    OnStrand([callback = std::move(callback)](Session& s) mutable {
      s.OnClientGone(std::move(callback));
    });
  }
  void Post(std::function<void()> work) override {
    OnStrand([work = std::move(work)](Session&) { work(); });
  }

 private:
  template <typename F>
  void OnStrand(F work) {
    net::post(session_->strand(),
              [session = session_, work = std::move(work)]() mutable { work(*session); });
  }

  std::shared_ptr<Session> session_;
};

}  // namespace

std::shared_ptr<Responder> Session::MakeResponder() {
  return std::make_shared<StrandResponder>(shared_from_this());
}

class Server::Impl {
 public:
  Impl(ServerOptions options, Handler handler)
      : options_(std::move(options)), handler_(std::move(handler)), acceptor_(io_) {}

  void Start() {
    beast::error_code ec;
    const net::ip::address address = net::ip::make_address(options_.hostname, ec);
    if (ec) throw std::runtime_error("invalid hostname " + options_.hostname);
    const tcp::endpoint endpoint(address, options_.port);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(endpoint, ec);
    if (ec) {
      throw std::runtime_error("cannot bind " + options_.hostname + ":" +
                               std::to_string(options_.port) + ": " + ec.message());
    }
    acceptor_.listen(net::socket_base::max_listen_connections);
    Accept();
    for (int i = 0; i < std::max(1, options_.threads); ++i) {
      threads_.emplace_back([this] { RunIo(); });
    }
  }

  uint16_t port() const { return acceptor_.local_endpoint().port(); }

  // A handler that throws loses its connection, never the process or the I/O thread.
  void RunIo() {
    while (true) {
      try {
        io_.run();
        return;
      } catch (const std::exception& error) {
        spdlog::error("HTTP I/O handler failed: {}", error.what());
      }
    }
  }

  void StopAccepting() {
    net::post(io_, [this] {
      beast::error_code ignored;
      acceptor_.close(ignored);
    });
  }

  bool WaitIdle(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (in_flight_ > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return in_flight_ == 0;
  }

  void Stop(std::chrono::milliseconds grace) {
    StopAccepting();
    WaitIdle(grace);
    io_.stop();
    for (std::thread& thread : threads_) thread.join();
    threads_.clear();
  }

 private:
  void Accept() {
    acceptor_.async_accept(net::make_strand(io_), [this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;  // closed by Stop
      socket.set_option(tcp::no_delay(true));
      std::make_shared<Session>(std::move(socket), handler_, options_, in_flight_)->Start();
      Accept();
    });
  }

  ServerOptions options_;
  Handler handler_;
  // Before io_: sessions destroyed with io_'s pending handlers still count themselves out.
  std::atomic<int> in_flight_{0};  // requests whose response is not finished
  net::io_context io_;
  tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
};

Server::Server(ServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

Server::~Server() = default;

void Server::Start() { impl_->Start(); }

uint16_t Server::port() const { return impl_->port(); }

void Server::StopAccepting() { impl_->StopAccepting(); }

bool Server::WaitIdle(std::chrono::milliseconds timeout) { return impl_->WaitIdle(timeout); }

void Server::Stop(std::chrono::milliseconds grace) { impl_->Stop(grace); }

}  // namespace tgi::router::http
