#include "http/server.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstring>
#include <set>

#include "boot/templates.hpp"
#include "http/route.hpp"
#include "util/asio.hpp"
#include "util/io_pool.hpp"
#include "util/log.hpp"

namespace diskless::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t chunk_size = 512 * 1024;
constexpr auto idle_timeout = std::chrono::seconds(60);

class http_service;

class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(tcp::socket s, http_service& svc) : stream_(std::move(s)), svc_(svc) {}
  ~connection() {
    if (fd_ >= 0) ::close(fd_);
  }
  void start() { read(); }
  void close() {
    boost::system::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

 private:
  void read();
  void on_request();
  void send_plan(plan p, bool head, unsigned version, bool keep_alive);
  void send_file(std::filesystem::path path, bool head, unsigned version, bool keep_alive,
                 std::string range);
  void send_chunk();
  void done(bool keep_alive);

  beast::tcp_stream stream_;
  http_service& svc_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::empty_body>> parser_;
  int fd_ = -1;
  std::uint64_t offset_ = 0, left_ = 0;
  bool keep_alive_ = false;
  std::vector<char> chunk_;
};

class http_service final : public app::service {
 public:
  explicit http_service(app::context& ctx)
      : io_(ctx.io), pool_(ctx.pool), inv_(ctx.inventory), acceptor_(ctx.io) {
    templates_ = std::make_shared<boot::template_set>(
        boot::template_set::load(boot::template_set::dir_for(*inv_)));
  }

  std::string_view name() const override { return "http"; }

  result<void> start() override {
    boost::system::error_code ec;
    tcp::endpoint ep(tcp::v4(), inv_->server.http.port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return error{
          fmt::format("cannot listen on TCP port {}: {}", inv_->server.http.port, ec.message())};
    log::http().info("listening on TCP port {}", inv_->server.http.port);
    accept();
    return {};
  }

  void stop() override {
    boost::system::error_code ec;
    acceptor_.close(ec);
    for (auto& w : conns_)
      if (auto c = w.lock()) c->close();
    conns_.clear();
  }

  void apply(const inventory::inventory_ptr& inv) override {
    inv_ = inv;
    // Admin-edited templates are re-read off the loop.
    pool_.submit(
        [dir = boot::template_set::dir_for(*inv)] { return boot::template_set::load(dir); },
        [this](boot::template_set t) {
          templates_ = std::make_shared<boot::template_set>(std::move(t));
        });
  }

  io_pool& pool() { return pool_; }
  const inventory::inventory& inv() const { return *inv_; }
  const boot::template_set& templates() const { return *templates_; }
  counters& stats() { return stats_; }
  void forget_expired() {
    for (auto it = conns_.begin(); it != conns_.end();)
      it = it->expired() ? conns_.erase(it) : std::next(it);
  }

 private:
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        boost::system::error_code ignored;
        s.set_option(tcp::no_delay(true), ignored);
        auto c = std::make_shared<connection>(std::move(s), *this);
        forget_expired();
        conns_.insert(c);
        c->start();
      }
      accept();
    });
  }

  asio::io_context& io_;
  io_pool& pool_;
  inventory::inventory_ptr inv_;
  std::shared_ptr<boot::template_set> templates_;
  tcp::acceptor acceptor_;
  std::set<std::weak_ptr<connection>, std::owner_less<std::weak_ptr<connection>>> conns_;
  counters stats_;
};

void connection::read() {
  parser_.emplace();
  parser_->header_limit(8192);
  stream_.expires_after(idle_timeout);
  bhttp::async_read(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
        if (ec) {
          if (ec != bhttp::error::end_of_stream && ec != asio::error::operation_aborted)
            log::http().debug("read: {}", ec.message());
          self->close();
          return;
        }
        self->on_request();
      });
}

void connection::on_request() {
  auto req = parser_->release();
  auto& stats = svc_.stats();
  ++stats.requests;
  bool head = req.method() == bhttp::verb::head;
  auto p = route(req.method_string(), req.target(), svc_.inv(), svc_.templates(), stats);
  log::http().debug("{} {} → {}", std::string_view(req.method_string()),
                    std::string_view(req.target()), p.status);
  if (p.status == 404) ++stats.not_found;
  if (p.status >= 500) ++stats.errors;
  if (p.file.empty()) {
    if (p.status == 200 && req.target().starts_with("/boot/")) ++stats.scripts;
    send_plan(std::move(p), head, req.version(), req.keep_alive());
    return;
  }
  ++stats.files;
  send_file(p.file, head, req.version(), req.keep_alive(), std::string(req[bhttp::field::range]));
}

