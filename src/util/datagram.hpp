#pragma once
// One datagram with ancillary data, for recvmsg/sendmsg: the msghdr set-up and the control
// messages (IP_PKTINFO, IPV6_PKTINFO, hop limit) that the DHCP, TFTP and RA servers all use.
// Plain POSIX, no Asio.
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstring>
#include <optional>
#include <span>

namespace diskless {

// A msghdr over one buffer. `peer` (the sender for recvmsg, the destination for sendmsg), `iov`
// and `control` must outlive every use of the result; `control` may be empty (none).
inline msghdr datagram_msg(void* peer, socklen_t peer_len, iovec& iov,
                           std::span<char> control = {}) {
  msghdr m{};
  m.msg_name = peer;
  m.msg_namelen = peer_len;
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  if (!control.empty()) {
    m.msg_control = control.data();
    m.msg_controllen = control.size();
  }
  return m;
}

// For sendmsg: makes `value` the only control message of `m` (its control buffer must have
// CMSG_SPACE(sizeof(T)) bytes).
template <typename T>
void set_control(msghdr& m, int level, int type, const T& value) {
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = level;
  c->cmsg_type = type;
  c->cmsg_len = CMSG_LEN(sizeof(T));
  std::memcpy(CMSG_DATA(c), &value, sizeof(T));
  m.msg_controllen = CMSG_SPACE(sizeof(T));
}

// After recvmsg: the control message at level/type, copied out (none: nullopt).
template <typename T>
std::optional<T> find_control(msghdr& m, int level, int type) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level == level && c->cmsg_type == type && c->cmsg_len >= CMSG_LEN(sizeof(T))) {
      T v;
      std::memcpy(&v, CMSG_DATA(c), sizeof(T));
      return v;
    }
  }
  return std::nullopt;
}

}  // namespace diskless
