#pragma once
// Text keys (RFC 7143 §6.1-6.2) and operational parameter negotiation (§13).
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/bytes.hpp"

namespace diskless::iscsi {

using key_values = std::vector<std::pair<std::string, std::string>>;

// Parses "key=value\0key=value\0" (§6.1). Fails on a pair without '=', a key longer than 63 bytes
// or not made of the allowed characters, or a value longer than 8192 bytes. A missing final NUL is
// tolerated (some initiators omit it).
std::optional<key_values> parse_text(byte_span data);
bytes encode_text(const key_values& kv);
const std::string* find_key(const key_values& kv, std::string_view key);

// A §6.1 numerical-value: decimal, or hexadecimal after "0x"; nothing else (no sign, no
// leading-zero octal, no trailing text), at most 64 bits.
std::optional<std::uint64_t> parse_number(std::string_view v);
// The range of MaxRecvDataSegmentLength (§13.12) and of the other 24-bit lengths.
constexpr std::uint32_t min_mrdsl = 512, max_mrdsl = 16777215;

// Binary values (§6.1: "0x" hex or "0b" base64), for CHAP.
std::optional<bytes> decode_binary(std::string_view v);
std::string encode_hex(byte_span b);  // "0x..."

// What the session runs with after login (§13). Defaults are the RFC's.
struct session_params {
  bool header_digest = false;
  bool data_digest = false;
  std::uint32_t max_connections = 1;
  bool initial_r2t = true;
  bool immediate_data = true;
  std::uint32_t initiator_mrdsl = 8192;  // what the initiator accepts per PDU (we send at most)
  std::uint32_t target_mrdsl = 8192;     // what we accept per PDU (declared by us)
  std::uint32_t max_burst_length = 262144;
  std::uint32_t first_burst_length = 65536;
  std::uint32_t default_time2wait = 2;
  std::uint32_t default_time2retain = 20;
  std::uint32_t max_outstanding_r2t = 1;
  bool data_pdu_in_order = true;
  bool data_sequence_in_order = true;
  std::uint32_t error_recovery_level = 0;
  std::uint32_t protocol_level = 0;  // iSCSIProtocolLevel (RFC 7144 §2.1)
};

// What we are willing to do (our side of each negotiation).
struct target_limits {
  std::uint32_t mrdsl = 262144;  // our MaxRecvDataSegmentLength declaration
  std::uint32_t max_burst_length = 1048576;
  std::uint32_t first_burst_length = 262144;
  std::uint32_t max_outstanding_r2t = 16;
  bool allow_digests = true;
};

// Negotiates the operational keys of one login or text request. Security and identity keys
// (AuthMethod, CHAP_*, InitiatorName, TargetName, SessionType, InitiatorAlias) are left to the
// caller and must be filtered out before. Unknown keys get NotUnderstood; bad values Reject.
struct key_rule;  // text.cpp: one row of the negotiation table

class negotiator {
 public:
  negotiator(target_limits limits, bool discovery) : limits_(limits), discovery_(discovery) {}

  enum class outcome { ok, protocol_error };
  // Appends the answers to `reply`. protocol_error: a key was negotiated twice (§6.2) or a
  // declarative/negotiated value is unusable in a way that must fail the login.
  outcome negotiate(const key_values& offered, key_values& reply);
  // Keys we declare ourselves once (MaxRecvDataSegmentLength, §13.12), if not yet sent.
  void declare(key_values& reply);
  // Called when the login completes: fixes dependent values (FirstBurstLength <= MaxBurstLength).
  session_params finish();
  const session_params& params() const { return p_; }

 private:
  std::optional<std::string> settle(const key_rule& r, const std::string& value);

  target_limits limits_;
  bool discovery_;
  session_params p_;
  std::set<std::string> seen_;
  bool declared_ = false;
};

}  // namespace diskless::iscsi
