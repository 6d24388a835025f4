#include "dhcp/wire.hpp"

#include <algorithm>

namespace diskless::dhcp {

const bytes* packet::find(std::uint8_t code) const {
  for (const auto& o : options)
    if (o.code == code) return &o.value;
  return nullptr;
}

void packet::set(std::uint8_t code, bytes value) {
  for (auto& o : options)
    if (o.code == code) {
      o.value = std::move(value);
      return;
    }
  options.push_back({code, std::move(value)});
}

void packet::erase(std::uint8_t code) {
  std::erase_if(options, [code](const option& o) { return o.code == code; });
}

std::optional<std::uint8_t> packet::get_u8(std::uint8_t code) const {
  const auto* v = find(code);
  if (!v || v->size() != 1) return std::nullopt;
  return std::to_integer<std::uint8_t>((*v)[0]);
}

std::optional<std::uint16_t> packet::get_u16(std::uint8_t code) const {
  const auto* v = find(code);
  if (!v || v->size() < 2) return std::nullopt;
  return load_u16(*v, 0);
}

std::optional<std::uint32_t> packet::get_u32(std::uint8_t code) const {
  const auto* v = find(code);
  if (!v || v->size() != 4) return std::nullopt;
  return load_u32(*v, 0);
}

std::optional<ipv4_address> packet::get_ip(std::uint8_t code) const {
  auto v = get_u32(code);
  if (!v) return std::nullopt;
  return ipv4_address(*v);
}

std::optional<std::string> packet::get_string(std::uint8_t code) const {
  const auto* v = find(code);
  if (!v) return std::nullopt;
  auto s = diskless::to_string(*v);
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

std::optional<message_type> packet::type() const {
  auto t = get_u8(opt::message_type);
  if (!t || *t < 1 || *t > 8) return std::nullopt;
  return static_cast<message_type>(*t);
}

mac_address packet::mac() const {
  std::array<std::uint8_t, 6> b{};
  std::copy_n(chaddr.begin(), 6, b.begin());
  return mac_address(b);
}

void packet::set_mac(const mac_address& m) {
  chaddr.fill(0);
  std::copy_n(m.octets().begin(), 6, chaddr.begin());
}

namespace {

std::string fixed_string(byte_span field) {
  // NUL-terminated inside a fixed field; a field without NUL is taken whole.
  auto s = diskless::to_string(field);
  auto nul = s.find('\0');
  if (nul != std::string::npos) s.resize(nul);
  return s;
}

// Parses one options area into p.options. RFC 2131 §4.1: every area that holds options ends
// with the end option; a length running past the area is malformed. RFC 2132 §9.3: option 52
// (overload) may only appear in the options field; one inside file or sname is malformed (kept,
// it would make the packet serialize as overloading fields it no longer fills).
result<void> parse_options(byte_span area, const char* where, packet& p, bool in_options_field) {
  byte_reader r(area);
  while (!r.empty()) {
    const auto code = r.u8();
    if (code == opt::pad) continue;
    if (code == opt::end) return {};
    const auto len = r.u8();
    auto value = r.take(len);
    if (!r.ok()) return error{std::string("option runs past the end of ") + where};
    if (code == opt::overload && !in_options_field)
      return error{std::string("option overload inside the ") + where};
    bool merged = false;
    for (auto& o : p.options)
      if (o.code == code) {  // RFC 3396 §5: concatenate repeated options in order
        o.value.insert(o.value.end(), value.begin(), value.end());
        merged = true;
        break;
      }
    if (!merged) p.options.push_back({code, bytes(value.begin(), value.end())});
  }
  return error{std::string("missing end option in ") + where};
}

}  // namespace

result<packet> parse(byte_span data) {
  if (data.size() < header_size + 4) return error{"truncated header"};
  byte_reader r(data);
  packet p;
  p.op = r.u8();
  p.htype = r.u8();
  p.hlen = r.u8();
  p.hops = r.u8();
  p.xid = r.u32();
  p.secs = r.u16();
  p.flags = r.u16();
  p.ciaddr = ipv4_address(r.u32());
  p.yiaddr = ipv4_address(r.u32());
  p.siaddr = ipv4_address(r.u32());
  p.giaddr = ipv4_address(r.u32());
  auto ch = r.take(16);
  for (std::size_t i = 0; i < 16 && i < ch.size(); ++i)
    p.chaddr[i] = std::to_integer<std::uint8_t>(ch[i]);
  auto sname = r.take(64);
  auto file = r.take(128);
  const auto cookie = r.u32();
  if (!r.ok()) return error{"truncated header"};
  if (p.op != bootrequest && p.op != bootreply) return error{"bad op"};
  if (p.hlen > 16) return error{"hlen > 16"};
  if (cookie != magic_cookie) return error{"bad magic cookie"};
  if (auto ok = parse_options(r.rest(), "options", p, true); !ok) return error{ok.error_message()};

  // RFC 2132 §9.3: option 52 says file (1), sname (2) or both (3) hold more options; RFC 2131
  // §4.1 fixes the order: options field, then file, then sname.
  std::optional<std::uint8_t> overload;
  if (p.has(opt::overload)) {
    overload = p.get_u8(opt::overload);
    if (!overload || *overload < 1 || *overload > 3) return error{"bad option overload value"};
    p.erase(opt::overload);
  }
  if (overload && (*overload & 1)) {
    if (auto ok = parse_options(file, "file field", p, false); !ok)
      return error{ok.error_message()};
  } else {
    p.file = fixed_string(file);
  }
  if (overload && (*overload & 2)) {
    if (auto ok = parse_options(sname, "sname field", p, false); !ok)
      return error{ok.error_message()};
  } else {
    p.sname = fixed_string(sname);
  }
  return p;
}

namespace {
void put_fixed_string(byte_writer& w, const std::string& s, std::size_t field) {
  // NUL-terminated: at most field-1 characters (the PXE spec requires a terminated file name).
  const auto n = std::min(s.size(), field - 1);
  w.append(std::string_view(s).substr(0, n));
  w.zeros(field - n);
}
}  // namespace

bytes serialize(const packet& p) {
  byte_writer w(576);
  w.u8(p.op).u8(p.htype).u8(p.hlen).u8(p.hops).u32(p.xid).u16(p.secs).u16(p.flags);
  w.u32(p.ciaddr.value()).u32(p.yiaddr.value()).u32(p.siaddr.value()).u32(p.giaddr.value());
  for (auto b : p.chaddr) w.u8(b);
  put_fixed_string(w, p.sname, 64);
  put_fixed_string(w, p.file, 128);
  w.u32(magic_cookie);
  for (const auto& o : p.options) {
    if (o.code == opt::pad || o.code == opt::end) continue;
    // RFC 3396 §7: a value longer than 255 is split into several options of the same code.
    std::size_t off = 0;
    do {
      const auto n = std::min<std::size_t>(o.value.size() - off, 255);
      w.u8(o.code).u8(static_cast<std::uint8_t>(n)).append(byte_span(o.value).subspan(off, n));
      off += n;
    } while (off < o.value.size());
  }
  w.u8(opt::end);
  if (w.size() < 300) w.zeros(300 - w.size());
  return w.take();
}

}  // namespace diskless::dhcp
