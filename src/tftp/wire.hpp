#pragma once
// TFTP packet codec (RFC 1350 §5, RFC 2347 §2, RFC 2348, RFC 2349, RFC 7440). Pure functions over
// bytes; nothing here throws on bad input. Decoders return std::nullopt for packets too malformed
// to be answered (which the caller drops and logs at debug); parse_request() instead reports why a
// request is unacceptable so the caller can answer with the matching ERROR packet.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/bytes.hpp"

namespace diskless::tftp {

// RFC 1350 §5 opcodes plus RFC 2347's OACK.
enum class opcode : std::uint16_t { rrq = 1, wrq = 2, data = 3, ack = 4, error = 5, oack = 6 };

// RFC 1350 appendix "Error Codes" plus RFC 2347 §2's code 8.
enum class error_code : std::uint16_t {
  not_defined = 0,
  file_not_found = 1,
  access_violation = 2,
  disk_full = 3,
  illegal_operation = 4,
  unknown_tid = 5,
  file_exists = 6,
  no_such_user = 7,
  option_refused = 8,
};

enum class transfer_mode { octet, netascii };

// One RFC 2347 option as sent: the name lower-cased (option names are case-insensitive), the
// value as sent.
struct option {
  std::string name;
  std::string value;
  bool operator==(const option&) const = default;
};

struct request {
  opcode op = opcode::rrq;  // rrq or wrq
  std::string filename;     // raw, as sent (may be anything but NUL)
  transfer_mode mode = transfer_mode::octet;
  std::vector<option> options;  // in the order sent; duplicates removed (first one kept)
};

// Why a request cannot be served; the caller answers ERROR `code` with `message`.
struct request_error {
  error_code code;
  std::string message;
};

struct parsed_request {
  std::optional<request> req;                        // set when well formed
  request_error error{error_code::not_defined, {}};  // meaningful when !req
};

struct error_packet {
  std::uint16_t code = 0;
  std::string message;
};

// The opcode of a packet, or nullopt when it is shorter than 2 bytes.
std::optional<std::uint16_t> peek_opcode(byte_span packet);

// RRQ/WRQ: opcode, filename NUL, mode NUL, then zero or more (name NUL value NUL) pairs.
// Errors: ERROR 4 when the filename or mode lacks its NUL, the filename is empty, the mode is
// unknown or obsolete ("mail"), or the opcode is not RRQ/WRQ. Tolerated (quirk of PXE ROMs that
// pad requests with zeros): an empty option name ends the option list, and a trailing option
// without a NUL-terminated value is ignored.
parsed_request parse_request(byte_span packet);

// ACK: opcode 4 + block number; extra trailing bytes are tolerated (some firmware pads).
std::optional<std::uint16_t> parse_ack(byte_span packet);

// ERROR: opcode 5 + code + message (a missing NUL terminator is tolerated).
std::optional<error_packet> parse_error(byte_span packet);

// DATA header (opcode 3 + block) — the payload is sent separately (scatter/gather).
std::array<std::byte, 4> data_header(std::uint16_t block);
bytes encode_data(std::uint16_t block, byte_span payload);
bytes encode_ack(std::uint16_t block);
bytes encode_error(error_code code, std::string_view message);
bytes encode_oack(const std::vector<option>& options);
// RRQ/WRQ encoder (used by tests and the fuzz seeds).
bytes encode_request(const request& r);

// Strict decimal parse for option values: digits only, no sign, no overflow.
std::optional<std::uint64_t> parse_decimal(std::string_view s);

}  // namespace diskless::tftp