void connection::send_plan(plan p, bool head, unsigned version, bool keep_alive) {
  auto res = std::make_shared<bhttp::response<bhttp::string_body>>(
      static_cast<bhttp::status>(p.status), version);
  res->set(bhttp::field::server, "diskless");
  res->set(bhttp::field::content_type, p.content_type);
  res->keep_alive(keep_alive);
  res->body() = std::move(p.body);
  res->prepare_payload();
  if (head) res->body().clear();  // Content-Length stays that of the GET answer
  svc_.stats().bytes_sent += res->body().size();
  stream_.expires_after(idle_timeout);
  bhttp::async_write(
      stream_, *res,
      [self = shared_from_this(), res, keep_alive](boost::system::error_code ec, std::size_t) {
        if (ec) return self->close();
        self->done(keep_alive);
      });
}

void connection::send_file(std::filesystem::path path, bool head, unsigned version, bool keep_alive,
                           std::string range) {
  struct opened {
    int fd = -1;
    std::uint64_t size = 0;
    int err = 0;
  };
  // open() and fstat() may block on a cold disk: on the pool.
  svc_.pool().submit(
      [path] {
        opened o;
        o.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (o.fd < 0 || ::fstat(o.fd, &st) != 0) {
          o.err = errno;
          if (o.fd >= 0) ::close(o.fd);
          o.fd = -1;
        } else {
          o.size = static_cast<std::uint64_t>(st.st_size);
        }
        return o;
      },
      [self = shared_from_this(), path, head, version, keep_alive, range](opened o) {
        if (o.fd < 0) {
          log::http().warn("{}: {}", path.string(), std::strerror(o.err));
          ++self->svc_.stats().errors;
          return self->send_plan(plan{404, "text/plain", "not found\n", {}}, head, version,
                                 keep_alive);
        }
        self->fd_ = o.fd;
        bool unsatisfiable = false;
        // A plain struct + flag: std::optional here trips g++ 12's -Wmaybe-uninitialized.
        byte_range r{0, o.size == 0 ? 0 : o.size - 1};
        bool partial = false;
        if (!range.empty()) {
          if (auto pr = parse_range(range, o.size, unsatisfiable)) r = *pr, partial = true;
        }
        auto res = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::ok, version);
        res->set(bhttp::field::server, "diskless");
        res->set(bhttp::field::accept_ranges, "bytes");
        res->keep_alive(keep_alive);
        if (unsatisfiable) {
          ::close(self->fd_);
          self->fd_ = -1;
          res->result(bhttp::status::range_not_satisfiable);
          res->set(bhttp::field::content_range, fmt::format("bytes */{}", o.size));
          res->content_length(0);
          self->left_ = 0;
        } else {
          self->offset_ = partial ? r.first : 0;
          self->left_ = partial ? r.last - r.first + 1 : o.size;
          if (partial) {
            res->result(bhttp::status::partial_content);
            res->set(bhttp::field::content_range,
                     fmt::format("bytes {}-{}/{}", r.first, r.last, o.size));
          }
          res->set(bhttp::field::content_type, "application/octet-stream");
          res->content_length(self->left_);
        }
        if (head) self->left_ = 0;
        self->keep_alive_ = keep_alive;
        bhttp::async_write(self->stream_, *res,
                           [self, res](boost::system::error_code ec, std::size_t) {
                             if (ec) return self->close();
                             self->send_chunk();
                           });
      });
}

// One chunk at a time: read on the pool, write on the loop.
void connection::send_chunk() {
  if (left_ == 0) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    return done(keep_alive_);
  }
  auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left_, chunk_size));
  svc_.pool().submit(
      [fd = fd_, off = offset_, n] {
        std::vector<char> buf(n);
        std::size_t got = 0;
        while (got < n) {
          auto r = ::pread(fd, buf.data() + got, n - got, static_cast<off_t>(off + got));
          if (r < 0 && errno == EINTR) continue;
          if (r <= 0) break;
          got += static_cast<std::size_t>(r);
        }
        buf.resize(got);
        return buf;
      },
      [self = shared_from_this(), n](std::vector<char> buf) {
        if (buf.size() != n) {  // the file shrank or failed: the length promised cannot be kept
          log::http().warn("short read while sending a file; closing the connection");
          return self->close();
        }
        self->chunk_ = std::move(buf);
        self->stream_.expires_after(idle_timeout);
        asio::async_write(self->stream_, asio::buffer(self->chunk_),
                          [self](boost::system::error_code ec, std::size_t written) {
                            if (ec) return self->close();
                            self->offset_ += written;
                            self->left_ -= written;
                            self->svc_.stats().bytes_sent += written;
                            self->send_chunk();
                          });
      });
}

void connection::done(bool keep_alive) {
  if (keep_alive) return read();
  boost::system::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
}

}  // namespace

std::unique_ptr<app::service> make_service(app::context& ctx) {
  if (!ctx.inventory->server.http.enabled) return nullptr;
  return std::make_unique<http_service>(ctx);
}

}  // namespace diskless::http
