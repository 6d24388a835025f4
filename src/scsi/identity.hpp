#pragma once
// The identity of a logical unit: the UNIT SERIAL NUMBER (VPD 80h, SPC-4 §7.8.17) and the NAA
// locally assigned designator (VPD 83h, SPC-4 §7.8.6.6). Initiators tell disks apart by these:
// Windows' disk class driver and MPIO, Linux /dev/disk/by-id. Two hosts that boot clones of one
// golden image must see different identities, and one host the same one on every boot, across
// server restarts and overlay resets, so it is derived from a stable per-host key, never from
// the image's content or anything random.
#include <cstdint>
#include <string>
#include <string_view>

namespace diskless::scsi {

struct identity {
  std::string serial;     // ASCII; empty: derived from naa (see serial_for)
  std::uint64_t naa = 0;  // the 60-bit value after NAA 3h (the upper 4 bits are ignored)
  friend bool operator==(const identity&, const identity&) = default;
};

// 64-bit FNV-1a of s (offset basis cbf29ce484222325h, prime 100000001b3h).
std::uint64_t fnv1a64(std::string_view s);

// "DL" + 14 upper-case hex digits of the low 56 bits of naa: 16 ASCII characters.
std::string serial_for(std::uint64_t naa);

// The identity for a stable per-host key ("<image>/<host name>", the host name, the MAC):
// h = fnv1a64(key), naa = the low 60 bits of h, serial = serial_for(h). Pure: equal keys give
// equal identities; distinct keys give distinct ones unless their hashes collide in 56 bits.
identity identity_for(std::string_view stable_key);

}  // namespace diskless::scsi
