#include "http/admin_connection.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "util/log.hpp"

namespace diskless::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {
constexpr auto idle_timeout = std::chrono::seconds(60);
}

class admin_connection : public std::enable_shared_from_this<admin_connection> {
 public:
  admin_connection(tcp::socket s, std::shared_ptr<api_handler> h)
      : stream_(std::move(s)), handler_(std::move(h)) {}

  void read() {
    parser_.emplace();
    parser_->header_limit(8192);
    parser_->body_limit(max_api_body);
    stream_.expires_after(idle_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        self->on_read(ec);
                      });
  }

  void close() {
    if (events_) events_->close();
    boost::system::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

 private:
  void on_read(boost::system::error_code ec) {
    api_request req;
    if (ec == bhttp::error::body_limit) {
      req.body_too_large = true;  // answered, then the connection closes (the body is unread)
    } else if (ec) {
      if (ec != bhttp::error::end_of_stream && ec != asio::error::operation_aborted)
        log::http().debug("api read: {}", ec.message());
      return close();
    }
    const auto& msg = parser_->get();
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    req.authorization = std::string(msg[bhttp::field::authorization]);
    req.content_type = std::string(msg[bhttp::field::content_type]);
    if (!req.body_too_large) req.body = msg.body();
    boost::system::error_code e1, e2;
    auto peer = stream_.socket().remote_endpoint(e1);
    auto self_ep = stream_.socket().local_endpoint(e2);
    req.from.local =
        !e1 && !e2 && (peer.address().is_loopback() || peer.address() == self_ep.address());
    const bool keep_alive = msg.keep_alive() && !req.body_too_large;
    const unsigned version = msg.version();
    handler_->handle(std::move(req),
                     [self = shared_from_this(), keep_alive, version](api_response r) {
                       if (r.stream) return self->start_stream(std::move(r));
                       self->send(std::move(r), version, keep_alive);
                     });
  }

  void send(api_response r, unsigned version, bool keep_alive) {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(r.status), version);
    res->set(bhttp::field::server, "diskless");
    res->set(bhttp::field::content_type, r.content_type);
    res->set(bhttp::field::cache_control, "no-store");
    for (auto& [k, v] : r.headers) res->set(k, v);
    res->keep_alive(keep_alive);
    res->body() = std::move(r.body);
    res->prepare_payload();
    stream_.expires_after(idle_timeout);
    bhttp::async_write(
        stream_, *res,
        [self = shared_from_this(), res, keep_alive](boost::system::error_code ec, std::size_t) {
          if (ec || !keep_alive) return self->close();
          self->read();
        });
  }

  // text/event-stream (WHATWG HTML §9.2): no length, the connection ends the stream. The
  // socket is also read so a client that goes away is noticed even when no event comes.
  void start_stream(api_response r) {
    events_ = std::move(r.stream);
    stream_.expires_never();
    pending_ =
        "HTTP/1.1 200 OK\r\nServer: diskless\r\nContent-Type: text/event-stream\r\n"
        "Cache-Control: no-store\r\nConnection: close\r\n\r\n";
    events_->on_push([w = weak_from_this()] {
      if (auto c = w.lock()) c->write_events();
    });
    watch_peer();
    write_events();
  }

  void watch_peer() {
    stream_.socket().async_read_some(
        asio::buffer(sink_),
        [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
          if (ec) return self->close();
          self->watch_peer();  // a client has nothing to say on an event stream: ignored
        });
  }

  void write_events() {
    if (writing_ || !events_) return;
    if (events_->dropped() || events_->closed()) {
      if (events_->dropped()) log::http().info("api: event stream client too slow: dropped");
      return close();
    }
    std::string next;
    while (events_->take(next)) pending_ += next;
    if (pending_.empty()) return;
    writing_ = true;
    out_ = std::move(pending_);
    pending_.clear();
    asio::async_write(stream_.socket(), asio::buffer(out_),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        self->writing_ = false;
                        if (ec) return self->close();
                        self->write_events();
                      });
  }

  beast::tcp_stream stream_;
  std::shared_ptr<api_handler> handler_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<event_stream> events_;
  std::string pending_, out_;
  std::array<char, 256> sink_{};
  bool writing_ = false;
};

std::shared_ptr<admin_connection> start_admin_connection(tcp::socket s,
                                                         std::shared_ptr<api_handler> handler) {
  auto c = std::make_shared<admin_connection>(std::move(s), std::move(handler));
  c->read();
  return c;
}

void close_admin_connection(admin_connection& c) {
  c.close();
}

}  // namespace diskless::http
