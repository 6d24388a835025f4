#include "dhcp/leases.hpp"

#include <fmt/format.h>

#include <charconv>
#include <utility>
#include <vector>

namespace diskless::dhcp {

namespace {
std::int64_t unix_seconds(sys_time t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
sys_time from_unix(std::int64_t s) {
  return sys_time(std::chrono::seconds(s));
}
}  // namespace

void lease_table::configure(std::optional<ipv4_address> first, std::optional<ipv4_address> last,
                            std::unordered_set<ipv4_address> reserved) {
  have_pool_ = first && last && first->value() <= last->value();
  first_ = have_pool_ ? first->value() : 0;
  last_ = have_pool_ ? last->value() : 0;
  if (cursor_ < first_ || cursor_ > last_) cursor_ = first_;
  reserved_ = std::move(reserved);
}

bool lease_table::in_pool(ipv4_address ip) const {
  return have_pool_ && ip.value() >= first_ && ip.value() <= last_;
}

const lease* lease_table::by_mac(const mac_address& mac) const {
  auto it = by_mac_.find(mac);
  return it == by_mac_.end() ? nullptr : &it->second;
}

const lease* lease_table::holder(ipv4_address ip, sys_time now) const {
  auto it = by_ip_.find(ip);
  if (it == by_ip_.end()) return nullptr;
  const auto* l = by_mac(it->second);
  if (!l || l->expires <= now) return nullptr;
  return l;
}

bool lease_table::declined(ipv4_address ip, sys_time now) const {
  auto it = declined_.find(ip);
  return it != declined_.end() && it->second > now;
}

bool lease_table::free_for(ipv4_address ip, const mac_address& mac, sys_time now) const {
  if (declined(ip, now)) return false;
  const auto* h = holder(ip, now);
  return !h || h->mac == mac;
}

std::optional<ipv4_address> lease_table::allocate(const mac_address& mac, sys_time now) {
  if (!have_pool_) return std::nullopt;
  // The previous address first (RFC 2131 §4.3.1: "the client's current address ... or its
  // previous address"), even when its lease ran out, if nobody else took it.
  if (const auto* l = by_mac(mac);
      l && in_pool(l->ip) && !reserved_.contains(l->ip) && free_for(l->ip, mac, now))
    return l->ip;
  // Then a round-robin scan from the cursor: never-used addresses come before expired ones
  // until the pool wraps, which keeps an expired lease's address for its owner a while.
  const std::uint64_t n = std::uint64_t(last_) - first_ + 1;
  for (std::uint64_t i = 0; i < n; ++i) {
    const ipv4_address ip(cursor_);
    cursor_ = cursor_ >= last_ ? first_ : cursor_ + 1;
    if (reserved_.contains(ip) || !free_for(ip, mac, now)) continue;
    return ip;
  }
  return std::nullopt;
}

std::optional<ipv4_address> lease_table::reclaim_offer(
    const mac_address& mac, sys_time now,
    const std::function<bool(const mac_address&)>& evictable) {
  for (const auto& [m, l] : by_mac_) {
    if (l.bound || m == mac || !in_pool(l.ip) || reserved_.contains(l.ip)) continue;
    if (l.expires <= now || declined(l.ip, now) || !evictable(m)) continue;
    const auto ip = l.ip;
    remove_mac(m);  // an offer is never journaled: nothing to write
    return ip;
  }
  return std::nullopt;
}

void lease_table::remove_mac(const mac_address& mac) {
  auto it = by_mac_.find(mac);
  if (it == by_mac_.end()) return;
  auto ip_it = by_ip_.find(it->second.ip);
  if (ip_it != by_ip_.end() && ip_it->second == mac) by_ip_.erase(ip_it);
  by_mac_.erase(it);
}

void lease_table::put(const lease& l) {
  // Keep the invariant: whoever held the address before loses it.
  if (auto it = by_ip_.find(l.ip); it != by_ip_.end() && it->second != l.mac)
    by_mac_.erase(it->second);
  remove_mac(l.mac);
  by_mac_[l.mac] = l;
  by_ip_[l.ip] = l.mac;
}

void lease_table::offer(const mac_address& mac, ipv4_address ip, sys_time now) {
  // An offer never shortens or replaces an existing binding of the same address.
  if (const auto* l = by_mac(mac); l && l->bound && l->ip == ip && l->expires > now) return;
  put({mac, ip, now + offer_hold, false});
}

void lease_table::bind(const mac_address& mac, ipv4_address ip, sys_time expires) {
  put({mac, ip, expires, true});
  journal_ += fmt::format("B {} {} {}\n", mac.str(), ip.str(), unix_seconds(expires));
  ++records_;
}

void lease_table::release(const mac_address& mac, ipv4_address ip) {
  const auto* l = by_mac(mac);
  if (!l || l->ip != ip) return;
  remove_mac(mac);
  journal_ += fmt::format("F {} {}\n", mac.str(), ip.str());
  ++records_;
}

void lease_table::decline(ipv4_address ip, sys_time until) {
  if (auto it = by_ip_.find(ip); it != by_ip_.end()) remove_mac(it->second);
  declined_[ip] = until;
  journal_ += fmt::format("D {} {}\n", ip.str(), unix_seconds(until));
  ++records_;
}

namespace {
std::vector<std::string_view> split(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    auto j = line.find(' ', i);
    if (j == std::string_view::npos) j = line.size();
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}
// A journal time: Unix seconds from 0 to 4102444800 (year 2100). Larger values would overflow
// system_clock's nanoseconds when converted (found by the journal fuzz target): such a line is
// skipped as corrupt.
std::optional<std::int64_t> to_int(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  if (v < 0 || v > 4102444800) return std::nullopt;
  return v;
}
}  // namespace

std::size_t lease_table::load(std::string_view journal) {
  std::size_t skipped = 0;
  while (!journal.empty()) {
    auto nl = journal.find('\n');
    if (nl == std::string_view::npos) {
      // A last line without newline is a torn write: not trusted.
      ++skipped;
      break;
    }
    auto line = journal.substr(0, nl);
    journal.remove_prefix(nl + 1);
    if (line.empty() || line[0] == '#') continue;
    auto f = split(line);
    bool ok = false;
    if (f.size() == 4 && f[0] == "B") {
      auto mac = mac_address::parse(f[1]);
      auto ip = ipv4_address::parse(f[2]);
      auto t = to_int(f[3]);
      if (mac && ip && t) {
        declined_.erase(*ip);  // a later binding supersedes a decline (the snapshot must agree)
        put({*mac, *ip, from_unix(*t), true});
        ok = true;
      }
    } else if (f.size() == 3 && f[0] == "F") {
      auto mac = mac_address::parse(f[1]);
      auto ip = ipv4_address::parse(f[2]);
      if (mac && ip) {
        if (const auto* l = by_mac(*mac); l && l->ip == *ip) remove_mac(*mac);
        ok = true;
      }
    } else if (f.size() == 3 && f[0] == "D") {
      auto ip = ipv4_address::parse(f[1]);
      auto t = to_int(f[2]);
      if (ip && t) {
        if (auto it = by_ip_.find(*ip); it != by_ip_.end()) remove_mac(it->second);
        declined_[*ip] = from_unix(*t);
        ok = true;
      }
    }
    if (ok)
      ++records_;
    else
      ++skipped;
  }
  return skipped;
}

std::string lease_table::snapshot(sys_time now) const {
  std::string out = "# diskless dhcp leases v1\n";
  for (const auto& [mac, l] : by_mac_)
    if (l.bound && l.expires > now)
      out += fmt::format("B {} {} {}\n", mac.str(), l.ip.str(), unix_seconds(l.expires));
  for (const auto& [ip, until] : declined_)
    if (until > now) out += fmt::format("D {} {}\n", ip.str(), unix_seconds(until));
  return out;
}

std::string lease_table::take_journal() {
  return std::exchange(journal_, {});
}

std::size_t lease_table::bound_count(sys_time now) const {
  std::size_t n = 0;
  for (const auto& [mac, l] : by_mac_)
    if (l.bound && l.expires > now) ++n;
  return n;
}

}  // namespace diskless::dhcp
