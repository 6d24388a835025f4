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

TEST(DhcpPxe, BootEventCarriesClassificationAndPrintableOptions) {
  auto p = pxe(7);
  p.chaddr[0] = 0x52;
  bytes vc = to_bytes("PXE\x01");
  p.set(opt::vendor_class, vc);
  p.set(opt::client_uuid, bytes{std::byte{0}, std::byte{0xab}, std::byte{0x01}});
  auto e = boot_event(p, "OFFER", ipv4_address(0x0a000005));
  EXPECT_EQ(e.kind, svc::event_kind::dhcp);
  EXPECT_EQ(e.name, "DISCOVER");
  EXPECT_EQ(e.what, "OFFER");
  EXPECT_EQ(e.address.str(), "10.0.0.5");
  EXPECT_EQ(e.arch, 7);
  EXPECT_FALSE(e.pxe);  // the vendor class no longer starts with PXEClient
  EXPECT_EQ(e.vendor_class, "PXE.");
  EXPECT_EQ(e.uuid, "00ab01");
  ASSERT_TRUE(e.mac);
  EXPECT_EQ(e.mac->str().substr(0, 2), "52");
  bytes huge(300, std::byte{'a'});
  p.set(opt::vendor_class, huge);
  EXPECT_EQ(boot_event(p, "", {}).vendor_class.size(), 64u);
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
