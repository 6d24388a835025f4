#include "http/server.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstring>
#include <set>

#include "boot/catalog.hpp"
#include "http/admin_connection.hpp"
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
  void answer_request(const bhttp::request<bhttp::empty_body>& req, const requester& who);
  // How to answer: the request's method, version, keep-alive and Range header.
  struct answer {
    bool head = false;
    unsigned version = 11;
    bool keep_alive = false;
    std::string range;
  };
  requester requester_of();
  void send_plan(plan p, bool head, unsigned version, bool keep_alive);
  void send_disk(boot::disk_file f, answer a);
  void send_bytes(std::uint64_t size, const answer& a);
  void send_chunk();
  void write_chunk(asio::const_buffer b);
  void done(bool keep_alive);

  beast::tcp_stream stream_;
  http_service& svc_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::empty_body>> parser_;
  int fd_ = -1;                                // the file being sent from disk, or
  std::shared_ptr<const std::string> memory_;  // the file being sent from memory
  std::uint64_t offset_ = 0, left_ = 0;
  bool keep_alive_ = false;
  std::vector<char> chunk_;
};

class http_service final : public svc::service {
  std::shared_ptr<api_handler> api_;  // first: endpoint_for() reads it in the constructor's body

 public:
  // api: set for the admin instance (<api>), which hands every request to it.
  http_service(svc::context& ctx, std::shared_ptr<const boot::catalog> files,
               std::shared_ptr<api_handler> api = nullptr)
      : api_(std::move(api)),
        io_(ctx.io),
        pool_(ctx.pool),
        inv_(ctx.inventory),
        files_(std::move(files)),
        events_(ctx.events),
        acceptor_(ctx.io) {}

  std::string_view name() const override { return api_ ? "api" : "http"; }

  result<void> start() override {
    auto a = listen(endpoint_for(*inv_));
    if (!a) return error{a.error_message()};
    acceptor_ = std::move(*a);
    bound_ = acceptor_.local_endpoint();
    accept();
    return {};
  }

  void stop() override {
    boost::system::error_code ec;
    acceptor_.close(ec);
    retry_.cancel();
    for (auto& w : conns_)
      if (auto c = w.lock()) c->close();
    conns_.clear();
    for (auto& w : admin_conns_)
      if (auto c = w.lock()) close_admin_connection(*c);
    admin_conns_.clear();
  }

  // The catalog reloads itself (its owner applies the inventory to it). A new port or address
  // moves the listener: scripts name the inventory's port, so it must be the one listened on.
  // Connections already open finish on the old socket.
  void apply(const inventory::inventory_ptr& inv) override {
    inv_ = inv;
    if (api_) api_->apply(inv);
    auto want = endpoint_for(*inv_);
    if (want == bound_) return;
    auto a = listen(want);
    boost::system::error_code ec;
    if (!a && want.port() == bound_.port()) {
      // Same port, other address: the kernel refuses both bound at once; free the old first.
      acceptor_.close(ec);
      a = listen(want);
      if (!a) a = listen(bound_);  // put back what was served
    }
    if (!a) {
      log::http().error("{}; {} port {} is not served", a.error_message(),
                        api_ ? "the API's" : "scripts name", want.port());
      return;
    }
    acceptor_.close(ec);  // its pending accept completes with operation_aborted
    acceptor_ = std::move(*a);
    bound_ = acceptor_.local_endpoint();
    log::http().info("moved to {}:{}", bound_.address().to_string(), bound_.port());
    accept();
  }

  io_pool& pool() { return pool_; }
  const boot::catalog& files() const { return *files_; }
  counters& stats() { return stats_; }
  // A boot event (service/events.hpp): a boot file asked for by `peer`.
  void emit(svc::event_kind k, const tcp::endpoint& peer, std::string_view target) {
    if (!events_ || !peer.address().is_v4()) return;
    svc::event e;
    e.kind = k;
    e.address = ipv4_address(peer.address().to_v4().to_uint());
    e.name = target.substr(0, target.find('?'));
    e.what = "http";
    if (k == svc::event_kind::file_missing) e.detail = "not found";
    events_(e);
  }
  void forget_expired() {
    for (auto it = conns_.begin(); it != conns_.end();)
      it = it->expired() ? conns_.erase(it) : std::next(it);
    for (auto it = admin_conns_.begin(); it != admin_conns_.end();)
      it = it->expired() ? admin_conns_.erase(it) : std::next(it);
  }

