#include "tftp/server.hpp"

#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <unordered_map>

#include "boot/catalog.hpp"
#include "tftp/admission.hpp"
#include "tftp/connection.hpp"
#include "tftp/transfer.hpp"
#include "tftp/wire.hpp"
#include "util/asio.hpp"
#include "util/datagram.hpp"
#include "util/io_pool.hpp"
#include "util/log.hpp"

namespace diskless::tftp {
namespace {

constexpr std::size_t read_ahead_chunk = 512 * 1024;
// netascii chunks are converted on the io_pool one after the other; smaller ones keep the memory
// of many text transfers low (two chunks each at most).
constexpr std::size_t netascii_chunk = 64 * 1024;
// The request socket's receive buffer: a burst of requests waits here while the loop works.
constexpr int request_rcvbuf = 4 << 20;

// The MTU of the interface a request arrived on (SIOCGIFMTU), 0 when unknown.
int interface_mtu(unsigned ifindex) {
  char name[IF_NAMESIZE] = {};
  if (ifindex == 0 || ::if_indextoname(ifindex, name) == nullptr) return 0;
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name, sizeof(ifr.ifr_name) - 1);
  int mtu = ::ioctl(fd, SIOCGIFMTU, &ifr) == 0 ? ifr.ifr_mtu : 0;
  ::close(fd);
  return mtu;
}

class tftp_service final : public svc::service {
 public:
  tftp_service(svc::context& ctx, std::shared_ptr<const boot::catalog> catalog)
      : ctx_(ctx), catalog_(std::move(catalog)), sock_(ctx.io) {
    configure(*ctx.inventory);
  }

  std::string_view name() const override { return "tftp"; }

  result<void> start() override {
    boost::system::error_code ec;
    sock_.open(udp::v4(), ec);
    if (!ec) sock_.set_option(udp::socket::reuse_address(true), ec);
    int on = 1;
    if (!ec && ::setsockopt(sock_.native_handle(), IPPROTO_IP, IP_PKTINFO, &on, sizeof on) != 0)
      ec.assign(errno, boost::system::system_category());
    if (!ec) size_request_buffer();
    if (!ec && !interface_.empty() &&
        ::setsockopt(sock_.native_handle(), SOL_SOCKET, SO_BINDTODEVICE, interface_.c_str(),
                     static_cast<socklen_t>(interface_.size())) != 0)
      ec.assign(errno, boost::system::system_category());
    if (!ec) sock_.bind(udp::endpoint(asio::ip::address_v4::any(), port_), ec);
    if (!ec) sock_.non_blocking(true, ec);
    if (ec) {
      boost::system::error_code ignored;
      sock_.close(ignored);
      return error{"tftp: cannot listen on port " + std::to_string(port_) + ": " + ec.message()};
    }
    log::tftp().info("serving {} (and {}) on udp port {}", root_.string(),
                     boot::ipxe_package_dir.string(), port_);
    wait_request();
    return {};
  }

  void stop() override {
    stopped_ = true;
    boost::system::error_code ec;
    sock_.close(ec);
    auto all = std::move(transfers_);
    transfers_.clear();
    for (auto& [id, t] : all) t->finish();
  }

  void apply(const inventory::inventory_ptr& inv) override {
    auto old_port = port_;
    configure(*inv);
    if (port_ != old_port) {
      log::tftp().warn("tftp port change to {} needs a restart; still on {}", port_, old_port);
      port_ = old_port;
    }
  }

  // Called by a transfer when it is over.
  void remove(active_transfer* t) {
    for (auto it = transfers_.begin(); it != transfers_.end(); ++it) {
      if (it->second.get() == t) {
        auto pc = per_client_.find(address_key(t->peer()));
        if (pc != per_client_.end() && --pc->second == 0) per_client_.erase(pc);
        transfers_.erase(it);
        return;
      }
    }
  }
  io_pool& pool() { return ctx_.pool; }

 private:
  void configure(const inventory::inventory& inv) {
    const auto& c = inv.server.tftp;
    root_ = inv.resolve(c.root);
    port_ = c.port;
    port_low_ = c.port_range_low;
    port_high_ = c.port_range_high;
    admission_.max_transfers = c.max_transfers;
    interface_ = inv.server.interface;
  }

