#include "dhcp/pxe.hpp"

#include <gtest/gtest.h>

namespace diskless::dhcp {
namespace {

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

// The boot file per client kind is boot::offer_for's (boot/catalog_test.cpp); the responder
// tests check it on the wire.
TEST(DhcpPxe, ArchitecturesWithoutNativeLoader) {
  EXPECT_TRUE(arch_without_loader(arch::efi_ia32));
  EXPECT_TRUE(arch_without_loader(arch::efi_arm32));
  EXPECT_TRUE(arch_without_loader(arch::efi_arm64));
  EXPECT_FALSE(arch_without_loader(arch::bios));
  EXPECT_FALSE(arch_without_loader(arch::efi_bc));
  EXPECT_FALSE(arch_without_loader(arch::efi_x64));
}

}  // namespace
}  // namespace diskless::dhcp
