#include "tftp/wire.hpp"

#include <algorithm>
#include <cctype>

namespace diskless::tftp {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

parsed_request fail(error_code code, std::string message) {
  parsed_request p;
  p.error = {code, std::move(message)};
  return p;
}

}  // namespace

std::optional<std::uint16_t> peek_opcode(byte_span packet) {
  if (packet.size() < 2) return std::nullopt;
  return load_u16(packet, 0);
}

std::optional<std::uint64_t> parse_decimal(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;  // 19 digits always fit in 64 bits
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

parsed_request parse_request(byte_span packet) {
  byte_reader r(packet);
  auto op = r.u16();
  if (!r.ok()) return fail(error_code::illegal_operation, "short packet");
  if (op != static_cast<std::uint16_t>(opcode::rrq) &&
      op != static_cast<std::uint16_t>(opcode::wrq))
    return fail(error_code::illegal_operation, "not a request");
  // RFC 1350 §5: | opcode | filename | 0 | mode | 0 |
  request req;
  req.op = static_cast<opcode>(op);
  req.filename = r.cstring();
  if (!r.ok()) return fail(error_code::illegal_operation, "filename not terminated");
  if (req.filename.empty()) return fail(error_code::illegal_operation, "empty filename");
  auto mode = lower(r.cstring());
  if (!r.ok()) return fail(error_code::illegal_operation, "mode not terminated");
  if (mode == "octet") {
    req.mode = transfer_mode::octet;
  } else if (mode == "netascii") {
    req.mode = transfer_mode::netascii;
  } else {
    // "mail" is obsolete (RFC 1350 §1 says it should not be used); anything else is unknown.
    return fail(error_code::illegal_operation, "unsupported mode");
  }
  // RFC 2347 §2: | opt1 | 0 | value1 | 0 | ... repeated.
  while (!r.empty()) {
    auto name = r.cstring();
    if (!r.ok() || name.empty()) break;  // zero padding or truncated: ignore the rest
    auto value = r.cstring();
    if (!r.ok()) break;  // name without value: ignore it
    name = lower(std::move(name));
    // RFC 2347 says nothing about repeats; the first occurrence wins.
    bool seen = std::any_of(req.options.begin(), req.options.end(),
                            [&](const option& o) { return o.name == name; });
    if (!seen) req.options.push_back({std::move(name), std::move(value)});
  }
  parsed_request p;
  p.req = std::move(req);
  return p;
}

std::optional<std::uint16_t> parse_ack(byte_span packet) {
  byte_reader r(packet);
  auto op = r.u16();
  auto block = r.u16();
  if (!r.ok() || op != static_cast<std::uint16_t>(opcode::ack)) return std::nullopt;
  return block;
}

std::optional<error_packet> parse_error(byte_span packet) {
  byte_reader r(packet);
  auto op = r.u16();
  error_packet e;
  e.code = r.u16();
  if (!r.ok() || op != static_cast<std::uint16_t>(opcode::error)) return std::nullopt;
  auto rest = r.rest();
  auto nul = std::find(rest.begin(), rest.end(), std::byte{0});
  e.message = to_string(rest.first(static_cast<std::size_t>(nul - rest.begin())));
  return e;
}

std::array<std::byte, 4> data_header(std::uint16_t block) {
  std::array<std::byte, 4> h{};
  store_u16(h, 0, static_cast<std::uint16_t>(opcode::data));
  store_u16(h, 2, block);
  return h;
}

bytes encode_data(std::uint16_t block, byte_span payload) {
  byte_writer w(4 + payload.size());
  w.u16(static_cast<std::uint16_t>(opcode::data)).u16(block).append(payload);
  return w.take();
}

bytes encode_ack(std::uint16_t block) {
  byte_writer w(4);
  w.u16(static_cast<std::uint16_t>(opcode::ack)).u16(block);
  return w.take();
}

bytes encode_error(error_code code, std::string_view message) {
  byte_writer w(5 + message.size());
  // RFC 1350 §5: | 05 | ErrorCode | ErrMsg | 0 |; the message must not contain a NUL.
  auto nul = message.find('\0');
  if (nul != std::string_view::npos) message = message.substr(0, nul);
  w.u16(static_cast<std::uint16_t>(opcode::error)).u16(static_cast<std::uint16_t>(code));
  w.cstring(message);
  return w.take();
}

bytes encode_oack(const std::vector<option>& options) {
  byte_writer w(64);
  w.u16(static_cast<std::uint16_t>(opcode::oack));
  for (const auto& o : options) w.cstring(o.name).cstring(o.value);
  return w.take();
}

bytes encode_request(const request& r) {
  byte_writer w(64);
  w.u16(static_cast<std::uint16_t>(r.op));
  w.cstring(r.filename);
  w.cstring(r.mode == transfer_mode::octet ? "octet" : "netascii");
  for (const auto& o : r.options) w.cstring(o.name).cstring(o.value);
  return w.take();
}

}  // namespace diskless::tftp
