#pragma once
// Wake-on-LAN for POST /api/v1/hosts/{name}/wake: the magic packet (AMD, "Magic Packet
// Technology", 1995: six 0xFF bytes, then the target MAC sixteen times) sent as a UDP broadcast
// to port 9 on the server's interface.
#include <array>
#include <cstddef>
#include <string>

#include "util/net.hpp"
#include "util/result.hpp"

namespace diskless::api {

inline constexpr std::size_t magic_packet_size = 6 + 16 * 6;

std::array<std::byte, magic_packet_size> magic_packet(const mac_address& mac);

// Blocking socket calls (short): run it on the io_pool. interface: SO_BINDTODEVICE when set.
result<void> send_magic_packet(const mac_address& mac, const std::string& interface);

}  // namespace diskless::api
