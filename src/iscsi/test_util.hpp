#pragma once
// Helpers shared by the iSCSI unit tests and fuzzers: a small inventory and PDU builders.
#include <memory>

#include "inventory/model.hpp"
#include "iscsi/pdu.hpp"
#include "iscsi/text.hpp"

namespace diskless::iscsi::testing {

// Hosts: "pc1" (sanboot, disk), "pc2" (CHAP one-way), "pc3" (CHAP mutual), "lab" (any initiator),
// "nodisk" (linux boot without a disk).
inline inventory::inventory_ptr make_inventory() {
  auto inv = std::make_shared<inventory::inventory>();
  inv->server.iscsi.iqn = "iqn.2026-11.lan.diskless";
  inventory::image img, kern;
  img.name = "img";
  img.disk = "/tmp/img.raw";
  kern.name = "kern";
  kern.kernel = "/tmp/vmlinuz";
  inv->images.push_back(img);
  inv->images.push_back(kern);
  auto add = [&](std::string name, std::string image) -> inventory::host& {
    inventory::host h;
    h.name = std::move(name);
    h.image = std::move(image);
    inv->hosts.push_back(h);
    return inv->hosts.back();
  };
  add("pc1", "img");
  add("pc2", "img").chap = inventory::chap_credentials{"user2", "secret2-12chars", "", ""};
  add("pc3", "img").chap =
      inventory::chap_credentials{"user3", "secret3-12chars", "target3", "mutual3-12chars"};
  add("lab", "img").allow_any_initiator = true;
  add("nodisk", "kern");
  return inv;
}

inline const std::string iqn = "iqn.2026-11.lan.diskless";
inline std::string target(std::string_view host) {
  return iqn + ":" + std::string(host);
}
inline std::string initiator(std::string_view host) {
  return iqn + ":initiator:" + std::string(host);
}

// A Login Request (RFC 7143 §11.12).
inline pdu login_request(std::uint8_t csg, std::uint8_t nsg, bool transit, const key_values& kv,
                         bool cont = false, std::uint32_t cmd_sn = 10) {
  pdu p;
  p.bhs[0] = std::byte{0x43};
  p.bhs[1] = std::byte(static_cast<std::uint8_t>((transit ? 0x80 : 0) | (cont ? 0x40 : 0) |
                                                 (csg << 2) | (transit ? nsg : 0)));
  bytes isid = from_hex("400001370000");
  std::copy(isid.begin(), isid.end(), p.bhs.begin() + 8);
  store_u32(p.bhs, 16, 0x1000);
  store_u32(p.bhs, 24, cmd_sn);
  p.data = encode_text(kv);
  store_u24(p.bhs, 5, static_cast<std::uint32_t>(p.data.size()));
  return p;
}

inline pdu to_pdu(const out_pdu& o) {
  pdu p;
  p.bhs = o.bhs;
  auto d = o.data();
  p.data.assign(d.begin(), d.end());
  return p;
}

inline key_values keys_of(const out_pdu& o) {
  auto kv = parse_text(o.data());
  return kv ? *kv : key_values{};
}

}  // namespace diskless::iscsi::testing
