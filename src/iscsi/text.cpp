#include "iscsi/text.hpp"

#include <algorithm>
#include <charconv>

namespace diskless::iscsi {
namespace {

// §6.1: key names use letters, digits, '.', '-', '+', '@', '_'.
bool valid_key(std::string_view k) {
  if (k.empty() || k.size() > 63) return false;
  return std::all_of(k.begin(), k.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '+' || c == '@' || c == '_' || c == '#';
  });
}

std::vector<std::string_view> split_list(std::string_view v) {
  std::vector<std::string_view> out;
  while (true) {
    auto c = v.find(',');
    out.push_back(v.substr(0, c));
    if (c == std::string_view::npos) break;
    v.remove_prefix(c + 1);
  }
  return out;
}

int b64(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::optional<std::uint64_t> parse_number(std::string_view v) {
  int base = 10;
  if (v.size() > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
    v.remove_prefix(2);
    base = 16;
  }
  if (v.empty() || v.size() > 16) return std::nullopt;
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n, base);
  if (ec != std::errc{} || p != v.data() + v.size()) return std::nullopt;
  return n;
}

std::optional<key_values> parse_text(byte_span data) {
  key_values out;
  std::string copy = to_string(data);
  std::string_view all(copy);
  while (!all.empty()) {
    auto nul = all.find('\0');
    auto item = all.substr(0, nul);
    all = nul == std::string_view::npos ? std::string_view{} : all.substr(nul + 1);
    if (item.empty()) continue;  // padding NULs
    auto eq = item.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    auto key = item.substr(0, eq);
    auto value = item.substr(eq + 1);
    if (!valid_key(key) || value.size() > 8192) return std::nullopt;
    out.emplace_back(std::string(key), std::string(value));
  }
  return out;
}

bytes encode_text(const key_values& kv) {
  byte_writer w;
  for (auto& [k, v] : kv) {
    w.append(k).append("=").cstring(v);
  }
  return w.take();
}

const std::string* find_key(const key_values& kv, std::string_view key) {
  for (auto& [k, v] : kv)
    if (k == key) return &v;
  return nullptr;
}

std::optional<bytes> decode_binary(std::string_view v) {
  if (v.size() < 3 || v[0] != '0') return std::nullopt;
  auto body = v.substr(2);
  if (v[1] == 'x' || v[1] == 'X') {
    if (body.size() % 2) return std::nullopt;  // odd digit counts: ambiguous, refuse
    auto b = from_hex(body);
    if (b.size() * 2 != body.size()) return std::nullopt;
    return b;
  }
  if (v[1] == 'b' || v[1] == 'B') {
    bytes out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : body) {
      if (c == '=') break;
      int d = b64(c);
      if (d < 0) return std::nullopt;
      acc = (acc << 6) | static_cast<std::uint32_t>(d);
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out.push_back(std::byte((acc >> bits) & 0xff));
      }
    }
    if (out.empty()) return std::nullopt;
    return out;
  }
  return std::nullopt;
}

std::string encode_hex(byte_span b) {
  return "0x" + to_hex(b);
}

// How a key's value is settled (§6.2.1, §13): from a list (the first option we accept), the
// minimum or maximum of both sides' numbers, the AND or OR of both sides' booleans, declared by
// the initiator alone (no answer), or always rejected.
enum class rule_kind { list, minimum, maximum, boolean_and, boolean_or, declarative, reject };

struct key_rule {
  std::string_view key;
  rule_kind kind = rule_kind::reject;
  std::uint64_t lo = 0, hi = 0;                     // numbers outside [lo, hi] are rejected
  std::uint32_t session_params::*number = nullptr;  // where a numeric result goes
  bool session_params::*flag = nullptr;             // where a boolean (or list != None) goes
  // Our side: the number for minimum/maximum, 0/1 for booleans.
  std::uint32_t (*ours)(const target_limits&) = nullptr;
  // list: whether we take an option.
  bool (*acceptable)(std::string_view option, const target_limits&) = nullptr;
  bool discovery_irrelevant = false;  // §13: "Irrelevant when SessionType=Discovery"
};