 private:
  // <http address>, else the server address (the boot LAN only), else every interface. The
  // admin instance: <api address port>.
  tcp::endpoint endpoint_for(const inventory::inventory& inv) const {
    const auto& s = inv.server;
    if (api_) return {asio::ip::address_v4(s.api.address.value()), s.api.port};
    auto a = s.http.address ? s.http.address : s.address;
    auto addr = a ? asio::ip::address_v4(a->value()) : asio::ip::address_v4::any();
    return {addr, s.http.port};
  }

  result<tcp::acceptor> listen(const tcp::endpoint& ep) {
    tcp::acceptor acc(io_);
    boost::system::error_code ec;
    acc.open(ep.protocol(), ec);
    if (!ec) acc.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acc.bind(ep, ec);
    if (!ec) acc.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return error{fmt::format("cannot listen on {}:{}: {}", ep.address().to_string(), ep.port(),
                               ec.message())};
    log::http().info("listening on {}:{}", ep.address().to_string(), ep.port());
    return acc;
  }

  // Connections one listener holds at most: a client that opens more (each holds a descriptor
  // and up to its header and body buffers until its idle timeout) gets the extra ones closed.
  static constexpr std::size_t max_boot_connections = 1024, max_admin_connections = 64;

  void accept() {
    acceptor_.async_accept([this, gen = ++accepts_](boost::system::error_code ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted) return;
      if (ec) {
        // Out of descriptors (EMFILE) and the like: retry shortly instead of spinning the loop.
        log::http().debug("accept: {}", ec.message());
        retry_.expires_after(std::chrono::milliseconds(100));
        retry_.async_wait([this, gen](boost::system::error_code e) {
          if (!e && gen == accepts_) accept();
        });
        return;
      }
      forget_expired();
      if ((api_ ? admin_conns_.size() : conns_.size()) >=
          (api_ ? max_admin_connections : max_boot_connections)) {
        log::http().debug("connection refused: {} connections open",
                          conns_.size() + admin_conns_.size());
        boost::system::error_code ignored;
        s.close(ignored);
      } else {
        boost::system::error_code ignored;
        s.set_option(tcp::no_delay(true), ignored);
        if (api_) {
          admin_conns_.insert(start_admin_connection(std::move(s), api_));
        } else {
          auto c = std::make_shared<connection>(std::move(s), *this);
          conns_.insert(c);
          c->start();
        }
      }
      // An accept of a replaced acceptor that completed before its close: serve its client,
      // but only the current acceptor's accept re-arms.
      if (gen == accepts_) accept();
    });
  }

  asio::io_context& io_;
  io_pool& pool_;
  inventory::inventory_ptr inv_;
  std::shared_ptr<const boot::catalog> files_;
  svc::event_sink events_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_{io_};  // re-arms accept() after an accept error
  tcp::endpoint bound_;
  std::uint64_t accepts_ = 0;  // numbers accept() calls: a stale completion does not re-arm
  std::set<std::weak_ptr<connection>, std::owner_less<std::weak_ptr<connection>>> conns_;
  counters stats_;
  std::set<std::weak_ptr<admin_connection>, std::owner_less<std::weak_ptr<admin_connection>>>
      admin_conns_;
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
  // A script's owner is looked up first (the neighbour table is read on the pool).
  auto req = std::make_shared<bhttp::request<bhttp::empty_body>>(parser_->release());
  const std::string_view target = req->target();
  svc_.files().resolve_owner(
      target.substr(0, target.find('?')), requester_of(), svc_.pool(),
      [self = shared_from_this(), req](requester who) { self->answer_request(*req, who); });
}

void connection::answer_request(const bhttp::request<bhttp::empty_body>& req,
                                const requester& who) {
  auto& stats = svc_.stats();
  ++stats.requests;
  bool head = req.method() == bhttp::verb::head;
  auto p = route(req.method_string(), req.target(), svc_.files(), stats, who);
  log::http().debug("{} {} → {}", std::string_view(req.method_string()),
                    std::string_view(req.target()), p.status);
  if (!head && (p.status == 200 || p.status == 404)) {
    boost::system::error_code ec;
    auto peer = stream_.socket().remote_endpoint(ec);
    if (!ec)
      svc_.emit(p.status == 200 ? svc::event_kind::file : svc::event_kind::file_missing, peer,
                req.target());
  }
  if (p.status == 404) ++stats.not_found;
  if (p.status >= 500) ++stats.errors;
  if (!p.content && !p.disk) {
    if (p.script) ++stats.scripts;
    send_plan(std::move(p), head, req.version(), req.keep_alive());
    return;
  }
  ++stats.files;
  answer a{head, req.version(), req.keep_alive(), std::string(req[bhttp::field::range])};
  if (p.disk) return send_disk(std::move(*p.disk), std::move(a));
  memory_ = std::move(p.content);
  send_bytes(memory_->size(), a);
}

