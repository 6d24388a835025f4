// Byte-exact DHCPDISCOVERs captured on 2026-11-21 inside a test namespace (a UDP socket on :67
// behind a bridge; QEMU 7.2 TCG with an e1000 NIC), and what we answer to each.
#include <gtest/gtest.h>

#include "dhcp/pxe.hpp"
#include "dhcp/responder.hpp"

namespace diskless::dhcp {
namespace {

using namespace std::chrono_literals;

// busybox 1.35 udhcpc: xid 39cc2929, flags 0, chaddr 52:54:00:aa:00:01; options 53=1 (DISCOVER),
// 57=576, 55=[1 3 6 12 15 28 42], 60="udhcp 1.35.0", 61=01 525400aa0001, end, padded to 300.
const char* const udhcpc_discover =
    "0101060039cc29290000000000000000000000000000000000000000525400aa000100000000000000000000000000"
    "00"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000638253"
    "63"
    "3501013902024037070103060c0f1c2a3c0c756468637020312e33352e303d0701525400aa0001ff00000000000000"
    "00"
    "000000000000000000000000";

// QEMU's iPXE ROM (BIOS, e1000): secs 4, flags 0, chaddr 52:54:00:aa:00:02; 53=1, 57=1472,
// 93=0000 (BIOS), 94=010201 (UNDI 2.1), 60="PXEClient:Arch:00000:UNDI:002001", 77="iPXE" (bare,
// not RFC 3004 length-prefixed), 55=[1 3 6 7 12 15 17 26 43 60 66 67 119 128..135 175 203],
// 175 = iPXE feature flags (b1 05 01808610 0e = bus id; eb 03 010000 = version 1.0.0; ...),
// 61=01 525400aa0002, 97=00 + 16 zero bytes (GUID type 0, all zero), end. 400 bytes.
const char* const ipxe_bios_discover =
    "01010600f2afa0260004000000000000000000000000000000000000525400aa000200000000000000000000000000"
    "00"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000638253"
    "63"
    "350101390205c05d0200005e030102013c20505845436c69656e743a417263683a30303030303a554e44493a303032"
    "30"
    "30314d04695058453717010306070c0f111a2b3c4243778081828384858687afcbaf30b105018086100eeb03010000"
    "17"
    "01012201011301011101012701011901012901011001022101011501011801011201013d0701525400aa0002611100"
    "00"
    "000000000000000000000000000000ff";

// iPXE EFI (efi-e1000.rom loaded by OVMF): as above but 93=0007, 94=01030a,
// 60="PXEClient:Arch:00007:UNDI:003010", chaddr 52:54:00:aa:00:03. 388 bytes.
const char* const ipxe_efi_discover =
    "0101060090a7da700004000000000000000000000000000000000000525400aa000300000000000000000000000000"
    "00"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000638253"
    "63"
    "350101390205c05d0200075e0301030a3c20505845436c69656e743a417263683a30303030373a554e44493a303033"
    "30"
    "31304d04695058453717010306070c0f111a2b3c4243778081828384858687afcbaf24b105018086100eeb03010000"
    "17"
    "01012401011301011101012701012901011501011201013d0701525400aa0003611100000000000000000000000000"
    "00"
    "000000ff";

// OVMF (EDK2) native PXE (when iPXE is not the option ROM): flags 8000 (broadcast), secs 0;
// 53=1, 57=1472, 55=[1 2 3 4 5 6 12 13 15 17 18 22 23 28 40 41 42 43 50 51 54 58 59 60 66 67 97
// 128..135], 97=00 + 16 zero bytes, 94=010301, 93=0007, 60="PXEClient:Arch:00007:UNDI:003001".
// 347 bytes (no padding to 300 needed).
const char* const ovmf_pxe_discover =
    "01010600f7a369340000800000000000000000000000000000000000525400aa000300000000000000000000000000"
    "00"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000638253"
    "63"
    "350101390205c037230102030405060c0d0f111216171c28292a2b3233363a3b3c4243618081828384858687611100"
    "00"
    "0000000000000000000000000000005e030103015d0200073c20505845436c69656e743a417263683a30303030373a"
    "55"
    "4e44493a303033303031ff";

packet must_parse(const char* hex) {
  auto b = from_hex(hex);
  auto p = parse(b);
  EXPECT_TRUE(p) << (p ? "" : p.error_message());
  return p ? *p : packet{};
}

inventory::inventory inv(inventory::dhcp_mode mode) {
  inventory::inventory i;
  i.server.address = *ipv4_address::parse("10.77.2.1");
  i.server.dhcp.mode = mode;
  i.server.dhcp.range_start = *ipv4_address::parse("10.77.2.100");
  i.server.dhcp.range_end = *ipv4_address::parse("10.77.2.199");
  i.unknown.what = inventory::unknown_policy::kind::menu;
  return i;
}

std::optional<reply> answer(const packet& p, inventory::dhcp_mode mode) {
  lease_table l;
  auto i = inv(mode);
  configure_leases(l, i);
  request_context ctx;
  ctx.now = sys_time(1800000000s);
  return respond(p, i, l, ctx);
}

TEST(DhcpCapture, Udhcpc) {
  auto p = must_parse(udhcpc_discover);
  EXPECT_EQ(p.type(), message_type::discover);
  EXPECT_EQ(p.mac().str(), "52:54:00:aa:00:01");
  EXPECT_FALSE(classify(p).pxe);
  EXPECT_FALSE(answer(p, inventory::dhcp_mode::proxy));  // not PXE: left alone in proxy mode
  auto r = answer(p, inventory::dhcp_mode::full);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pkt.yiaddr.str(), "10.77.2.100");
  EXPECT_TRUE(r->pkt.file.empty());
  EXPECT_EQ(serialize(p), from_hex(udhcpc_discover));  // byte-exact round trip
}

TEST(DhcpCapture, IpxeBios) {
  auto p = must_parse(ipxe_bios_discover);
  auto c = classify(p);
  EXPECT_TRUE(c.pxe);
  EXPECT_TRUE(c.ipxe);
  EXPECT_EQ(c.arch, arch::bios);
  ASSERT_NE(c.guid, nullptr);
  EXPECT_EQ(c.guid->size(), 17u);
  for (auto mode : {inventory::dhcp_mode::proxy, inventory::dhcp_mode::full}) {
    auto r = answer(p, mode);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->pkt.file, "http://10.77.2.1:8080/boot/52-54-00-aa-00-02.ipxe");
    EXPECT_FALSE(r->pkt.has(opt::vendor_specific));
    EXPECT_EQ(r->pkt.has(opt::ipxe_encap), mode == inventory::dhcp_mode::full);
  }
}