  void wait_request() {
    sock_.async_wait(udp::socket::wait_read, [this](boost::system::error_code ec) {
      if (ec || stopped_) return;
      drain_requests();
    });
  }

  // Reads queued requests until EAGAIN, in batches: after 64 the rest is read in a posted
  // continuation so transfers get their turn during a request storm (a re-armed async_wait would
  // also fire, via epoll_ctl MOD, but costs a syscall per batch).
  void drain_requests() {
    for (int i = 0; i < 64; ++i) {
      if (!read_request()) {
        wait_request();
        return;
      }
    }
    asio::post(ctx_.io, [this, alive = std::weak_ptr<bool>(alive_)] {
      if (alive.lock() && !stopped_) drain_requests();
    });
  }

  // Reads one datagram with its receiving interface (IP_PKTINFO); false when none is waiting.
  bool read_request() {
    std::array<std::byte, 2048> buf{};
    sockaddr_in src{};
    iovec iov{buf.data(), buf.size()};
    alignas(cmsghdr)
        std::array<char, CMSG_SPACE(sizeof(in_pktinfo)) + CMSG_SPACE(sizeof(std::uint32_t))>
            cbuf{};
    auto msg = datagram_msg(&src, sizeof src, iov, cbuf);
    ssize_t n = ::recvmsg(sock_.native_handle(), &msg, MSG_DONTWAIT);
    if (n < 0) return errno == EINTR;
    const auto pktinfo = find_control<in_pktinfo>(msg, IPPROTO_IP, IP_PKTINFO);
    const bool have_pi = pktinfo.has_value();
    if (auto drops = find_control<std::uint32_t>(msg, SOL_SOCKET, SO_RXQ_OVFL))
      note_kernel_drops(*drops);
    const in_pktinfo pi = pktinfo.value_or(in_pktinfo{});
    udp::endpoint peer(asio::ip::address_v4(ntohl(src.sin_addr.s_addr)), ntohs(src.sin_port));
    if (msg.msg_flags & MSG_TRUNC) {
      log::tftp().debug("{}: oversized request dropped", endpoint_str(peer));
      return true;
    }
    auto local =
        have_pi ? asio::ip::address_v4(ntohl(pi.ipi_spec_dst.s_addr)) : asio::ip::address_v4::any();
    on_request(byte_span(buf.data(), static_cast<std::size_t>(n)), peer, local,
               have_pi ? static_cast<unsigned>(pi.ipi_ifindex) : 0);
    return true;
  }

  void reply_error(const udp::endpoint& to, const request_error& e) {
    auto pkt = encode_error(e.code, e.message);
    boost::system::error_code ec;
    sock_.send_to(asio::buffer(pkt), to, 0, ec);
  }

  void on_request(byte_span pkt, const udp::endpoint& peer, asio::ip::address_v4 local,
                  unsigned ifindex) {
    auto req = admit(pkt, peer);
    if (!req) return;
    auto sock = open_transfer_socket(local);
    if (!sock) {
      reply_error(peer, {error_code::not_defined, "no free transfer port"});
      return;
    }
    auto path = normalise_path(req->filename);
    auto t =
        std::make_shared<active_transfer>([this](active_transfer* t) { remove(t); },
                                          std::move(*sock), peer, path ? *path : req->filename);
    transfers_.emplace(next_id_++, t);
    ++per_client_[address_key(peer)];
    if (!path) {
      log::tftp().info("{}: '{}' refused (outside the root)", endpoint_str(peer), req->filename);
      t->refuse({error_code::access_violation, "access violation"});
      return;
    }
    // A script's owner is looked up first (the neighbour table is read on the pool).
    catalog_->resolve_owner(
        *path, requester_of(peer), ctx_.pool,
        [this, alive = std::weak_ptr<bool>(alive_), t, req = std::move(*req), path = *path,
         limits = limits_for(ifindex)](boot::requester who) mutable {
          if (!alive.lock() || stopped_ || t->finished()) return;
          serve(t, std::move(req), path, limits, who);
        });
  }