// The server machine itself: a loopback peer, or a peer using our own address as its source
// (a local client connecting to the LAN address). The peer's IPv4 address (an IPv4-mapped IPv6
// one too) tells the catalog whose PC asks.
requester connection::requester_of() {
  boost::system::error_code e1, e2;
  auto peer = stream_.socket().remote_endpoint(e1);
  auto self = stream_.socket().local_endpoint(e2);
  if (e1 || e2) return {};
  requester r{peer.address().is_loopback() || peer.address() == self.address(), std::nullopt,
              std::nullopt};
  auto a = peer.address();
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  if (a.is_v4()) r.address = ipv4_address(a.to_v4().to_uint());
  return r;
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

// open() and fstat() may block on a cold disk: on the pool (boot::open_disk walks the places).
void connection::send_disk(boot::disk_file f, answer a) {
  svc_.pool().submit([f] { return boot::open_disk(f); },
                     [self = shared_from_this(), rel = f.rel, a](boot::opened o) {
                       if (o.what != boot::opened::status::ok) {
                         log::http().warn("{}: cannot open (missing or refused)", rel);
                         ++self->svc_.stats().errors;
                         return self->send_plan(plan{404, "text/plain", "not found\n", {}, {}, {}},
                                                a.head, a.version, a.keep_alive);
                       }
                       self->fd_ = o.fd;
                       self->send_bytes(o.size, a);
                     });
}

// The header for a body of `size` bytes in fd_ or memory_ (RFC 9110 §14 for Range), then the
// body chunk by chunk.
void connection::send_bytes(std::uint64_t size, const answer& a) {
  bool unsatisfiable = false;
  // A plain struct + flag: std::optional here trips g++ 12's -Wmaybe-uninitialized.
  byte_range r{0, size == 0 ? 0 : size - 1};
  bool partial = false;
  if (!a.range.empty()) {
    if (auto pr = parse_range(a.range, size, unsatisfiable)) r = *pr, partial = true;
  }
  auto res = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::ok, a.version);
  res->set(bhttp::field::server, "diskless");
  res->set(bhttp::field::accept_ranges, "bytes");
  res->keep_alive(a.keep_alive);
  if (unsatisfiable) {
    res->result(bhttp::status::range_not_satisfiable);
    res->set(bhttp::field::content_range, fmt::format("bytes */{}", size));
    res->content_length(0);
    left_ = 0;
  } else {
    offset_ = partial ? r.first : 0;
    left_ = partial ? r.last - r.first + 1 : size;
    if (partial) {
      res->result(bhttp::status::partial_content);
      res->set(bhttp::field::content_range, fmt::format("bytes {}-{}/{}", r.first, r.last, size));
    }
    res->set(bhttp::field::content_type, "application/octet-stream");
    res->content_length(left_);
  }
  if (a.head) left_ = 0;
  keep_alive_ = a.keep_alive;
  bhttp::async_write(stream_, *res,
                     [self = shared_from_this(), res](boost::system::error_code ec, std::size_t) {
                       if (ec) return self->close();
                       self->send_chunk();
                     });
}

// One chunk at a time: read on the pool, write on the loop.
void connection::send_chunk() {
  if (left_ == 0) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    memory_.reset();
    return done(keep_alive_);
  }
  auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left_, chunk_size));
  if (memory_) return write_chunk(asio::buffer(memory_->data() + offset_, n));
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
        self->write_chunk(asio::buffer(self->chunk_));
      });
}

// b stays valid until the write completes: it is chunk_ or memory_, both held by this.
void connection::write_chunk(asio::const_buffer b) {
  stream_.expires_after(idle_timeout);
  asio::async_write(stream_, b,
                    [self = shared_from_this()](boost::system::error_code ec, std::size_t written) {
                      if (ec) return self->close();
                      self->offset_ += written;
                      self->left_ -= written;
                      self->svc_.stats().bytes_sent += written;
                      self->send_chunk();
                    });
}

void connection::done(bool keep_alive) {
  if (keep_alive) return read();
  boost::system::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
}

}  // namespace

std::unique_ptr<svc::service> make_service(svc::context& ctx,
                                           std::shared_ptr<const boot::catalog> files) {
  if (!ctx.inventory->server.http.enabled) return nullptr;
  return std::make_unique<http_service>(ctx, std::move(files));
}

std::unique_ptr<svc::service> make_admin_service(svc::context& ctx,
                                                 std::shared_ptr<api_handler> api) {
  return std::make_unique<http_service>(ctx, nullptr, std::move(api));
}

}  // namespace diskless::http