namespace {

using sp = session_params;
using limit_fn = std::uint32_t (*)(const target_limits&);

key_rule choice(std::string_view key, bool sp::*flag,
                bool (*acceptable)(std::string_view, const target_limits&)) {
  key_rule r;
  r.key = key;
  r.kind = rule_kind::list;
  r.flag = flag;
  r.acceptable = acceptable;
  return r;
}
key_rule number(std::string_view key, rule_kind kind, std::uint64_t lo, std::uint64_t hi,
                std::uint32_t sp::*field, limit_fn ours, bool irrelevant = false) {
  key_rule r;
  r.key = key;
  r.kind = kind;
  r.lo = lo;
  r.hi = hi;
  r.number = field;
  r.ours = ours;
  r.discovery_irrelevant = irrelevant;
  return r;
}
key_rule boolean(std::string_view key, rule_kind kind, bool sp::*flag, bool ours) {
  key_rule r;
  r.key = key;
  r.kind = kind;
  r.flag = flag;
  r.ours = ours ? limit_fn([](const target_limits&) { return 1u; })
                : limit_fn([](const target_limits&) { return 0u; });
  r.discovery_irrelevant = true;  // all the boolean keys are session-wide data transfer keys
  return r;
}
key_rule rejected(std::string_view key) {
  key_rule r;
  r.key = key;
  return r;
}

bool digest_ok(std::string_view o, const target_limits& l) {
  return o == "None" || (o == "CRC32C" && l.allow_digests);
}
bool rfc3720_ok(std::string_view o, const target_limits&) {
  return o == "RFC3720";
}

constexpr std::uint64_t max_24 = max_mrdsl;
using enum rule_kind;

const key_rule rules[] = {
    choice("HeaderDigest", &sp::header_digest, digest_ok),  // §13.1
    choice("DataDigest", &sp::data_digest, digest_ok),
    // §13.2: we run one connection per session.
    number(
        "MaxConnections", minimum, 1, 65535, &sp::max_connections,
        [](const target_limits&) { return 1u; }, true),
    boolean("InitialR2T", boolean_or, &sp::initial_r2t, false),        // §13.10: No suits us
    boolean("ImmediateData", boolean_and, &sp::immediate_data, true),  // §13.11: Yes suits us
    number("MaxRecvDataSegmentLength", declarative, 512, max_24, &sp::initiator_mrdsl,
           nullptr),  // §13.12
    number(
        "MaxBurstLength", minimum, 512, max_24, &sp::max_burst_length,
        [](const target_limits& l) { return l.max_burst_length; }, true),  // §13.13
    number(
        "FirstBurstLength", minimum, 512, max_24, &sp::first_burst_length,
        [](const target_limits& l) { return l.first_burst_length; }, true),  // §13.14
    number("DefaultTime2Wait", maximum, 0, 3600, &sp::default_time2wait,
           [](const target_limits&) { return 2u; }),  // §13.15
    // §13.16: ERL 0 keeps nothing for long.
    number("DefaultTime2Retain", minimum, 0, 3600, &sp::default_time2retain,
           [](const target_limits&) { return 20u; }),
    number(
        "MaxOutstandingR2T", minimum, 1, 65535, &sp::max_outstanding_r2t,
        [](const target_limits& l) { return l.max_outstanding_r2t; }, true),  // §13.17
    // §13.18-19: we only do in-order, so our Yes makes the result Yes.
    boolean("DataPDUInOrder", boolean_or, &sp::data_pdu_in_order, true),
    boolean("DataSequenceInOrder", boolean_or, &sp::data_sequence_in_order, true),
    // §13.20: we implement level 0.
    number("ErrorRecoveryLevel", minimum, 0, 2, &sp::error_recovery_level,
           [](const target_limits&) { return 0u; }),
    // RFC 7144 §2.1: RFC 7143 is level 1.
    number("iSCSIProtocolLevel", minimum, 0, 31, &sp::protocol_level,
           [](const target_limits&) { return 1u; }),
    choice("TaskReporting", nullptr, rfc3720_ok),  // §13.23
    // §13.26: obsolete markers stay off.
    rejected("IFMarker"),
    rejected("OFMarker"),
    rejected("IFMarkInt"),
    rejected("OFMarkInt"),
    // §13.6-13.9: target-declared keys; an initiator may not send them.
    rejected("TargetAlias"),
    rejected("TargetAddress"),
    rejected("TargetPortalGroupTag"),
};

const key_rule* find_rule(std::string_view key) {
  for (const auto& r : rules)
    if (r.key == key) return &r;
  return nullptr;
}

}  // namespace

