#include "dhcp/pxe.hpp"

#include <gtest/gtest.h>

namespace diskless::dhcp {
namespace {

const auto mac = *mac_address::parse("52:54:00:12:34:01");

packet pxe(std::optional<std::uint16_t> a) {
  packet p;
  p.set(opt::message_type, encode_u8(1));
  p.set(opt::vendor_class, to_bytes("PXEClient:Arch:00007:UNDI:003016"));
  if (a) p.set(opt::client_arch, encode_u16(*a));
  return p;
}

TEST(DhcpPxe, Classify) {
  auto c = classify(pxe(7));
  EXPECT_TRUE(c.pxe);
  EXPECT_FALSE(c.ipxe);
  EXPECT_FALSE(c.http);
  EXPECT_EQ(c.arch, 7);
  EXPECT_TRUE(c.uefi());
  EXPECT_EQ(c.guid, nullptr);

  packet plain;
  plain.set(opt::message_type, encode_u8(1));
  auto d = classify(plain);
  EXPECT_FALSE(d.pxe);
  EXPECT_FALSE(d.has_arch);
  EXPECT_EQ(d.arch, arch::bios);  // missing 93 = BIOS

  packet http;
  http.set(opt::vendor_class, to_bytes("HTTPClient:Arch:00016:UNDI:003001"));
  EXPECT_TRUE(classify(http).http);
  EXPECT_FALSE(classify(http).pxe);
}

TEST(DhcpPxe, IpxeByUserClassOrOption175) {
  auto p = pxe(0);
  p.set(opt::user_class, to_bytes("iPXE"));
  EXPECT_TRUE(classify(p).ipxe);
  auto q = pxe(0);
  q.set(opt::user_class, from_hex("0469505845"));  // RFC 3004 form: length 4, "iPXE"
  EXPECT_TRUE(classify(q).ipxe);
  auto r = pxe(0);
  r.set(opt::ipxe_encap, from_hex("b10105"));
  EXPECT_TRUE(classify(r).ipxe);
  auto s = pxe(0);
  s.set(opt::user_class, to_bytes("other"));
  EXPECT_FALSE(classify(s).ipxe);
}

TEST(DhcpPxe, BootFilePerArchitecture) {
  EXPECT_EQ(boot_file(classify(pxe(std::nullopt)), mac, "ipxe.efi"), "undionly.kpxe");
  EXPECT_EQ(boot_file(classify(pxe(0)), mac, "ipxe.efi"), "undionly.kpxe");
  EXPECT_EQ(boot_file(classify(pxe(7)), mac, "ipxe.efi"), "ipxe.efi");
  EXPECT_EQ(boot_file(classify(pxe(9)), mac, "ipxe.efi"), "ipxe.efi");
  EXPECT_EQ(boot_file(classify(pxe(9)), mac, "snponly.efi"), "snponly.efi");
  EXPECT_EQ(boot_file(classify(pxe(6)), mac, "ipxe.efi"), "ipxe.efi");
  EXPECT_EQ(boot_file(classify(pxe(11)), mac, "ipxe.efi"), "ipxe.efi");
  EXPECT_TRUE(arch_without_loader(6));
  EXPECT_TRUE(arch_without_loader(11));
  EXPECT_FALSE(arch_without_loader(7));
  auto p = pxe(9);
  p.set(opt::user_class, to_bytes("iPXE"));
  EXPECT_EQ(boot_file(classify(p), mac, "ipxe.efi"), "boot/52-54-00-12-34-01.ipxe");
}

}  // namespace
}  // namespace diskless::dhcp
