#include "router/http/server.h"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>

namespace tgi::router::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.hostname = "127.0.0.1";
    options.port = 0;
    options.payload_limit = 1000;
    options.stream_keep_alive = std::chrono::milliseconds(100);
    options.request_timeout = std::chrono::milliseconds(400);
    options.idle_timeout = std::chrono::milliseconds(1000);
    options.write_timeout = std::chrono::milliseconds(500);
    server_ = std::make_unique<Server>(options, [this](Request request,
                                                       std::shared_ptr<Responder> responder) {
      Handle(std::move(request), std::move(responder));
    });
    server_->Start();
  }
  void TearDown() override { server_->Stop(std::chrono::milliseconds(500)); }

  void Handle(Request request, std::shared_ptr<Responder> responder) {
    const std::string target(request.target());
    if (target == "/echo") {
      responder->Send(beast_http::status::ok, "text/plain", request.body(), {{"x-test", "1"}});
    } else if (target == "/stream") {
      responder->StartStream({{"x-accel-buffering", "no"}});
      responder->SendEvent(R"({"index":1})");
      responder->SendEvent(R"({"index":2})");
      responder->EndStream();
    } else if (target == "/quiet") {
      responder->StartStream();
      std::thread([responder] {
        std::this_thread::sleep_for(std::chrono::milliseconds(350));
        responder->SendEvent("{}");
        responder->EndStream();
      }).detach();
    } else if (target == "/slow") {
      // Answers after longer than the request timeout: that bounds reading, not answering.
      std::thread([responder] {
        std::this_thread::sleep_for(std::chrono::milliseconds(700));
        responder->Send(beast_http::status::ok, "text/plain", "late");
      }).detach();
    } else if (target == "/flood") {
      // Up to 64 MB of events, far more than the socket buffers hold, until the client is gone.
      auto gone = std::make_shared<std::atomic<bool>>(false);
      responder->OnClientGone([this, gone] {
        *gone = true;
        gone_.set_value();
      });
      responder->StartStream();
      std::thread([responder, gone] {
        const std::string event(16 * 1024, 'x');
        for (int i = 0; i < 4096 && !*gone; ++i) responder->SendEvent(event);
      }).detach();
    } else if (target == "/hang") {
      responder->OnClientGone([this] { gone_.set_value(); });
    } else {
      responder->Send(beast_http::status::not_found, "text/plain", "");
    }
  }

  tcp::socket Connect() {
    tcp::socket socket(io_);
    socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
    return socket;
  }

  beast_http::response<beast_http::string_body> RoundTrip(tcp::socket& socket,
                                                          const std::string& target,
                                                          std::string body = "") {
    beast_http::request<beast_http::string_body> request{beast_http::verb::post, target, 11};
    request.set(beast_http::field::host, "localhost");
    request.body() = std::move(body);
    request.prepare_payload();
    beast_http::write(socket, request);
    beast_http::response<beast_http::string_body> response;
    beast_http::read(socket, buffer_, response);
    return response;
  }

  net::io_context io_;
  beast::flat_buffer buffer_;
  std::unique_ptr<Server> server_;
  std::promise<void> gone_;
};

TEST_F(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  tcp::socket socket = Connect();
  for (const std::string body : {"first", "second", "third"}) {
    auto response = RoundTrip(socket, "/echo", body);
    EXPECT_EQ(response.result(), beast_http::status::ok);
    EXPECT_EQ(response.body(), body);
    EXPECT_EQ(response["x-test"], "1");
    EXPECT_TRUE(response.keep_alive());
  }
}