  // A boot event (service/events.hpp) for a request from `peer`.
  void emit(svc::event_kind k, const udp::endpoint& peer, const std::string& path,
            std::string why) {
    if (!ctx_.events) return;
    svc::event e;
    e.kind = k;
    e.address = ipv4_address(peer.address().to_v4().to_uint());
    e.name = path;
    e.what = "tftp";
    e.detail = std::move(why);
    ctx_.events(e);
  }

  // The checks before a transfer exists: a read request, well formed, not a retransmission of
  // one being served, and room for one more transfer. nullopt: dropped or refused (done here).
  std::optional<request> admit(byte_span pkt, const udp::endpoint& peer) {
    auto op = peek_opcode(pkt);
    if (!op) {
      log::tftp().debug("{}: runt packet dropped", endpoint_str(peer));
      return std::nullopt;
    }
    // Stray DATA/ACK/ERROR/OACK to the request port: answering could start a packet loop.
    if (*op >= 3 && *op <= 6) {
      log::tftp().debug("{}: opcode {} on the request port dropped", endpoint_str(peer), *op);
      return std::nullopt;
    }
    auto parsed = parse_request(pkt);
    if (!parsed.req) {
      log::tftp().debug("{}: bad request: {}", endpoint_str(peer), parsed.error.message);
      reply_error(peer, parsed.error);
      return std::nullopt;
    }
    if (parsed.req->op == opcode::wrq) {
      log::tftp().info("{}: write request for '{}' refused", endpoint_str(peer),
                       parsed.req->filename);
      reply_error(peer, {error_code::access_violation, "read-only server"});
      return std::nullopt;
    }
    for (auto& [id, t] : transfers_) {
      if (t->peer() == peer) {
        // A retransmitted RRQ while its transfer runs (the client's first reply was slow).
        log::tftp().debug("{}: duplicate request ignored", endpoint_str(peer));
        return std::nullopt;
      }
    }
    if (!make_room(peer, parsed.req->filename)) return std::nullopt;
    return std::move(parsed.req);
  }

  static std::uint32_t address_key(const udp::endpoint& e) {
    return e.address().is_v4() ? e.address().to_v4().to_uint() : 0;
  }

  // The slot bounds (admission.hpp): true when the request may have a transfer (an unconfirmed
  // one may have been ended for it); otherwise the client got ERROR 0 and a rate-limited line.
  bool make_room(const udp::endpoint& peer, const std::string& filename) {
    auto pc = per_client_.find(address_key(peer));
    std::size_t mine = pc == per_client_.end() ? 0 : pc->second;
    auto oldest = transfers_.end();
    if (transfers_.size() >= admission_.max_transfers)
      oldest = std::find_if(transfers_.begin(), transfers_.end(),
                            [](const auto& kv) { return !kv.second->confirmed(); });
    auto now = clock::now();
    switch (tftp::admit(transfers_.size(), mine, oldest != transfers_.end(), admission_)) {
      case verdict::admit:
        return true;
      case verdict::admit_evicting: {
        if (evict_gate_.allow(now))
          log::tftp().warn(
              "{}: transfers full ({}): ended {}'s unacknowledged transfer for it "
              "(+{} more since the last such line)",
              endpoint_str(peer), transfers_.size(), endpoint_str(oldest->second->peer()),
              evict_gate_.suppressed());
        auto victim = oldest->second;
        victim->refuse({error_code::not_defined, "server busy, try again later"});
        return true;
      }
      case verdict::refuse_client:
        if (client_gate_.allow(now))
          log::tftp().warn(
              "{}: '{}' refused: {} transfers already from this address "
              "(+{} more refusals since the last such line)",
              endpoint_str(peer), filename, mine, client_gate_.suppressed());
        reply_error(peer, {error_code::not_defined, "too many transfers from your address"});
        return false;
      case verdict::refuse_busy:
        if (busy_gate_.allow(now))
          log::tftp().warn(
              "{}: '{}' refused: {} transfers running (+{} more refusals since "
              "the last such line)",
              endpoint_str(peer), filename, transfers_.size(), busy_gate_.suppressed());
        reply_error(peer, {error_code::not_defined, "server busy, try again later"});
        return false;
    }
    return false;
  }

