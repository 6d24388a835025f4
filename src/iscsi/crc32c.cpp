#include "iscsi/crc32c.hpp"

#include <array>
#include <cstring>

namespace diskless::iscsi {
namespace {

// Reflected polynomial 0x1EDC6F41 (RFC 3385 §4). Slicing-by-8 tables for CPUs without SSE4.2.
constexpr std::uint32_t poly = 0x82F63B78u;

struct tables {
  std::array<std::array<std::uint32_t, 256>, 8> t{};
  constexpr tables() {
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
      t[0][i] = c;
    }
    for (std::uint32_t i = 0; i < 256; ++i)
      for (std::size_t s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
  }
};
constexpr tables tab;

inline std::uint32_t u(std::byte b) {
  return std::to_integer<std::uint32_t>(b);
}

std::uint32_t soft(std::uint32_t c, const std::byte* p, std::size_t n) {
  while (n >= 8) {
    std::uint32_t lo = c ^ (u(p[0]) | u(p[1]) << 8 | u(p[2]) << 16 | u(p[3]) << 24);
    std::uint32_t hi = u(p[4]) | u(p[5]) << 8 | u(p[6]) << 16 | u(p[7]) << 24;
    c = tab.t[7][lo & 0xff] ^ tab.t[6][(lo >> 8) & 0xff] ^ tab.t[5][(lo >> 16) & 0xff] ^
        tab.t[4][lo >> 24] ^ tab.t[3][hi & 0xff] ^ tab.t[2][(hi >> 8) & 0xff] ^
        tab.t[1][(hi >> 16) & 0xff] ^ tab.t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n--) c = (c >> 8) ^ tab.t[0][(c ^ u(*p++)) & 0xff];
  return c;
}

#if defined(__x86_64__)
// The SSE4.2 crc32 instruction computes exactly this polynomial; memcpy keeps loads aligned-safe.
__attribute__((target("sse4.2"))) std::uint32_t hard(std::uint32_t c, const std::byte* p,
                                                     std::size_t n) {
  std::uint64_t c64 = c;
  while (n >= 8) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    c64 = __builtin_ia32_crc32di(c64, v);
    p += 8;
    n -= 8;
  }
  c = static_cast<std::uint32_t>(c64);
  while (n--) c = __builtin_ia32_crc32qi(c, std::to_integer<unsigned char>(*p++));
  return c;
}
const bool have_sse42 = __builtin_cpu_supports("sse4.2");
#endif

}  // namespace

std::uint32_t crc32c_update(std::uint32_t crc, byte_span data) {
  std::uint32_t c = ~crc;
  const std::byte* p = data.data();
#if defined(__x86_64__)
  if (have_sse42) return ~hard(c, p, data.size());
#endif
  return ~soft(c, p, data.size());
}

}  // namespace diskless::iscsi
