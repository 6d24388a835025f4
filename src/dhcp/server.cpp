#include "dhcp/server.hpp"

#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include "dhcp/journal.hpp"
#include "dhcp/leases.hpp"
#include "dhcp/pxe.hpp"
#include "dhcp/responder.hpp"
#include "dhcp/wire.hpp"
#include "util/asio.hpp"
#include "util/datagram.hpp"
#include "util/file.hpp"
#include "util/io_pool.hpp"
#include "util/log.hpp"
#include "util/log_limit.hpp"

namespace diskless::dhcp {

namespace {

using udp = asio::ip::udp;

struct outgoing {
  bytes data;
  ipv4_address to;
  std::uint16_t port = client_port;
  std::uint16_t local_port = server_port;  // which of our sockets sends it
  int ifindex = 0;                         // the receiving interface (IP_PKTINFO)
  std::chrono::milliseconds delay{0};
};

class dhcp_service final : public svc::service {
 public:
  dhcp_service(svc::context& ctx, std::shared_ptr<lease_lookup> lookup)
      : io_(ctx.io),
        pool_(ctx.pool),
        events_(ctx.events),
        inv_(ctx.inventory),
        alive_(std::make_shared<bool>(true)),
        lookup_(std::move(lookup)) {
    if (lookup_)
      lookup_->holder = [this](ipv4_address ip) -> std::optional<mac_address> {
        const auto* l = leases_.holder(ip, std::chrono::system_clock::now());
        if (!l || !l->bound) return std::nullopt;  // an offer names nobody yet
        return l->mac;
      };
  }
  ~dhcp_service() override {
    *alive_ = false;
    if (lookup_) lookup_->holder = nullptr;
  }

  std::string_view name() const override { return "dhcp"; }

  result<void> start() override {
    configure_leases(leases_, *inv_);
    if (inv_->server.dhcp.mode == inventory::dhcp_mode::full) {
      if (auto r = load_journal(); !r) return r;
    }
    return open_sockets();
  }

  void stop() override {
    close_sockets();
    // Last records: written here, synchronously (the loop is ending).
    if (leases_.journal_pending() && !journal_path_.empty()) {
      if (auto r = write_journal(journal_path_, leases_.take_journal(), false); !r)
        log::dhcp().error("lease journal: {}", r.error_message());
    }
    *alive_ = false;
  }

  void apply(const inventory::inventory_ptr& inv) override {
    auto old = inv_;
    inv_ = inv;
    configure_leases(leases_, *inv_);
    const auto& a = old->server;
    const auto& b = inv_->server;
    if (a.dhcp.mode != b.dhcp.mode || a.interface != b.interface) {
      log::dhcp().info("mode or interface changed: reopening sockets");
      close_sockets();
      if (b.dhcp.mode == inventory::dhcp_mode::full && journal_path_.empty()) {
        if (auto r = load_journal(); !r) log::dhcp().error("{}", r.error_message());
      }
      if (auto r = open_sockets(); !r) log::dhcp().error("{}", r.error_message());
    }
  }

 private:
  struct listener {
    explicit listener(asio::io_context& io, std::uint16_t p) : sock(io), port(p) {}
    udp::socket sock;
    std::uint16_t port;
  };

  result<void> load_journal() {
    const auto dir = inv_->resolve(inv_->server.state_dir);
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return error{fmt::format("state dir {}: {}", dir.string(), ec.message())};
    journal_path_ = dir / "dhcp-leases.journal";
    if (std::filesystem::exists(journal_path_)) {
      auto text = read_file(journal_path_);
      if (!text) return error{text.error_message()};
      const auto skipped = leases_.load(*text);
      log::dhcp().info("{}: {} leases ({} records, {} skipped)", journal_path_.string(),
                       leases_.bound_count(std::chrono::system_clock::now()),
                       leases_.records_since_snapshot(), skipped);
    }
    return {};
  }

