#include "api/wake.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace diskless::api {

std::array<std::byte, magic_packet_size> magic_packet(const mac_address& mac) {
  std::array<std::byte, magic_packet_size> p{};
  for (std::size_t i = 0; i < 6; ++i) p[i] = std::byte{0xff};
  for (std::size_t r = 0; r < 16; ++r)
    for (std::size_t i = 0; i < 6; ++i) p[6 + r * 6 + i] = std::byte{mac.octets()[i]};
  return p;
}

result<void> send_magic_packet(const mac_address& mac, const std::string& interface) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return error{std::string("socket: ") + std::strerror(errno)};
  int on = 1;
  std::string why;
  if (::setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof on) != 0)
    why = std::string("SO_BROADCAST: ") + std::strerror(errno);
  if (why.empty() && !interface.empty() &&
      ::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, interface.c_str(),
                   static_cast<socklen_t>(interface.size())) != 0)
    why = "cannot bind to interface " + interface + ": " + std::strerror(errno);
  if (why.empty()) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(9);  // discard: what WoL senders conventionally use
    to.sin_addr.s_addr = htonl(INADDR_BROADCAST);
    const auto p = magic_packet(mac);
    sockaddr addr{};
    std::memcpy(&addr, &to, sizeof to);
    if (::sendto(fd, p.data(), p.size(), 0, &addr, sizeof to) < 0)
      why = std::string("sendto: ") + std::strerror(errno);
  }
  ::close(fd);
  if (!why.empty()) return error{why};
  return {};
}

}  // namespace diskless::api
