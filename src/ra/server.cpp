// The IPv6 Router Advertisement service: the socket side of ra/ndp.hpp.
#include "ra/server.hpp"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <random>

#include "ra/ndp.hpp"
#include "util/asio.hpp"
#include "util/datagram.hpp"
#include "util/log.hpp"

namespace diskless::ra {

namespace {

using clock = ndp::scheduler::clock;

std::optional<mac_address> interface_mac(int fd, const std::string& name) {
  ifreq ifr{};
  if (name.size() >= sizeof ifr.ifr_name) return std::nullopt;
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  if (::ioctl(fd, SIOCGIFHWADDR, &ifr) != 0) return std::nullopt;
  std::array<std::uint8_t, 6> b{};
  std::memcpy(b.data(), ifr.ifr_hwaddr.sa_data, 6);
  return mac_address(b);
}

// The interface's link-local address: RAs must come from one (RFC 4861 §6.1.2).
std::optional<ndp::ipv6_address> link_local(const std::string& name) {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return std::nullopt;
  std::optional<ndp::ipv6_address> out;
  for (auto* a = list; a && !out; a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET6 || name != a->ifa_name) continue;
    ndp::ipv6_address v;
    sockaddr_in6 sa{};  // AF_INET6: ifa_addr points to a whole sockaddr_in6
    std::memcpy(&sa, a->ifa_addr, sizeof sa);
    std::memcpy(v.data(), &sa.sin6_addr, 16);
    if (ndp::is_link_local(v)) out = v;
  }
  ::freeifaddrs(list);
  return out;
}

class ra_service final : public svc::service {
 public:
  explicit ra_service(svc::context& ctx)
      : io_(ctx.io),
        inv_(ctx.inventory),
        alive_(std::make_shared<bool>(true)),
        timer_(ctx.io),
        rng_(std::random_device{}()),
        sched_([this](ndp::scheduler::duration max) {
          std::uniform_int_distribution<long> d(0, static_cast<long>(max.count()));
          return ndp::scheduler::duration(d(rng_));
        }) {}
  ~ra_service() override { *alive_ = false; }

  std::string_view name() const override { return "ra"; }

  result<void> start() override {
    open();
    return {};  // an optimisation only: a host without IPv6 still serves
  }

  void stop() override {
    close();
    *alive_ = false;
  }

  void apply(const inventory::inventory_ptr& inv) override {
    const bool was = inv_->server.dhcp.ra_enabled();
    const auto old_if = inv_->server.interface;
    inv_ = inv;
    if (was != inv_->server.dhcp.ra_enabled() || old_if != inv_->server.interface) {
      close();
      open();
    }
  }

