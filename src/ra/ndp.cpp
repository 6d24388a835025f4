#include "ra/ndp.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace diskless::ra::ndp {

bool is_link_local(const ipv6_address& a) {
  return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

std::string to_string(const ipv6_address& a) {
  std::array<std::uint16_t, 8> g{};
  for (int i = 0; i < 8; ++i) g[i] = static_cast<std::uint16_t>(a[2 * i] << 8 | a[2 * i + 1]);
  // RFC 5952 §4.2: the longest run (>= 2) of zero groups becomes "::", the first if tied.
  int best = -1, best_len = 1;
  for (int i = 0; i < 8;) {
    int j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len) best = i, best_len = j - i;
    i = j == i ? i + 1 : j;
  }
  std::string s;
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      s += "::";
      i += best_len - 1;
      continue;
    }
    if (!s.empty() && s.back() != ':') s += ':';
    s += fmt::format("{:x}", g[i]);
  }
  return s;
}

namespace {

// Walks the options (RFC 4861 §4.6): type, length in 8-octet units, data. Calls f(type, body)
// with body the whole option. Fails on a zero length or an option running past the end.
template <class F>
result<void> each_option(byte_span opts, F&& f) {
  while (!opts.empty()) {
    if (opts.size() < 2) return error{"truncated option"};
    const auto type = std::to_integer<std::uint8_t>(opts[0]);
    const auto units = std::to_integer<std::uint8_t>(opts[1]);
    if (units == 0) return error{fmt::format("option {} has length 0", type)};
    const std::size_t len = std::size_t{units} * 8;
    if (len > opts.size())
      return error{
          fmt::format("option {} runs past the end ({} > {} octets)", type, len, opts.size())};
    f(type, opts.first(len));
    opts = opts.subspan(len);
  }
  return {};
}

std::optional<mac_address> ethernet_lla(byte_span option) {
  if (option.size() != 8) return std::nullopt;  // RFC 2464 §6: one unit for Ethernet
  std::array<std::uint8_t, 6> b{};
  for (std::size_t i = 0; i < 6; ++i) b[i] = std::to_integer<std::uint8_t>(option[2 + i]);
  return mac_address(b);
}

}  // namespace

result<router_solicitation> parse_solicitation(byte_span icmp, int hop_limit,
                                               const ipv6_address& source) {
  if (hop_limit != 255) return error{fmt::format("hop limit {} is not 255", hop_limit)};
  if (icmp.size() < 8) return error{fmt::format("{} octets, fewer than 8", icmp.size())};
  const auto type = std::to_integer<std::uint8_t>(icmp[0]);
  const auto code = std::to_integer<std::uint8_t>(icmp[1]);
  if (type != type_router_solicitation)
    return error{fmt::format("ICMPv6 type {} is not a router solicitation", type)};
  if (code != 0) return error{fmt::format("code {} is not 0", code)};
  router_solicitation rs;
  bool lla_seen = false;
  auto walked = each_option(icmp.subspan(8), [&](std::uint8_t t, byte_span body) {
    if (t != option_source_lla) return;
    lla_seen = true;
    if (!rs.source_lla) rs.source_lla = ethernet_lla(body);
  });
  if (!walked) return error{walked.error_message()};
  if (lla_seen && source == unspecified)
    return error{"source link-layer address option from the unspecified address"};
  return rs;
}

bytes build_advertisement(const advertisement& a) {
  byte_writer w(64);
  w.u8(type_router_advertisement).u8(0).u16(0);
  w.u8(a.cur_hop_limit)
      .u8(static_cast<std::uint8_t>((a.managed ? 0x80 : 0) | (a.other ? 0x40 : 0)))
      .u16(a.router_lifetime);
  w.u32(a.reachable_time).u32(a.retrans_timer);
  if (a.source_lla) {
    w.u8(option_source_lla).u8(1);
    for (auto b : a.source_lla->octets()) w.u8(b);
  }
  if (a.mtu != 0) w.u8(option_mtu).u8(1).u16(0).u32(a.mtu);
  return w.take();
}

result<advertisement> parse_advertisement(byte_span icmp) {
  if (icmp.size() < 16) return error{fmt::format("{} octets, fewer than 16", icmp.size())};
  if (std::to_integer<std::uint8_t>(icmp[0]) != type_router_advertisement)
    return error{"not a router advertisement"};
  if (std::to_integer<std::uint8_t>(icmp[1]) != 0) return error{"code is not 0"};
  advertisement a;
  a.cur_hop_limit = std::to_integer<std::uint8_t>(icmp[4]);
  const auto flags = std::to_integer<std::uint8_t>(icmp[5]);
  a.managed = flags & 0x80;
  a.other = flags & 0x40;
  a.router_lifetime = load_u16(icmp, 6);
  a.reachable_time = load_u32(icmp, 8);
  a.retrans_timer = load_u32(icmp, 12);
  auto walked = each_option(icmp.subspan(16), [&](std::uint8_t t, byte_span body) {
    if (t == option_source_lla && !a.source_lla) a.source_lla = ethernet_lla(body);
    if (t == option_mtu && body.size() == 8) a.mtu = load_u32(body, 4);
  });
  if (!walked) return error{walked.error_message()};
  return a;
}

