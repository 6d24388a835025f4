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

// §6.1 numerical-value: decimal, or hex with 0x.
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

negotiator::outcome negotiator::negotiate(const key_values& offered, key_values& reply) {
  for (auto& [key, value] : offered) {
    // Answers to something we offered: we offer nothing but declarations, which need none.
    if (value == "NotUnderstood" || value == "Irrelevant" || value == "Reject") continue;
    if (!seen_.insert(key).second) return outcome::protocol_error;  // §6.2: once per login
    auto answer = [&](std::string v) { reply.emplace_back(key, std::move(v)); };
    auto num = parse_number(value);
    auto in_range = [&](std::uint64_t lo, std::uint64_t hi) {
      return num && *num >= lo && *num <= hi;
    };
    bool is_yes = value == "Yes", is_no = value == "No";
    // Keys whose outcome does not matter to a discovery session (§13: "Irrelevant when
    // SessionType=Discovery").
    static const std::set<std::string, std::less<>> discovery_irrelevant = {
        "MaxConnections",   "InitialR2T",        "ImmediateData",  "MaxBurstLength",
        "FirstBurstLength", "MaxOutstandingR2T", "DataPDUInOrder", "DataSequenceInOrder"};
    if (discovery_ && discovery_irrelevant.count(key)) {
      answer("Irrelevant");
      continue;
    }
    if (key == "HeaderDigest" || key == "DataDigest") {  // §13.1: list, first acceptable wins
      std::string pick;
      for (auto opt : split_list(value)) {
        if (opt == "None" || (opt == "CRC32C" && limits_.allow_digests)) {
          pick = std::string(opt);
          break;
        }
      }
      if (pick.empty()) {
        answer("Reject");
        continue;
      }
      (key == "HeaderDigest" ? p_.header_digest : p_.data_digest) = pick == "CRC32C";
      answer(pick);
    } else if (key == "MaxConnections") {  // §13.2: minimum; we run one connection per session
      if (!in_range(1, 65535)) {
        answer("Reject");
        continue;
      }
      p_.max_connections = 1;
      answer("1");
    } else if (key == "InitialR2T") {  // §13.10: OR; we are happy with No
      if (!is_yes && !is_no) {
        answer("Reject");
        continue;
      }
      p_.initial_r2t = is_yes;
      answer(value);
    } else if (key == "ImmediateData") {  // §13.11: AND; we are happy with Yes
      if (!is_yes && !is_no) {
        answer("Reject");
        continue;
      }
      p_.immediate_data = is_yes;
      answer(value);
    } else if (key == "MaxRecvDataSegmentLength") {  // §13.12: declarative, no answer
      if (!in_range(512, 16777215)) {
        answer("Reject");
        continue;
      }
      p_.initiator_mrdsl = static_cast<std::uint32_t>(*num);
    } else if (key == "MaxBurstLength" || key == "FirstBurstLength") {  // §13.13-14: minimum
      if (!in_range(512, 16777215)) {
        answer("Reject");
        continue;
      }
      bool max = key == "MaxBurstLength";
      auto v = static_cast<std::uint32_t>(std::min<std::uint64_t>(
          *num, max ? limits_.max_burst_length : limits_.first_burst_length));
      (max ? p_.max_burst_length : p_.first_burst_length) = v;
      answer(std::to_string(v));
    } else if (key == "DefaultTime2Wait") {  // §13.15: maximum
      if (!in_range(0, 3600)) {
        answer("Reject");
        continue;
      }
      p_.default_time2wait = static_cast<std::uint32_t>(std::max<std::uint64_t>(*num, 2));
      answer(std::to_string(p_.default_time2wait));
    } else if (key == "DefaultTime2Retain") {  // §13.16: minimum; ERL 0 keeps nothing for long
      if (!in_range(0, 3600)) {
        answer("Reject");
        continue;
      }
      p_.default_time2retain = static_cast<std::uint32_t>(std::min<std::uint64_t>(*num, 20));
      answer(std::to_string(p_.default_time2retain));
    } else if (key == "MaxOutstandingR2T") {  // §13.17: minimum
      if (!in_range(1, 65535)) {
        answer("Reject");
        continue;
      }
      p_.max_outstanding_r2t =
          static_cast<std::uint32_t>(std::min<std::uint64_t>(*num, limits_.max_outstanding_r2t));
      answer(std::to_string(p_.max_outstanding_r2t));
    } else if (key == "DataPDUInOrder" || key == "DataSequenceInOrder") {
      // §13.18-19: OR; we only do in-order, so our Yes makes the result Yes.
      if (!is_yes && !is_no) {
        answer("Reject");
        continue;
      }
      answer("Yes");
    } else if (key == "ErrorRecoveryLevel") {  // §13.20: minimum; we implement level 0
      if (!in_range(0, 2)) {
        answer("Reject");
        continue;
      }
      p_.error_recovery_level = 0;
      answer("0");
    } else if (key == "iSCSIProtocolLevel") {  // RFC 7144 §2.1: minimum; RFC 7143 is level 1
      if (!in_range(0, 31)) {
        answer("Reject");
        continue;
      }
      p_.protocol_level = static_cast<std::uint32_t>(std::min<std::uint64_t>(*num, 1));
      answer(std::to_string(p_.protocol_level));
    } else if (key == "TaskReporting") {  // §13.23: list
      auto opts = split_list(value);
      answer(std::find(opts.begin(), opts.end(), "RFC3720") != opts.end() ? "RFC3720" : "Reject");
    } else if (key == "IFMarker" || key == "OFMarker" || key == "IFMarkInt" || key == "OFMarkInt") {
      // §13.26: obsolete keys; answered with Reject (markers stay off).
      answer("Reject");
    } else if (key == "TargetAlias" || key == "TargetAddress" || key == "TargetPortalGroupTag") {
      answer("Reject");  // target-declared keys (§13.6-13.9); an initiator may not send them
    } else {
      answer("NotUnderstood");  // §6.2: unknown keys, including X- and X# extensions
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