 private:
  void open() {
    const auto& s = inv_->server;
    if (!s.dhcp.ra_enabled()) {
      log::dhcp().debug("IPv6 router advertisements off");
      return;
    }
    if (s.interface.empty()) {
      log::dhcp().warn("IPv6 router advertisements need <server interface=...>; not sent");
      return;
    }
    ifname_ = s.interface;
    ifindex_ = static_cast<int>(::if_nametoindex(ifname_.c_str()));
    auto fail = [&](std::string_view what) {
      log::dhcp().warn("IPv6 router advertisements on {}: {}: {}; not sent", ifname_, what,
                       std::strerror(errno));
      close();
    };
    if (ifindex_ == 0) return fail("no such interface");
    const int fd = ::socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
    if (fd < 0) return fail("raw ICMPv6 socket");
    sock_ =
        std::make_unique<socket_t>(io_, asio::generic::raw_protocol(AF_INET6, IPPROTO_ICMPV6), fd);
    const int on = 1, hops = 255, off = 0;
    icmp6_filter filter;
    ICMP6_FILTER_SETBLOCKALL(&filter);
    ICMP6_FILTER_SETPASS(ndp::type_router_solicitation, &filter);
    ipv6_mreq join{};
    std::memcpy(&join.ipv6mr_multiaddr, ndp::all_routers.data(), 16);
    join.ipv6mr_interface = static_cast<unsigned>(ifindex_);
    const unsigned idx = static_cast<unsigned>(ifindex_);
    if (::setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter) != 0)
      return fail("ICMP6_FILTER");
    if (::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname_.c_str(),
                     static_cast<socklen_t>(ifname_.size())) != 0)
      return fail("SO_BINDTODEVICE");
    if (::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof on) != 0 ||
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on) != 0)
      return fail("IPV6_RECVHOPLIMIT/RECVPKTINFO");
    // RFC 4861 §6.1.2: receivers drop an RA whose hop limit is not 255.
    if (::setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops) != 0 ||
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof hops) != 0 ||
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, sizeof idx) != 0 ||
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &off, sizeof off) != 0)
      return fail("IPV6 hop limits / multicast interface");
    // A host that is not forwarding is not in ff02::2: join it for the solicitations.
    if (::setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &join, sizeof join) != 0)
      return fail("join ff02::2");
    sched_.start(clock::now());
    log::dhcp().info("IPv6 router advertisements on {} (no default router, no prefix)", ifname_);
    arm_read();
    arm_timer();
  }

  void close() {
    if (sock_) {
      boost::system::error_code ec;
      sock_->close(ec);
      retired_.push_back(std::move(sock_));  // queued handlers still refer to it
    }
    timer_.cancel();
    sched_ = ndp::scheduler([this](ndp::scheduler::duration max) {
      std::uniform_int_distribution<long> d(0, static_cast<long>(max.count()));
      return ndp::scheduler::duration(d(rng_));
    });
  }

  void arm_read() {
    auto* s = sock_.get();
    s->async_wait(socket_t::wait_read, [this, alive = alive_, s](boost::system::error_code ec) {
      if (!*alive || ec || s != sock_.get()) return;
      drain();
      arm_timer();
      arm_read();
    });
  }

  void drain() {
    std::array<std::byte, 1500> buf;
    for (int i = 0; i < 64; ++i) {
      sockaddr_in6 src{};
      iovec iov{buf.data(), buf.size()};
      alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(in6_pktinfo))>
          ctrl{};
      auto msg = datagram_msg(&src, sizeof src, iov, ctrl);
      const auto n = ::recvmsg(sock_->native_handle(), &msg, MSG_DONTWAIT);
      if (n < 0) break;
      const int hop_limit = find_control<int>(msg, IPPROTO_IPV6, IPV6_HOPLIMIT).value_or(-1);
      const auto pi = find_control<in6_pktinfo>(msg, IPPROTO_IPV6, IPV6_PKTINFO);
      const int ifindex = pi ? static_cast<int>(pi->ipi6_ifindex) : 0;
      if (ifindex != 0 && ifindex != ifindex_) continue;
      ndp::ipv6_address from;
      std::memcpy(from.data(), &src.sin6_addr, 16);
      auto rs = ndp::parse_solicitation(byte_span(buf.data(), static_cast<std::size_t>(n)),
                                        hop_limit, from);
      if (!rs) {
        log::dhcp().debug("ra: dropped ICMPv6 from {}: {}", ndp::to_string(from),
                          rs.error_message());
        continue;
      }
      log::dhcp().debug("ra: router solicitation from {}{}", ndp::to_string(from),
                        rs->source_lla ? " (" + rs->source_lla->str() + ")" : "");
      sched_.solicited(clock::now(), from);
    }
  }

  void arm_timer() {
    const auto at = sched_.next();
    if (at == clock::time_point::max()) return;
    timer_.expires_at(at);
    timer_.async_wait([this, alive = alive_](boost::system::error_code ec) {
      if (!*alive || ec || !sock_) return;
      for (const auto& to : sched_.due(clock::now())) send(to);
      arm_timer();
    });
  }

  void send(const ndp::ipv6_address& to) {
    const auto from = link_local(ifname_);
    if (!from) {
      log::dhcp().debug("ra: {} has no IPv6 link-local address yet", ifname_);
      return failed(to);
    }
    // Our MAC now, not at start: a bridge takes its ports' addresses as they join.
    ndp::advertisement a;
    a.source_lla = interface_mac(sock_->native_handle(), ifname_);
    auto ra = ndp::build_advertisement(a);
    sockaddr_in6 dst{};
    dst.sin6_family = AF_INET6;
    std::memcpy(&dst.sin6_addr, to.data(), 16);
    dst.sin6_scope_id = static_cast<std::uint32_t>(ifindex_);
    iovec iov{ra.data(), ra.size()};
    alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(in6_pktinfo))> ctrl{};
    auto msg = datagram_msg(&dst, sizeof dst, iov, ctrl);
    in6_pktinfo pi{};
    std::memcpy(&pi.ipi6_addr, from->data(), 16);
    pi.ipi6_ifindex = static_cast<unsigned>(ifindex_);
    set_control(msg, IPPROTO_IPV6, IPV6_PKTINFO, pi);
    // The kernel computes the ICMPv6 checksum on raw ICMPv6 sockets (RFC 3542 §3.1).
    if (::sendmsg(sock_->native_handle(), &msg, MSG_DONTWAIT) < 0) {
      // EINVAL/EADDRNOTAVAIL while the link-local address is tentative (DAD, ~1 s after the
      // link comes up): iPXE would otherwise wait for its next solicitation.
      log::dhcp().debug("ra: send to {}: {}", ndp::to_string(to), std::strerror(errno));
      failed(to);
    } else {
      failures_ = 0;
      log::dhcp().debug("ra: router advertisement to {}", ndp::to_string(to));
    }
  }

  // Retries for a while (DAD takes about a second), then waits for the next RS or period.
  void failed(const ndp::ipv6_address& to) {
    if (++failures_ == max_failures)
      log::dhcp().warn(
          "ra: cannot send router advertisements on {} (no usable IPv6 link-local "
          "address?)",
          ifname_);
    if (failures_ < max_failures) sched_.retry(clock::now(), to);
  }

  using socket_t = asio::basic_raw_socket<asio::generic::raw_protocol>;

  asio::io_context& io_;
  inventory::inventory_ptr inv_;
  std::shared_ptr<bool> alive_;
  asio::steady_timer timer_;
  std::minstd_rand rng_;
  ndp::scheduler sched_;
  std::unique_ptr<socket_t> sock_;
  std::vector<std::unique_ptr<socket_t>> retired_;
  std::string ifname_;
  int ifindex_ = 0;
  static constexpr int max_failures = 40;  // 10 s of retries
  int failures_ = 0;
};

}  // namespace

std::unique_ptr<svc::service> make_service(svc::context& ctx) {
  return std::make_unique<ra_service>(ctx);
}

}  // namespace diskless::ra