TEST(DhcpCapture, IpxeEfi) {
  auto p = must_parse(ipxe_efi_discover);
  auto c = classify(p);
  EXPECT_TRUE(c.ipxe);
  EXPECT_EQ(c.arch, arch::efi_bc);
  auto r = answer(p, inventory::dhcp_mode::full);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pkt.file, "http://10.77.2.1:8080/boot/52-54-00-aa-00-03.ipxe");
}

TEST(DhcpCapture, OvmfNativePxe) {
  auto p = must_parse(ovmf_pxe_discover);
  auto c = classify(p);
  EXPECT_TRUE(c.pxe);
  EXPECT_FALSE(c.ipxe);
  EXPECT_EQ(c.arch, arch::efi_bc);
  EXPECT_TRUE(p.broadcast());
  auto r = answer(p, inventory::dhcp_mode::proxy);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pkt.file, "snponly.efi");
  EXPECT_FALSE(r->pkt.has(opt::vendor_specific));  // UEFI: no 43, so it asks port 4011
  EXPECT_EQ(r->pkt.get_string(opt::vendor_class), "PXEClient");
  EXPECT_EQ(r->pkt.find(opt::client_uuid)->size(), 17u);
  EXPECT_EQ(serialize(p), from_hex(ovmf_pxe_discover));
  // Full mode: "use this boot file" (43.6 = 8), so EDK2 skips the port-4011 round.
  r = answer(p, inventory::dhcp_mode::full);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pkt.file, "snponly.efi");
  ASSERT_TRUE(r->pkt.has(opt::vendor_specific));
  EXPECT_EQ(to_hex(*r->pkt.find(opt::vendor_specific)), "060108ff");
}

TEST(DhcpCapture, EveryTruncationIsDroppedOrParsed) {
  // No prefix of a real packet may crash; a prefix that cuts the options is malformed.
  for (const char* hex :
       {udhcpc_discover, ipxe_bios_discover, ipxe_efi_discover, ovmf_pxe_discover}) {
    auto b = from_hex(hex);
    for (std::size_t n = 0; n < b.size(); ++n) (void)parse(byte_span(b).first(n));
    EXPECT_FALSE(parse(byte_span(b).first(260)));
  }
}

}  // namespace
}  // namespace diskless::dhcp