TEST_F(ServerTest, OversizedBodyGets413WithoutBeingRead) {
  tcp::socket socket = Connect();
  // Announce 10 MB but send only the headers and a little: the server must answer at once.
  const std::string head =
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 10000000\r\n\r\n{\"inputs\":";
  net::write(socket, net::buffer(head));
  beast_http::response<beast_http::string_body> response;
  beast_http::read(socket, buffer_, response);
  EXPECT_EQ(response.result(), beast_http::status::payload_too_large);
  EXPECT_FALSE(response.keep_alive());
}

TEST_F(ServerTest, StreamIsServerSentEventsInChunks) {
  tcp::socket socket = Connect();
  beast_http::request<beast_http::string_body> request{beast_http::verb::post, "/stream", 11};
  request.set(beast_http::field::host, "localhost");
  request.prepare_payload();
  beast_http::write(socket, request);
  beast_http::response<beast_http::string_body> response;
  beast_http::read(socket, buffer_, response);  // decodes the chunked body
  EXPECT_EQ(response.result(), beast_http::status::ok);
  EXPECT_EQ(response[beast_http::field::content_type], "text/event-stream");
  EXPECT_EQ(response[beast_http::field::cache_control], "no-cache");
  EXPECT_EQ(response["x-accel-buffering"], "no");
  EXPECT_TRUE(response.chunked());
  EXPECT_EQ(response.body(), "data:{\"index\":1}\n\ndata:{\"index\":2}\n\n");
  // The connection stays usable afterwards.
  EXPECT_EQ(RoundTrip(socket, "/echo", "after").body(), "after");
}

TEST_F(ServerTest, QuietStreamGetsKeepAliveComments) {
  tcp::socket socket = Connect();
  beast_http::request<beast_http::string_body> request{beast_http::verb::post, "/quiet", 11};
  request.set(beast_http::field::host, "localhost");
  request.prepare_payload();
  beast_http::write(socket, request);
  beast_http::response<beast_http::string_body> response;
  beast_http::read(socket, buffer_, response);
  const std::string& body = response.body();
  ASSERT_TRUE(body.starts_with(":\n\n")) << body;
  EXPECT_TRUE(body.ends_with(":\n\ndata:{}\n\n")) << body;
  EXPECT_GE(body.size(), std::string(":\n\n:\n\ndata:{}\n\n").size()) << body;
}

TEST_F(ServerTest, ClientThatDisconnectsIsReported) {
  std::future<void> gone = gone_.get_future();
  {
    tcp::socket socket = Connect();
    const std::string request = "POST /hang HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
    net::write(socket, net::buffer(request));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }  // closes the socket
  EXPECT_EQ(gone.wait_for(std::chrono::seconds(5)), std::future_status::ready);
}

TEST_F(ServerTest, MalformedRequestClosesTheConnection) {
  tcp::socket socket = Connect();
  net::write(socket, net::buffer(std::string("NOT HTTP AT ALL\r\n\r\n")));
  char byte;
  beast::error_code ec;
  socket.read_some(net::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec == net::error::eof || ec == net::error::connection_reset) << ec.message();
}

// Reads until the server closes the connection; false if it is still open after `bound`.
bool ClosedByServerWithin(tcp::socket& socket, std::chrono::milliseconds bound) {
  std::atomic<bool> closed{false};
  std::thread reader([&] {
    char byte;
    beast::error_code ec;
    while (!ec) socket.read_some(net::buffer(&byte, 1), ec);
    closed = true;
  });
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (!closed && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const bool by_server = closed;
  beast::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);  // ends the reader either way
  reader.join();
  return by_server;
}

TEST_F(ServerTest, SlowlorisClientIsClosedWhileOthersAreServed) {
  tcp::socket slow = Connect();
  std::atomic<bool> stop{false};
  std::thread trickle([&] {
    // One header byte every 50 ms, never finishing the header block.
    const std::string head = "POST /echo HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    for (size_t i = 0; !stop; ++i) {
      beast::error_code ec;
      const char byte = i < head.size() ? head[i] : 'a';
      net::write(slow, net::buffer(&byte, 1), ec);
      if (ec) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  tcp::socket normal = Connect();
  EXPECT_EQ(RoundTrip(normal, "/echo", "meanwhile").body(), "meanwhile");
  EXPECT_TRUE(ClosedByServerWithin(slow, std::chrono::seconds(10)));
  stop = true;
  trickle.join();
  EXPECT_EQ(RoundTrip(normal, "/echo", "still").body(), "still");
}

TEST_F(ServerTest, IdleKeptAliveConnectionIsClosed) {
  tcp::socket socket = Connect();
  EXPECT_EQ(RoundTrip(socket, "/echo", "once").body(), "once");
  EXPECT_TRUE(ClosedByServerWithin(socket, std::chrono::seconds(10)));
}

TEST_F(ServerTest, AClientThatStopsReadingAStreamIsDropped) {
  std::future<void> gone = gone_.get_future();
  tcp::socket socket = Connect();
  const std::string request = "POST /flood HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
  net::write(socket, net::buffer(request));
  // Never reads: the server's writes stall, and the write timeout drops the connection.
  EXPECT_EQ(gone.wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

TEST_F(ServerTest, AResponseMayTakeLongerThanTheRequestTimeout) {
  tcp::socket socket = Connect();
  auto response = RoundTrip(socket, "/slow");
  EXPECT_EQ(response.result(), beast_http::status::ok);
  EXPECT_EQ(response.body(), "late");
}

}  // namespace
}  // namespace tgi::router::http
