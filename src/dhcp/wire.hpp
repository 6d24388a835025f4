#pragma once
// The DHCP/BOOTP packet codec: RFC 2131 §2 (fixed header), RFC 2132 (options, magic cookie),
// RFC 3396 (long options split/concatenated), RFC 2132 §9.3 (option overload into file/sname).
//
// Contract: parse() never throws and never reads out of bounds; anything malformed (short header,
// bad magic cookie, an option running past its field, a missing end option, a bad overload value,
// hlen > 16) gives an error whose message is meant for a debug log line. serialize() always
// produces a well-formed packet of at least 300 bytes (the BOOTP minimum, RFC 1542 §2.1: some
// PXE ROMs drop shorter replies).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dhcp/options.hpp"
#include "util/bytes.hpp"
#include "util/net.hpp"
#include "util/result.hpp"

namespace diskless::dhcp {

inline constexpr std::uint8_t bootrequest = 1;
inline constexpr std::uint8_t bootreply = 2;
inline constexpr std::uint16_t broadcast_flag = 0x8000;    // RFC 2131 §2, figure 2
inline constexpr std::uint32_t magic_cookie = 0x63825363;  // RFC 2131 §3
inline constexpr std::size_t header_size = 236;            // up to and without the cookie

struct option {
  std::uint8_t code = 0;
  bytes value;
  bool operator==(const option&) const = default;
};

struct packet {
  std::uint8_t op = bootrequest;
  std::uint8_t htype = 1;  // Ethernet
  std::uint8_t hlen = 6;
  std::uint8_t hops = 0;
  std::uint32_t xid = 0;
  std::uint16_t secs = 0;
  std::uint16_t flags = 0;
  ipv4_address ciaddr, yiaddr, siaddr, giaddr;
  std::array<std::uint8_t, 16> chaddr{};
  std::string sname;  // without the NUL
  std::string file;   // without the NUL
  // Options in order; each code at most once (repeated codes are concatenated, RFC 3396 §5).
  // Pad and end are not stored.
  std::vector<option> options;

  const bytes* find(std::uint8_t code) const;
  bool has(std::uint8_t code) const { return find(code) != nullptr; }
  // Replaces the value of code, or appends it.
  void set(std::uint8_t code, bytes value);
  void erase(std::uint8_t code);

  std::optional<std::uint8_t> get_u8(std::uint8_t code) const;     // exactly 1 byte
  std::optional<std::uint16_t> get_u16(std::uint8_t code) const;   // at least 2, first value
  std::optional<std::uint32_t> get_u32(std::uint8_t code) const;   // exactly 4
  std::optional<ipv4_address> get_ip(std::uint8_t code) const;     // exactly 4
  std::optional<std::string> get_string(std::uint8_t code) const;  // trailing NULs stripped
  std::optional<message_type> type() const;                        // option 53 in 1..8

  mac_address mac() const;  // the first 6 bytes of chaddr
  void set_mac(const mac_address& m);
  bool broadcast() const { return (flags & broadcast_flag) != 0; }

  bool operator==(const packet&) const = default;
};

result<packet> parse(byte_span data);
bytes serialize(const packet& p);

}  // namespace diskless::dhcp