// The answer to one offered key under its rule; empty for a declaration (no answer, §13.12).
std::optional<std::string> negotiator::settle(const key_rule& r, const std::string& value) {
  const auto num = parse_number(value);
  const bool in_range = num && *num >= r.lo && *num <= r.hi;
  const bool is_yes = value == "Yes", is_no = value == "No";
  switch (r.kind) {
    case rule_kind::list:
      for (auto opt : split_list(value)) {
        if (!r.acceptable(opt, limits_)) continue;
        if (r.flag) p_.*r.flag = opt != "None";
        return std::string(opt);
      }
      return "Reject";
    case rule_kind::minimum:
    case rule_kind::maximum: {
      if (!in_range) return "Reject";
      const std::uint64_t ours = r.ours(limits_);
      auto v = static_cast<std::uint32_t>(r.kind == rule_kind::minimum ? std::min(*num, ours)
                                                                       : std::max(*num, ours));
      p_.*r.number = v;
      return std::to_string(v);
    }
    case rule_kind::boolean_and:
    case rule_kind::boolean_or: {
      if (!is_yes && !is_no) return "Reject";
      const bool ours = r.ours(limits_) != 0;
      const bool v = r.kind == rule_kind::boolean_and ? is_yes && ours : is_yes || ours;
      p_.*r.flag = v;
      return v ? "Yes" : "No";
    }
    case rule_kind::declarative:
      if (!in_range) return "Reject";
      p_.*r.number = static_cast<std::uint32_t>(*num);
      return std::nullopt;
    case rule_kind::reject:
      break;
  }
  return "Reject";
}

negotiator::outcome negotiator::negotiate(const key_values& offered, key_values& reply) {
  for (auto& [key, value] : offered) {
    // Answers to something we offered: we offer nothing but declarations, which need none.
    if (value == "NotUnderstood" || value == "Irrelevant" || value == "Reject") continue;
    if (!seen_.insert(key).second) return outcome::protocol_error;  // §6.2: once per login
    const key_rule* r = find_rule(key);
    if (!r) {
      reply.emplace_back(key, "NotUnderstood");  // §6.2: unknown keys, X- and X# extensions too
    } else if (discovery_ && r->discovery_irrelevant) {
      reply.emplace_back(key, "Irrelevant");
    } else if (auto answer = settle(*r, value)) {
      reply.emplace_back(key, std::move(*answer));
    }
  }
  return outcome::ok;
}

void negotiator::declare(key_values& reply) {
  if (declared_) return;
  declared_ = true;
  p_.target_mrdsl = limits_.mrdsl;
  reply.emplace_back("MaxRecvDataSegmentLength", std::to_string(limits_.mrdsl));
}

session_params negotiator::finish() {
  // §13.14: FirstBurstLength must not exceed MaxBurstLength.
  if (p_.first_burst_length > p_.max_burst_length) p_.first_burst_length = p_.max_burst_length;
  if (declared_) p_.target_mrdsl = limits_.mrdsl;
  return p_;
}

}  // namespace diskless::iscsi
