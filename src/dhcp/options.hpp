#pragma once
// DHCP option codes and value encoders (RFC 2132, RFC 4578 for PXE, iPXE's encapsulated 175).
// Encoders build option values only; the packet codec (wire.hpp) adds code and length.
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "util/bytes.hpp"
#include "util/net.hpp"

namespace diskless::dhcp {

namespace opt {
inline constexpr std::uint8_t pad = 0;
inline constexpr std::uint8_t subnet_mask = 1;       // RFC 2132 §3.3
inline constexpr std::uint8_t router = 3;            // RFC 2132 §3.5
inline constexpr std::uint8_t dns = 6;               // RFC 2132 §3.8
inline constexpr std::uint8_t hostname = 12;         // RFC 2132 §3.14
inline constexpr std::uint8_t vendor_specific = 43;  // RFC 2132 §8.4, PXE spec §2.4 sub-options
inline constexpr std::uint8_t requested_ip = 50;     // RFC 2132 §9.1
inline constexpr std::uint8_t lease_time = 51;       // RFC 2132 §9.2
inline constexpr std::uint8_t overload = 52;         // RFC 2132 §9.3
inline constexpr std::uint8_t message_type = 53;     // RFC 2132 §9.6
inline constexpr std::uint8_t server_id = 54;        // RFC 2132 §9.7
inline constexpr std::uint8_t param_request = 55;    // RFC 2132 §9.8
inline constexpr std::uint8_t message = 56;          // RFC 2132 §9.9
inline constexpr std::uint8_t max_message_size = 57;
inline constexpr std::uint8_t renewal_time = 58;    // T1, RFC 2132 §9.11
inline constexpr std::uint8_t rebinding_time = 59;  // T2, RFC 2132 §9.12
inline constexpr std::uint8_t vendor_class = 60;    // RFC 2132 §9.13 ("PXEClient", "HTTPClient")
inline constexpr std::uint8_t client_id = 61;
inline constexpr std::uint8_t user_class = 77;    // RFC 3004 (iPXE sends the bare "iPXE")
inline constexpr std::uint8_t rapid_commit = 80;  // RFC 4039
inline constexpr std::uint8_t client_arch = 93;   // RFC 4578 §2.1
inline constexpr std::uint8_t client_ndi = 94;    // RFC 4578 §2.2
inline constexpr std::uint8_t client_uuid = 97;   // RFC 4578 §2.3
inline constexpr std::uint8_t ipxe_encap = 175;   // iPXE's encapsulated options
inline constexpr std::uint8_t end = 255;
}  // namespace opt

// iPXE sub-options inside option 175 (ipxe/include/ipxe/dhcp.h).
namespace ipxe_opt {
inline constexpr std::uint8_t no_pxedhcp = 176;  // 1: do not wait for ProxyDHCP offers
}

// PXE sub-options inside option 43 (PXE spec 2.1, §2.4.1).
namespace pxe_opt {
inline constexpr std::uint8_t discovery_control = 6;  // bit 3 (8): use the boot file, no discovery
}

enum class message_type : std::uint8_t {
  discover = 1,
  offer = 2,
  request = 3,
  decline = 4,
  ack = 5,
  nak = 6,
  release = 7,
  inform = 8,
};
std::string_view to_string(message_type t);

inline constexpr std::uint16_t server_port = 67;
inline constexpr std::uint16_t client_port = 68;
inline constexpr std::uint16_t pxe_port = 4011;  // PXE spec §2.2.2: boot server / proxyDHCP

bytes encode_u8(std::uint8_t v);
bytes encode_u16(std::uint16_t v);
bytes encode_u32(std::uint32_t v);
bytes encode_ip(ipv4_address a);
bytes encode_ips(const std::vector<ipv4_address>& list);

struct sub_option {
  std::uint8_t code = 0;
  bytes value;
  bool operator==(const sub_option&) const = default;
};
// Encapsulated options (RFC 2132 §8.4): code, length, value... With terminate, a final 255 (the
// PXE spec requires it in option 43).
bytes encode_sub_options(const std::vector<sub_option>& subs, bool terminate);
// Decodes encapsulated options; nullopt when one runs past the end.
std::optional<std::vector<sub_option>> decode_sub_options(byte_span value);

}  // namespace diskless::dhcp
