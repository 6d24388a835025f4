#include "dhcp/options.hpp"

namespace diskless::dhcp {

std::string_view to_string(message_type t) {
  switch (t) {
    case message_type::discover:
      return "DISCOVER";
    case message_type::offer:
      return "OFFER";
    case message_type::request:
      return "REQUEST";
    case message_type::decline:
      return "DECLINE";
    case message_type::ack:
      return "ACK";
    case message_type::nak:
      return "NAK";
    case message_type::release:
      return "RELEASE";
    case message_type::inform:
      return "INFORM";
  }
  return "?";
}

bytes encode_u8(std::uint8_t v) {
  return byte_writer().u8(v).take();
}
bytes encode_u16(std::uint16_t v) {
  return byte_writer().u16(v).take();
}
bytes encode_u32(std::uint32_t v) {
  return byte_writer().u32(v).take();
}
bytes encode_ip(ipv4_address a) {
  return encode_u32(a.value());
}
bytes encode_ips(const std::vector<ipv4_address>& list) {
  byte_writer w;
  for (const auto& a : list) w.u32(a.value());
  return w.take();
}

bytes encode_sub_options(const std::vector<sub_option>& subs, bool terminate) {
  byte_writer w;
  for (const auto& s : subs) {
    // Sub-option values are small (<= 255) by construction; longer ones are cut, not split.
    const auto n = std::min<std::size_t>(s.value.size(), 255);
    w.u8(s.code).u8(static_cast<std::uint8_t>(n)).append(byte_span(s.value).first(n));
  }
  if (terminate) w.u8(opt::end);
  return w.take();
}

std::optional<std::vector<sub_option>> decode_sub_options(byte_span value) {
  std::vector<sub_option> out;
  byte_reader r(value);
  while (!r.empty()) {
    const auto code = r.u8();
    if (code == opt::pad) continue;
    if (code == opt::end) break;
    const auto len = r.u8();
    auto v = r.take(len);
    if (!r.ok()) return std::nullopt;
    out.push_back({code, bytes(v.begin(), v.end())});
  }
  return out;
}

}  // namespace diskless::dhcp
