// Attribute value parsers of the inventory (durations, IQNs, host names), shared by the loader
// and the command line. Pure functions over strings.
#include "inventory/values.hpp"

#include <algorithm>
#include <charconv>

#include "inventory/load.hpp"

namespace diskless::inventory {

std::optional<std::chrono::seconds> parse_duration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::uint64_t mult = 1;
  switch (s.back()) {
    case 's':
      mult = 1;
      s.remove_suffix(1);
      break;
    case 'm':
      mult = 60;
      s.remove_suffix(1);
      break;
    case 'h':
      mult = 3600;
      s.remove_suffix(1);
      break;
    case 'd':
      mult = 86400;
      s.remove_suffix(1);
      break;
    default:
      break;
  }
  auto n = parse_number<std::uint64_t>(s);
  if (!n || *n > 0xffffffffull / mult) return std::nullopt;
  return std::chrono::seconds(*n * mult);
}

std::optional<std::chrono::milliseconds> parse_millis(std::string_view s) {
  std::uint64_t mult = 1;
  if (s.ends_with("ms")) {
    s.remove_suffix(2);
  } else if (s.ends_with("s")) {
    s.remove_suffix(1);
    mult = 1000;
  }
  auto n = parse_number<std::uint64_t>(s);
  if (!n || *n > 600000 / mult) return std::nullopt;  // at most 10 minutes
  return std::chrono::milliseconds(*n * mult);
}

bool is_valid_iqn(std::string_view s) {
  // iqn.YYYY-MM.<reversed domain>[:<unique>]; RFC 3720 §3.2.6.3.1 (kept by RFC 7143 §4.2.7.4).
  if (s.size() < 12 || s.size() > 223 || !s.starts_with("iqn.")) return false;
  auto digits = [&](std::size_t from, std::size_t n) {
    for (std::size_t i = from; i < from + n; ++i)
      if (s[i] < '0' || s[i] > '9') return false;
    return true;
  };
  if (!digits(4, 4) || s[8] != '-' || !digits(9, 2) || s[11] != '.') return false;
  int month = (s[9] - '0') * 10 + (s[10] - '0');
  if (month < 1 || month > 12) return false;
  if (s.size() == 12 || s[12] == ':' || s[12] == '.') return false;  // needs a naming authority
  for (char c : s.substr(12)) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

bool is_valid_host_name(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(s.front())) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return alnum(c) || c == '-' || c == '.'; });
}

}  // namespace diskless::inventory