  result<void> open_sockets() {
    const auto& s = inv_->server;
    if (s.dhcp.mode == inventory::dhcp_mode::off) {
      log::dhcp().info("DHCP off");
      return {};
    }
    ifindex_ = 0;
    if (!s.interface.empty()) {
      ifindex_ = static_cast<int>(::if_nametoindex(s.interface.c_str()));
      if (ifindex_ == 0) return error{fmt::format("dhcp: no interface {}", s.interface)};
    }
    for (std::uint16_t port : {server_port, pxe_port}) {
      auto l = std::make_shared<listener>(io_, port);
      boost::system::error_code ec;
      l->sock.open(udp::v4(), ec);
      if (!ec) l->sock.set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) l->sock.set_option(asio::socket_base::broadcast(true), ec);
      const int fd = l->sock.native_handle();
      const int on = 1;
      if (!ec && ::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on) != 0)
        ec.assign(errno, boost::system::system_category());
      // One interface: SO_BINDTODEVICE, so broadcasts arrive from and leave by that interface
      // only. (IP_PKTINFO still tells us the receiving interface, used when sending.)
      if (!ec && !s.interface.empty() &&
          ::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, s.interface.c_str(),
                       static_cast<socklen_t>(s.interface.size())) != 0)
        ec.assign(errno, boost::system::system_category());
      if (!ec) l->sock.bind(udp::endpoint(asio::ip::address_v4::any(), port), ec);
      if (!ec) l->sock.non_blocking(true, ec);
      if (ec) {
        close_sockets();
        return error{fmt::format("dhcp: port {}{}: {}", port,
                                 s.interface.empty() ? "" : " on " + s.interface, ec.message())};
      }
      listeners_.push_back(l);
      arm(l);
    }
    log::dhcp().info("{} mode on {} (ports 67, 4011), server {}", inventory::to_string(s.dhcp.mode),
                     s.interface.empty() ? "all interfaces" : s.interface,
                     s.address ? s.address->str() : "(no address)");
    return {};
  }

  void close_sockets() {
    for (auto& l : listeners_) {
      boost::system::error_code ec;
      l->sock.close(ec);
    }
    // A wait still queued holds only a weak reference: it sees operation_aborted and finds its
    // listener gone, so nothing has to be kept for it across reloads.
    listeners_.clear();
  }

  void arm(const std::shared_ptr<listener>& l) {
    l->sock.async_wait(udp::socket::wait_read, [this, alive = alive_, weak = std::weak_ptr(l)](
                                                   const boost::system::error_code& ec) {
      auto l = weak.lock();
      if (!*alive || ec || !l || !l->sock.is_open()) return;
      drain(*l);
      maybe_flush();
      arm(l);
    });
  }

  // Reads every datagram already queued (up to a bound, to stay fair to other services).
  void drain(listener& l) {
    std::array<std::byte, 2048> buf;
    for (int i = 0; i < 256; ++i) {
      sockaddr_in src{};
      iovec iov{buf.data(), buf.size()};
      alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(in_pktinfo))> ctrl{};
      auto msg = datagram_msg(&src, sizeof src, iov, ctrl);
      const auto n = ::recvmsg(l.sock.native_handle(), &msg, MSG_DONTWAIT);
      if (n < 0) break;
      const auto pi = find_control<in_pktinfo>(msg, IPPROTO_IP, IP_PKTINFO);
      const int ifindex = pi ? pi->ipi_ifindex : 0;
      if (ifindex_ != 0 && ifindex != 0 && ifindex != ifindex_) continue;  // not our interface
      handle(byte_span(buf.data(), static_cast<std::size_t>(n)),
             ipv4_address(ntohl(src.sin_addr.s_addr)), ntohs(src.sin_port), l.port, ifindex);
    }
  }

  void handle(byte_span data, ipv4_address from, std::uint16_t from_port, std::uint16_t local_port,
              int ifindex) {
    auto p = parse(data);
    if (!p) {
      log::dhcp().debug("dropped {} bytes from {}:{}: {}", data.size(), from.str(), from_port,
                        p.error_message());
      return;
    }
    request_context ctx;
    ctx.local_port = local_port;
    ctx.source = from;
    ctx.source_port = from_port;
    ctx.now = std::chrono::system_clock::now();
    std::string why;
    auto r = respond(*p, *inv_, leases_, ctx, &why);
    const auto type = p->type();
    const auto type_name = type ? to_string(*type) : std::string_view("BOOTP");
    if (events_) {
      auto reply_type = r && r->pkt.type() ? to_string(*r->pkt.type()) : std::string_view();
      events_(boot_event(*p, reply_type, r ? r->pkt.yiaddr : ipv4_address()));
    }
    if (why.starts_with("unknown MAC")) explain_unknown(p->mac(), type_name, why, !r);
    if (!r) {
      log::dhcp().debug("{} from {} (port {}): no reply: {}", type_name, p->mac().str(), local_port,
                        why);
      return;
    }
    auto& log = log::dhcp();
    if (!r->pkt.file.empty())
      log.info("{} {} -> {} {} file {}", type_name, p->mac().str(), to_string(*r->pkt.type()),
               r->pkt.yiaddr.str(), r->pkt.file);
    else
      log.debug("{} {} -> {} {}", type_name, p->mac().str(), to_string(*r->pkt.type()),
                r->pkt.yiaddr.str());
    outgoing out{serialize(r->pkt), r->to, r->port, local_port, ifindex, r->delay};
    if (r->promises_lease()) {
      // RFC 2131 §4.3.2: the binding is committed before the ACK goes out; it waits for the
      // journal's next fdatasync.
      held_.push_back(std::move(out));
    } else {
      send_later(std::move(out));
    }
  }

  void send_later(outgoing out) {
    if (out.delay.count() <= 0) return send(out);
    auto t = std::make_shared<asio::steady_timer>(io_, out.delay);
    t->async_wait(
        [this, alive = alive_, t, out = std::move(out)](const boost::system::error_code& ec) {
          if (*alive && !ec) send(out);
        });
  }

  void send(const outgoing& out) {
    int fd = -1;
    for (auto& l : listeners_)
      if (l->port == out.local_port) fd = l->sock.native_handle();
    if (fd < 0) return;
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(out.port);
    dst.sin_addr.s_addr = htonl(out.to.value());
    iovec iov{const_cast<std::byte*>(out.data.data()), out.data.size()};
    alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(in_pktinfo))> ctrl{};
    // Leave by the interface the request came in on (matters for 255.255.255.255).
    auto msg = datagram_msg(&dst, sizeof dst, iov,
                            out.ifindex != 0 ? std::span<char>(ctrl) : std::span<char>());
    if (out.ifindex != 0) {
      in_pktinfo pi{};
      pi.ipi_ifindex = out.ifindex;
      set_control(msg, IPPROTO_IP, IP_PKTINFO, pi);
    }
    if (::sendmsg(fd, &msg, MSG_DONTWAIT) < 0)
      log::dhcp().debug("send to {}:{}: {}", out.to.str(), out.port, std::strerror(errno));
  }

  // Group commit: one journal write + fdatasync for everything bound since the last one; the
  // ACKs it covers go out when it completes. Compaction replaces the file with a snapshot when
  // the journal holds many more records than live leases.
  void maybe_flush() {
    if (flushing_ || !leases_.journal_pending() || journal_path_.empty()) {
      if (!flushing_ && !held_.empty()) {  // nothing to write (e.g. no state dir): send
        for (auto& o : held_) send_later(std::move(o));
        held_.clear();
      }
      return;
    }
    flushing_ = true;
    const bool compact = leases_.should_compact();
    std::string data;
    if (compact) {
      (void)leases_.take_journal();
      data = leases_.snapshot(std::chrono::system_clock::now());
      leases_.mark_compacted();
    } else {
      data = leases_.take_journal();
    }
    auto held = std::move(held_);
    held_.clear();
    pool_.submit([path = journal_path_, data = std::move(data),
                  compact] { return write_journal(path, data, compact); },
                 [this, alive = alive_, held = std::move(held), compact](result<void> r) mutable {
                   if (!*alive) return;
                   if (!r)
                     log::dhcp().error("lease journal: {}", r.error_message());
                   else if (compact)
                     log::dhcp().debug("lease journal compacted");
                   for (auto& o : held) send_later(std::move(o));
                   flushing_ = false;
                   maybe_flush();
                 });
  }

  asio::io_context& io_;
  io_pool& pool_;
  svc::event_sink events_;
  // Why a PC gets no boot, at info, once per MAC and minute (bounded table: util/log_limit.hpp).
  void explain_unknown(const mac_address& mac, std::string_view type, const std::string& why,
                       bool no_reply) {
    std::uint64_t suppressed = 0;
    if (!unknown_log_.allow(mac.str(), log_limiter::clock::now(), &suppressed)) return;
    std::string hint;
    if (auto it = inv_->disabled_macs.find(mac); it != inv_->disabled_macs.end())
      hint = it->second + "; fix it (see `diskless check`)";
    else if (why.find("known-only") != std::string::npos)
      hint = "add it with `diskless host add --mac " + mac.str() +
             " --name NAME ...` to lease it an address";
    else
      hint = "add it with `diskless host add --mac " + mac.str() +
             " --name NAME --image IMAGE` or set <hosts unknown=\"menu\"> to boot it";
    log::dhcp().info("{} from {}: {}{}; hint: {}{}", type, mac.str(),
                     no_reply ? "not answered: " : "", why, hint,
                     suppressed ? fmt::format(" ({} more since the last such line)", suppressed)
                                : std::string());
  }

  inventory::inventory_ptr inv_;
  log_limiter unknown_log_{std::chrono::seconds(60), 4096};
  std::shared_ptr<bool> alive_;
  std::shared_ptr<lease_lookup> lookup_;
  lease_table leases_;
  std::filesystem::path journal_path_;
  std::vector<std::shared_ptr<listener>> listeners_;
  int ifindex_ = 0;
  bool flushing_ = false;
  std::vector<outgoing> held_;
};

}  // namespace

std::unique_ptr<svc::service> make_service(svc::context& ctx,
                                           std::shared_ptr<lease_lookup> leases) {
  return std::make_unique<dhcp_service>(ctx, std::move(leases));
}

}  // namespace diskless::dhcp
