#include "util/net.hpp"

#include <fmt/format.h>

namespace diskless {

namespace {
int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<mac_address> from_digits(std::string_view digits) {
  if (digits.size() != 12) return std::nullopt;
  std::array<std::uint8_t, 6> b{};
  for (int i = 0; i < 6; ++i) {
    int hi = hex_digit(digits[2 * i]), lo = hex_digit(digits[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    b[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return mac_address(b);
}
}  // namespace

std::optional<mac_address> mac_address::parse(std::string_view s) {
  std::string digits;
  if (s.size() == 17) {  // aa:bb:cc:dd:ee:ff or aa-bb-cc-dd-ee-ff, one separator kind throughout
    char sep = s[2];
    if (sep != ':' && sep != '-') return std::nullopt;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (i % 3 == 2) {
        if (s[i] != sep) return std::nullopt;
      } else {
        digits.push_back(s[i]);
      }
    }
  } else if (s.size() == 14) {  // aabb.ccdd.eeff (Cisco style)
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (i % 5 == 4) {
        if (s[i] != '.') return std::nullopt;
      } else {
        digits.push_back(s[i]);
      }
    }
  } else if (s.size() == 12) {
    digits = s;
  } else {
    return std::nullopt;
  }
  return from_digits(digits);
}

std::string mac_address::str() const {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b_[0], b_[1], b_[2], b_[3], b_[4],
                     b_[5]);
}

std::string mac_address::dashed() const {
  return fmt::format("{:02x}-{:02x}-{:02x}-{:02x}-{:02x}-{:02x}", b_[0], b_[1], b_[2], b_[3], b_[4],
                     b_[5]);
}

std::uint64_t mac_address::value() const {
  std::uint64_t v = 0;
  for (auto x : b_) v = (v << 8) | x;
  return v;
}

std::optional<ipv4_address> ipv4_address::parse(std::string_view s) {
  std::uint32_t v = 0;
  int parts = 0;
  std::size_t i = 0;
  while (parts < 4) {
    if (i >= s.size() || s[i] < '0' || s[i] > '9') return std::nullopt;
    std::size_t start = i;
    unsigned octet = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      octet = octet * 10 + static_cast<unsigned>(s[i] - '0');
      if (octet > 255 || i - start >= 3) return std::nullopt;
      ++i;
    }
    if (i - start > 1 && s[start] == '0') return std::nullopt;
    v = (v << 8) | octet;
    ++parts;
    if (parts < 4) {
      if (i >= s.size() || s[i] != '.') return std::nullopt;
      ++i;
    }
  }
  if (i != s.size()) return std::nullopt;
  return ipv4_address(v);
}

std::string ipv4_address::str() const {
  return fmt::format("{}.{}.{}.{}", v_ >> 24, (v_ >> 16) & 0xff, (v_ >> 8) & 0xff, v_ & 0xff);
}

std::array<std::uint8_t, 4> ipv4_address::octets() const {
  return {static_cast<std::uint8_t>(v_ >> 24), static_cast<std::uint8_t>(v_ >> 16),
          static_cast<std::uint8_t>(v_ >> 8), static_cast<std::uint8_t>(v_)};
}

bool is_valid_netmask(ipv4_address mask) {
  std::uint32_t inv = ~mask.value();
  return (inv & (inv + 1)) == 0;
}

}  // namespace diskless
