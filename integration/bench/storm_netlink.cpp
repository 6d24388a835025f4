#include "storm_netlink.hpp"

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace storm {
namespace {

// Appends one rtattr (RFC 3549 §2.3.2) holding a 4-byte value.
void add_attr(std::uint8_t* msg, std::size_t& len, std::uint16_t type, std::uint32_t v_net) {
  std::size_t at = NLMSG_ALIGN(len);
  rtattr a{};
  a.rta_len = RTA_LENGTH(4);
  a.rta_type = type;
  std::memcpy(msg + at, &a, sizeof a);
  std::memcpy(msg + at + RTA_LENGTH(0), &v_net, 4);
  len = at + RTA_ALIGN(a.rta_len);
}

}  // namespace

netlink::netlink() {
  fd_ = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
}
netlink::~netlink() {
  if (fd_ >= 0) ::close(fd_);
}

std::string netlink::add_address(int ifindex, std::uint32_t address, int prefix) {
  if (fd_ < 0) return "no netlink socket";
  alignas(nlmsghdr) std::uint8_t msg[256]{};
  nlmsghdr h{};
  h.nlmsg_type = RTM_NEWADDR;
  h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
  h.nlmsg_seq = ++seq_;
  ifaddrmsg ifa{};
  ifa.ifa_family = AF_INET;
  ifa.ifa_prefixlen = static_cast<std::uint8_t>(prefix);
  ifa.ifa_index = static_cast<std::uint32_t>(ifindex);
  std::size_t len = NLMSG_LENGTH(sizeof ifa);
  std::memcpy(msg + NLMSG_HDRLEN, &ifa, sizeof ifa);
  std::uint32_t a = htonl(address);
  add_attr(msg, len, IFA_LOCAL, a);
  add_attr(msg, len, IFA_ADDRESS, a);
  h.nlmsg_len = static_cast<std::uint32_t>(len);
  std::memcpy(msg, &h, sizeof h);
  if (::send(fd_, msg, len, 0) < 0) return std::strerror(errno);
  alignas(nlmsghdr) std::uint8_t reply[512];
  for (;;) {
    ssize_t n = ::recv(fd_, reply, sizeof reply, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < static_cast<ssize_t>(NLMSG_HDRLEN + sizeof(int))) return "short netlink reply";
    nlmsghdr r;
    std::memcpy(&r, reply, sizeof r);
    if (r.nlmsg_seq != seq_ || r.nlmsg_type != NLMSG_ERROR) continue;
    int err;
    std::memcpy(&err, reply + NLMSG_HDRLEN, sizeof err);
    if (err == 0 || err == -EEXIST) return "";
    return std::strerror(-err);
  }
}

}  // namespace storm