std::uint16_t checksum(const ipv6_address& src, const ipv6_address& dst, byte_span icmp) {
  std::uint32_t sum = 0;
  auto add16 = [&](std::uint8_t hi, std::uint8_t lo) { sum += std::uint32_t{hi} << 8 | lo; };
  for (int i = 0; i < 16; i += 2) add16(src[i], src[i + 1]);
  for (int i = 0; i < 16; i += 2) add16(dst[i], dst[i + 1]);
  const auto len = static_cast<std::uint32_t>(icmp.size());
  sum += len >> 16;
  sum += len & 0xffff;
  sum += 58;  // next header: ICMPv6
  for (std::size_t i = 0; i < icmp.size(); i += 2) {
    if (i == 2) continue;  // the checksum field itself counts as zero
    const auto hi = std::to_integer<std::uint8_t>(icmp[i]);
    const auto lo = i + 1 < icmp.size() ? std::to_integer<std::uint8_t>(icmp[i + 1]) : 0;
    add16(hi, lo);
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffff);
}

void set_checksum(bytes& icmp, const ipv6_address& src, const ipv6_address& dst) {
  if (icmp.size() < 4) return;
  store_u16(icmp, 2, checksum(src, dst, icmp));
}

scheduler::scheduler(random_fn random) : random_(std::move(random)) {}

void scheduler::start(clock::time_point now) {
  started_ = true;
  initial_sent_ = 0;
  last_multicast_.reset();
  unicast_.clear();
  next_multicast_ = now;
}

void scheduler::plan_multicast(clock::time_point at) {
  if (at < next_multicast_) {
    next_multicast_ = at;
  }
}

void scheduler::solicited(clock::time_point now, const ipv6_address& source) {
  if (!started_) return;
  const auto delay = std::clamp(random_(max_ra_delay), duration{0}, max_ra_delay);
  if (next_multicast_ <= now + delay) return;  // a multicast already planned answers it
  const bool limited = last_multicast_ && *last_multicast_ + min_delay_between_ras > now + delay;
  if (source != unspecified && limited) {
    // One answer per host in flight (a second RS before it is answered is answered by it).
    for (auto& p : unicast_)
      if (p.to == source) return;
    if (unicast_.size() < max_pending_unicast) {
      unicast_.push_back({source, now + delay});
      return;
    }
    // A flood of solicitations: fall back to one multicast answer (rate limited below).
  }
  auto at = now + delay;
  if (last_multicast_ && *last_multicast_ + min_delay_between_ras > now)
    at = *last_multicast_ + min_delay_between_ras + delay;
  plan_multicast(at);
}

std::vector<ipv6_address> scheduler::due(clock::time_point now) {
  std::vector<ipv6_address> out;
  if (!started_) return out;
  std::stable_sort(unicast_.begin(), unicast_.end(),
                   [](const pending& a, const pending& b) { return a.at < b.at; });
  auto it = unicast_.begin();
  for (; it != unicast_.end() && it->at <= now; ++it) out.push_back(it->to);
  unicast_.erase(unicast_.begin(), it);
  if (next_multicast_ <= now) {
    out.push_back(all_nodes);
    last_multicast_ = now;
    if (initial_sent_ < max_initial_advertisements) ++initial_sent_;
    // The next unsolicited one: at most 16 s apart while the first three go out, then a random
    // interval in [MinRtrAdvInterval, MaxRtrAdvInterval] (§6.2.4).
    const auto jitter =
        std::clamp(random_(max_interval - min_interval), duration{0}, max_interval - min_interval);
    duration gap = min_interval + jitter;
    if (initial_sent_ < max_initial_advertisements) gap = std::min(gap, max_initial_interval);
    next_multicast_ = now + gap;
  }
  return out;
}

void scheduler::retry(clock::time_point now, const ipv6_address& to) {
  if (!started_) return;
  if (to == all_nodes) {
    if (initial_sent_ > 0) --initial_sent_;  // it did not go out
    last_multicast_.reset();
    plan_multicast(now + retry_delay);
    return;
  }
  for (auto& p : unicast_)
    if (p.to == to) return;
  if (unicast_.size() < max_pending_unicast) unicast_.push_back({to, now + retry_delay});
}

scheduler::clock::time_point scheduler::next() const {
  if (!started_) return clock::time_point::max();
  auto t = next_multicast_;
  for (auto& p : unicast_) t = std::min(t, p.at);
  return t;
}

}  // namespace diskless::ra::ndp