  // A large receive buffer for request bursts (SO_RCVBUFFORCE when privileged, else up to the
  // system's rmem_max) and SO_RXQ_OVFL so the datagrams the kernel still drops are counted.
  void size_request_buffer() {
    int fd = sock_.native_handle(), size = request_rcvbuf, on = 1;
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
      (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    (void)::setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof on);
  }

  void note_kernel_drops(std::uint32_t counter) {
    std::uint32_t fresh = counter - kernel_drops_;  // the counter wraps at 2^32
    kernel_drops_ = counter;
    if (fresh == 0) return;
    if (kernel_gate_.allow(clock::now(), fresh))
      log::tftp().warn(
          "{} requests dropped by the kernel since the last such line (receive "
          "buffer full)",
          kernel_gate_.suppressed() + 1);
  }

  // RFC 2348 + no fragments: a DATA packet (IPv4 20 + UDP 8 + TFTP 4) must fit the MTU.
  static transfer_limits limits_for(unsigned ifindex) {
    transfer_limits limits;
    int mtu = interface_mtu(ifindex);
    if (mtu > 32 + 8)
      limits.max_blksize = static_cast<std::uint16_t>(std::min(mtu - 32, 65464));
    else
      limits.max_blksize = 1468;
    return limits;
  }

  // The peer as the boot catalog knows it: TFTP answers on the LAN socket, so the server machine
  // itself shows as loopback or as one of the interface's own addresses.
  boot::requester requester_of(const udp::endpoint& peer) const {
    boot::requester r;
    auto a = peer.address();
    if (a.is_v6() && a.to_v6().is_v4_mapped())
      a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    r.local = a.is_loopback();
    if (a.is_v4()) {
      r.address = ipv4_address(a.to_v4().to_uint());
      const auto& inv = catalog_->inventory();
      if (inv.server.address && *inv.server.address == *r.address) r.local = true;
    }
    return r;
  }

  // Where the catalog says the name lives: from memory at once, or opened on the pool.
  void serve(const std::shared_ptr<active_transfer>& t, request req, const std::string& path,
             const transfer_limits& limits, const boot::requester& who) {
    auto where = catalog_->find(path, boot::via::tftp, who);
    if (!where || !*where) {  // TFTP always has its root to look in; kept for safety
      t->refuse({error_code::file_not_found, "file not found"});
      return;
    }
    if ((*where)->refused) {  // another PC's script (the catalog logged why): RFC 1350 error 2
      t->refuse({error_code::access_violation, "access violation"});
      return;
    }
    if (auto virt = (*where)->content) {
      emit(svc::event_kind::file, t->peer(), path, {});
      if (req.mode == transfer_mode::netascii)
        return serve_netascii(t, std::move(req), path, virt, limits);
      auto n = negotiate(req.options, virt->size(), limits);
      log::tftp().debug("{}: '{}' (virtual, {} bytes)", endpoint_str(t->peer()), path,
                        virt->size());
      t->begin(std::move(n), std::make_shared<file_reader>(std::move(virt)), limits);
      return;
    }
    ctx_.pool.submit(
        [disk = *(*where)->disk, mode = req.mode]() { return open_file(disk, mode); },
        [this, weak = std::weak_ptr<active_transfer>(t), req = std::move(req),
         limits](opened_file f) mutable {
          auto t = weak.lock();
          if (!t || t->finished()) return;
          if (f.error) {
            log::tftp().info("{}: '{}' refused: {}", endpoint_str(t->peer()), req.filename,
                             f.error->message);
            emit(svc::event_kind::file_missing, t->peer(), req.filename, f.error->message);
            t->refuse(*f.error);
            return;
          }
          emit(svc::event_kind::file, t->peer(), req.filename, {});
          auto n = negotiate(req.options, f.size, limits);
          log::tftp().debug("{}: '{}' from {} ({} bytes)", endpoint_str(t->peer()), req.filename,
                            f.where.string(), f.size);
          auto blksize = n.blksize;
          auto chunk = std::max<std::size_t>(f.netascii ? netascii_chunk : read_ahead_chunk,
                                             std::size_t{2} * n.windowsize * n.blksize);
          auto reader = std::make_shared<file_reader>(std::move(f), ctx_.pool, blksize, chunk);
          t->begin(std::move(n), std::move(reader), limits);
        });
  }

