#pragma once
// MAC and IPv4 address value types with parsing and formatting.
#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace diskless {

class mac_address {
 public:
  constexpr mac_address() = default;
  constexpr explicit mac_address(std::array<std::uint8_t, 6> b) : b_(b) {}

  // Accepts aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff, aabb.ccdd.eeff and aabbccddeeff, any case.
  static std::optional<mac_address> parse(std::string_view s);

  std::string str() const;     // "52:54:00:12:34:01" (lower case, colons)
  std::string dashed() const;  // "52-54-00-12-34-01" (as used in boot file names)
  const std::array<std::uint8_t, 6>& octets() const { return b_; }
  std::uint64_t value() const;

  auto operator<=>(const mac_address&) const = default;

 private:
  std::array<std::uint8_t, 6> b_{};
};

class ipv4_address {
 public:
  constexpr ipv4_address() = default;
  constexpr explicit ipv4_address(std::uint32_t host_order) : v_(host_order) {}

  // Dotted quad only ("10.0.0.1"); rejects leading zeros that make it ambiguous ("010.0.0.1").
  static std::optional<ipv4_address> parse(std::string_view s);

  std::string str() const;
  std::uint32_t value() const { return v_; }  // host byte order
  std::array<std::uint8_t, 4> octets() const;
  bool is_unspecified() const { return v_ == 0; }

  auto operator<=>(const ipv4_address&) const = default;

 private:
  std::uint32_t v_ = 0;
};

// A subnet given as address + netmask.
struct ipv4_subnet {
  ipv4_address network;
  ipv4_address netmask;
  bool contains(ipv4_address a) const {
    return (a.value() & netmask.value()) == (network.value() & netmask.value());
  }
  ipv4_address broadcast() const {
    return ipv4_address((network.value() & netmask.value()) | ~netmask.value());
  }
};

// True when mask is a contiguous netmask (1s then 0s).
bool is_valid_netmask(ipv4_address mask);

}  // namespace diskless

template <>
struct std::hash<diskless::mac_address> {
  std::size_t operator()(const diskless::mac_address& m) const noexcept {
    return std::hash<std::uint64_t>{}(m.value());
  }
};
template <>
struct std::hash<diskless::ipv4_address> {
  std::size_t operator()(const diskless::ipv4_address& a) const noexcept {
    return std::hash<std::uint32_t>{}(a.value());
  }
};
