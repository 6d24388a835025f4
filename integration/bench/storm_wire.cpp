#include "storm_wire.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>

namespace storm {
namespace {

void put16(buf& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
void put32(buf& b, std::uint32_t v) {
  put16(b, static_cast<std::uint16_t>(v >> 16));
  put16(b, static_cast<std::uint16_t>(v));
}
std::uint16_t get16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}
std::uint32_t get32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(get16(p)) << 16 | get16(p + 2);
}
void opt(buf& b, std::uint8_t code, const buf& v) {
  b.push_back(code);
  b.push_back(static_cast<std::uint8_t>(v.size()));
  b.insert(b.end(), v.begin(), v.end());
}
buf str_bytes(const std::string& s) {
  return buf(s.begin(), s.end());
}

std::uint16_t ip_checksum(const std::uint8_t* p, std::size_t n) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < n; i += 2) sum += get16(p + i);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (auto pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
}

}  // namespace

std::string mac_t::str(char sep) const {
  char out[18];
  std::snprintf(out, sizeof out, "%02x%c%02x%c%02x%c%02x%c%02x%c%02x", b[0], sep, b[1], sep, b[2],
                sep, b[3], sep, b[4], sep, b[5]);
  return out;
}

std::string ip_str(std::uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
         std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}

buf build_dhcp_frame(const dhcp_request& r) {
  buf d;  // BOOTP (RFC 2131 §2)
  d.insert(d.end(), {1, 1, 6, 0});
  put32(d, r.xid);
  put16(d, r.secs);
  put16(d, 0x8000);            // broadcast: the PC has no address yet
  d.resize(d.size() + 16, 0);  // ciaddr yiaddr siaddr giaddr
  d.insert(d.end(), r.mac.b, r.mac.b + 6);
  d.resize(d.size() + 10 + 64 + 128, 0);
  put32(d, 0x63825363);
  opt(d, 53, {r.type});
  if (r.type == 3) {
    buf v;
    put32(v, r.requested);
    opt(d, 50, v);
    v.clear();
    put32(v, r.server_id);
    opt(d, 54, v);
  }
  opt(d, 57, {0x05, 0xc0});  // max message size 1472
  opt(d, 93, {0, 0});        // RFC 4578: x86 BIOS
  opt(d, 94, {1, 2, 1});     // UNDI 2.1
  buf uuid{0};               // RFC 4578 §2.5
  for (int i = 0; i < 16; ++i) uuid.push_back(static_cast<std::uint8_t>(r.mac.b[i % 6] ^ i));
  opt(d, 97, uuid);
  opt(d, 60, str_bytes("PXEClient:Arch:00000:UNDI:002001"));
  if (r.ipxe) {
    opt(d, 77, str_bytes("iPXE"));
    opt(d, 175, {0x13, 1, 1, 0x11, 1, 1, 0x19, 1, 1, 0x21, 1, 1});  // HTTP, iSCSI, pxeext, ...
  }
  opt(d, 55, {1, 3, 6, 12, 15, 17, 26, 43, 60, 66, 67, 119, 128, 129, 175});
  d.push_back(255);

  buf f;
  f.insert(f.end(), {0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  f.insert(f.end(), r.mac.b, r.mac.b + 6);
  put16(f, 0x0800);
  std::size_t ip_at = f.size();
  f.insert(f.end(), {0x45, 0});
  put16(f, static_cast<std::uint16_t>(20 + 8 + d.size()));
  put32(f, 0);                  // id, flags, fragment offset
  f.insert(f.end(), {64, 17});  // TTL, UDP
  put16(f, 0);                  // checksum, below
  put32(f, 0);
  put32(f, 0xffffffff);
  std::uint16_t sum = ip_checksum(f.data() + ip_at, 20);
  f[ip_at + 10] = static_cast<std::uint8_t>(sum >> 8);
  f[ip_at + 11] = static_cast<std::uint8_t>(sum);
  put16(f, 68);
  put16(f, 67);
  put16(f, static_cast<std::uint16_t>(8 + d.size()));
  put16(f, 0);  // no UDP checksum (RFC 768: allowed over IPv4)
  f.insert(f.end(), d.begin(), d.end());
  return f;
}

std::optional<dhcp_reply> parse_dhcp_frame(const std::uint8_t* p, std::size_t n) {
  if (n < 14 + 20 + 8 + 240 || get16(p + 12) != 0x0800) return std::nullopt;
  const std::uint8_t* ip = p + 14;
  std::size_t ihl = (ip[0] & 0x0f) * 4u;
  if ((ip[0] >> 4) != 4 || ip[9] != 17 || ihl < 20 || 14 + ihl + 8 + 240 > n) return std::nullopt;
  const std::uint8_t* udp = ip + ihl;
  if (get16(udp + 2) != 68) return std::nullopt;
  const std::uint8_t* d = udp + 8;
  std::size_t dn = n - 14 - ihl - 8;
  std::size_t udp_len = get16(udp + 4);
  if (udp_len >= 8 && udp_len - 8 < dn) dn = udp_len - 8;
  if (dn < 240 || d[0] != 2 || get32(d + 236) != 0x63825363) return std::nullopt;
  dhcp_reply r;
  r.xid = get32(d + 4);
  r.yiaddr = get32(d + 16);
  r.siaddr = get32(d + 20);
  for (int i = 0; i < 6; ++i) r.chaddr.b[i] = d[28 + i];
  std::string file(d + 108, d + 108 + 128);
  r.file = file.substr(0, file.find('\0'));
  for (std::size_t i = 240; i < dn;) {
    std::uint8_t code = d[i];
    if (code == 255) break;
    if (code == 0) {
      ++i;
      continue;
    }
    if (i + 2 > dn || i + 2 + d[i + 1] > dn) break;
    std::uint8_t len = d[i + 1];
    const std::uint8_t* v = d + i + 2;
    if (code == 53 && len >= 1) r.type = v[0];
    if (code == 54 && len >= 4) r.server_id = get32(v);
    if (code == 1 && len >= 4) r.netmask = get32(v);
    if (code == 67 && len > 0) r.file.assign(v, v + len);
    i += 2 + len;
  }
  if (auto z = r.file.find('\0'); z != std::string::npos) r.file.resize(z);
  return r;
}

buf tftp_rrq(const std::string& file, unsigned blksize) {
  buf b{0, 1};
  auto add = [&](const std::string& s) {
    b.insert(b.end(), s.begin(), s.end());
    b.push_back(0);
  };
  add(file);
  add("octet");
  add("blksize");
  add(std::to_string(blksize));
  add("tsize");
  add("0");
  return b;
}

buf tftp_ack(std::uint16_t block) {
  buf b{0, 4};
  put16(b, block);
  return b;
}

boot_script parse_script(const std::string& text, const mac_t& mac) {
  std::string t = text;
  replace_all(t, "${net0/mac:hexhyp}", mac.str('-'));
  replace_all(t, "${net0/mac}", mac.str(':'));
  boot_script s;
  std::istringstream in(t);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream w(line);
    std::string cmd, a, b;
    w >> cmd;
    if (cmd == "set") {
      w >> a;
      std::getline(w, b);
      b.erase(0, b.find_first_not_of(' '));
      if (a == "initiator-iqn") s.initiator = b;
      if (a == "username") s.user = b;
      if (a == "password") s.password = b;
    } else if (cmd == "sanboot" || cmd == "sanhook") {
      while (w >> a)
        if (a.rfind("iscsi:", 0) == 0 && s.san_uri.empty()) s.san_uri = a;
    } else if (cmd == "kernel" || cmd == "initrd" || cmd == "chain") {
      bool first = true;
      while (w >> a) {
        if (a.rfind("--", 0) == 0) {
          if (a == "--name") w >> b;
          continue;
        }
        if (first && (a.rfind("http://", 0) == 0 || a.rfind("tftp://", 0) == 0))
          s.files.push_back(a);
        first = false;
        if (a.rfind("iscsi_initiator=", 0) == 0) s.os_initiator = a.substr(16);
      }
    }
  }
  if (s.os_initiator.empty()) s.os_initiator = s.initiator;
  return s;
}

std::optional<iscsi_uri> parse_iscsi_uri(const std::string& uri) {
  if (uri.rfind("iscsi:", 0) != 0) return std::nullopt;
  std::string f[4];  // server, protocol, port, LUN
  std::size_t pos = 6;
  for (auto& x : f) {
    auto c = uri.find(':', pos);
    if (c == std::string::npos) return std::nullopt;
    x = uri.substr(pos, c - pos);
    pos = c + 1;
  }
  iscsi_uri u;
  u.portal = f[0] + ":" + (f[2].empty() ? "3260" : f[2]);  // f[1]: protocol, 6 (TCP)
  u.lun = f[3].empty() ? 0 : std::atoi(f[3].c_str());
  u.target = uri.substr(pos);
  if (f[0].empty() || u.target.empty()) return std::nullopt;
  return u;
}

std::vector<trace_record> read_trace(const std::string& path) {
  std::vector<trace_record> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream w(line);
    trace_record r;
    if (w >> r.ms >> r.op >> r.lba >> r.blocks >> r.session) out.push_back(r);
  }
  return out;
}

}  // namespace storm
