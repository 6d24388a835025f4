#pragma once
// Number parsing shared by the inventory's value parsers (values.cpp) and the loader (load.cpp).
#include <charconv>
#include <optional>
#include <string_view>

namespace diskless::inventory {

// The whole of `s` as a T, or nothing (empty, trailing characters, out of range).
template <typename T>
std::optional<T> parse_number(std::string_view s) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

}  // namespace diskless::inventory