  // A file in memory sent as netascii: its converted size is counted on the io_pool (a kernel or
  // initrd is megabytes), then the reader converts it chunk by chunk as the transfer goes.
  void serve_netascii(const std::shared_ptr<active_transfer>& t, request req,
                      const std::string& path, std::shared_ptr<const std::string> virt,
                      const transfer_limits& limits) {
    ctx_.pool.submit(
        [virt] { return netascii_size(std::as_bytes(std::span(virt->data(), virt->size()))); },
        [this, weak = std::weak_ptr<active_transfer>(t), req = std::move(req), path, virt,
         limits](std::uint64_t size) {
          auto t = weak.lock();
          if (!t || t->finished()) return;
          auto n = negotiate(req.options, size, limits);
          log::tftp().debug("{}: '{}' (virtual, netascii, {} bytes)", endpoint_str(t->peer()), path,
                            size);
          auto chunk =
              std::max<std::size_t>(netascii_chunk, std::size_t{2} * n.windowsize * n.blksize);
          auto reader = std::make_shared<file_reader>(virt, size, ctx_.pool, n.blksize, chunk);
          t->begin(std::move(n), std::move(reader), limits);
        });
  }

  // A socket for a new TID, bound to the address the request was sent to so replies come from
  // it; within the configured port range when there is one.
  std::optional<udp::socket> open_transfer_socket(asio::ip::address_v4 local) {
    udp::socket s(ctx_.io);
    boost::system::error_code ec;
    s.open(udp::v4(), ec);
    if (ec) return std::nullopt;
    if (!interface_.empty())
      (void)::setsockopt(s.native_handle(), SOL_SOCKET, SO_BINDTODEVICE, interface_.c_str(),
                         static_cast<socklen_t>(interface_.size()));
    bool bound = false;
    if (port_low_ != 0 && port_high_ >= port_low_) {
      unsigned span = port_high_ - port_low_ + 1u;
      for (unsigned i = 0; i < span && !bound; ++i) {
        auto port = static_cast<std::uint16_t>(port_low_ + (port_cursor_ + i) % span);
        s.bind(udp::endpoint(local, port), ec);
        if (!ec) {
          bound = true;
          port_cursor_ = (port_cursor_ + i + 1) % span;
        }
      }
    } else {
      s.bind(udp::endpoint(local, 0), ec);
      bound = !ec;
    }
    if (!bound) {
      log::tftp().warn("no free transfer port");
      return std::nullopt;
    }
    s.non_blocking(true, ec);
    return s;
  }

  svc::context& ctx_;
  std::shared_ptr<const boot::catalog> catalog_;
  udp::socket sock_;
  std::filesystem::path root_;  // for the log line
  std::uint16_t port_ = 69, port_low_ = 0, port_high_ = 0;
  admission_limits admission_;
  std::unordered_map<std::uint32_t, std::size_t> per_client_;  // transfers by source address
  // Rate-limited lines for what floods cause: one line per period, with the count left out.
  log_gate client_gate_, busy_gate_, evict_gate_, kernel_gate_;
  std::uint32_t kernel_drops_ = 0;  // the socket's SO_RXQ_OVFL counter last seen
  std::string interface_;
  unsigned port_cursor_ = 0;
  std::map<std::uint64_t, std::shared_ptr<active_transfer>> transfers_;
  std::uint64_t next_id_ = 1;
  bool stopped_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for posted continuations
};

}  // namespace

std::unique_ptr<svc::service> make_service(svc::context& ctx,
                                           std::shared_ptr<const boot::catalog> catalog) {
  return std::make_unique<tftp_service>(ctx, std::move(catalog));
}

}  // namespace diskless::tftp
