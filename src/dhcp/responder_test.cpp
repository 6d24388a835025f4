// The responder for every mode x architecture x iPXE/not x known/unknown, plus the full-mode
// RFC 2131 state machine. Requests are built with the options real firmware sends (see
// capture_test.cpp for byte-exact captures).
#include "dhcp/responder.hpp"

#include <gtest/gtest.h>

#include "dhcp/pxe.hpp"

namespace diskless::dhcp {
namespace {

using namespace std::chrono_literals;
using inventory::dhcp_mode;
const sys_time t0{std::chrono::seconds(1800000000)};
ipv4_address ip(const char* s) {
  return *ipv4_address::parse(s);
}
const auto known_mac = *mac_address::parse("52:54:00:12:34:01");
const auto static_mac = *mac_address::parse("52:54:00:12:34:02");
const auto unknown_mac = *mac_address::parse("52:54:00:99:99:99");
const auto server = ip("10.77.2.1");

inventory::inventory make_inv(dhcp_mode mode, inventory::unknown_policy::kind unknown =
                                                  inventory::unknown_policy::kind::ignore) {
  inventory::inventory inv;
  inv.server.address = server;
  inv.server.dhcp.mode = mode;
  inv.server.dhcp.range_start = ip("10.77.2.100");
  inv.server.dhcp.range_end = ip("10.77.2.102");
  inv.server.dhcp.netmask = ip("255.255.255.0");
  inv.server.dhcp.router = ip("10.77.2.254");
  inv.server.dhcp.dns = {ip("10.77.2.53")};
  inv.server.dhcp.lease_time = 600s;
  inventory::host h;
  h.mac = known_mac;
  h.name = "lab-01";
  inv.hosts.push_back(h);
  h.mac = static_mac;
  h.name = "lab-02";
  h.ip = ip("10.77.2.50");
  inv.hosts.push_back(h);
  inv.unknown.what = unknown;
  return inv;
}

struct client_kind {
  bool pxe;
  bool ipxe;
  std::optional<std::uint16_t> arch;
};

packet request(message_type t, const mac_address& m, client_kind k) {
  packet p;
  p.xid = 0xabcd0001;
  p.flags = broadcast_flag;
  p.set_mac(m);
  p.set(opt::message_type, encode_u8(static_cast<std::uint8_t>(t)));
  p.set(opt::param_request, from_hex("0103060c2b3c4243"));
  if (k.pxe) {
    p.set(opt::vendor_class, to_bytes("PXEClient:Arch:00000:UNDI:002001"));
    p.set(opt::client_uuid, from_hex("00 0102030405060708090a0b0c0d0e0f10"));
    p.set(opt::client_ndi, from_hex("010201"));
  }
  if (k.arch) p.set(opt::client_arch, encode_u16(*k.arch));
  if (k.ipxe) {
    p.set(opt::user_class, to_bytes("iPXE"));
    p.set(opt::ipxe_encap, from_hex("b10105 eb0301000a 130101 110101"));
  }
  return p;
}

std::optional<reply> ask(const packet& p, const inventory::inventory& inv, lease_table& l,
                         std::uint16_t port = server_port, std::string* why = nullptr) {
  request_context ctx;
  ctx.local_port = port;
  ctx.source = ip("10.77.2.150");
  ctx.source_port = 68;
  ctx.now = t0;
  auto r = respond(p, inv, l, ctx, why);
  if (r) {  // whatever we send must survive our own codec
    auto again = parse(serialize(r->pkt));
    EXPECT_TRUE(again);
    if (again) {
      EXPECT_EQ(*again, r->pkt);
    }
  }
  return r;
}

std::string expected_file(client_kind k, const mac_address& m) {
  if (k.ipxe) return "http://10.77.2.1:8080/boot/" + m.dashed() + ".ipxe";  // HTTP is on
  if (!k.arch || *k.arch == 0) return "undionly.kpxe";
  return "snponly.efi";  // the default efi-loader
}

// The matrix: mode x arch (none, 0, 6, 7, 9, 10, 11) x iPXE/not x known/unknown/non-PXE.
TEST(DhcpResponder, Matrix) {
  const std::optional<std::uint16_t> arches[] = {std::nullopt, 0, 6, 7, 9, 10, 11};
  for (auto mode : {dhcp_mode::off, dhcp_mode::proxy, dhcp_mode::full})
    for (auto unknown :
         {inventory::unknown_policy::kind::ignore, inventory::unknown_policy::kind::local})
      for (auto a : arches)
        for (bool pxe : {false, true})
          for (bool ipxe : {false, true})
            for (const auto& m : {known_mac, unknown_mac}) {
              SCOPED_TRACE(testing::Message()
                           << "mode " << inventory::to_string(mode) << " arch "
                           << (a ? int(*a) : -1) << " pxe " << pxe << " ipxe " << ipxe << " mac "
                           << m.str() << " unknown-policy " << int(unknown));
              auto inv = make_inv(mode, unknown);
              lease_table leases;
              configure_leases(leases, inv);
              client_kind k{pxe, ipxe, a};
              auto r = ask(request(message_type::discover, m, k), inv, leases);
              const bool known = m == known_mac;
              // unknown="ignore" withholds the boot only: full mode still leases an address.
              const bool ignored = !known && unknown == inventory::unknown_policy::kind::ignore;
              const bool silent = mode == dhcp_mode::off || (ignored && mode != dhcp_mode::full) ||
                                  (mode == dhcp_mode::proxy && !pxe);
              if (silent) {
                EXPECT_FALSE(r);
                continue;
              }
              ASSERT_TRUE(r);
              const auto& p = r->pkt;
              EXPECT_EQ(p.op, bootreply);
              EXPECT_EQ(p.type(), message_type::offer);
              EXPECT_EQ(p.get_ip(opt::server_id), server);
              EXPECT_EQ(r->to, ipv4_address(0xffffffff));
              EXPECT_EQ(r->port, client_port);
              EXPECT_EQ(p.xid, 0xabcd0001u);
              EXPECT_EQ(p.mac(), m);
              if (mode == dhcp_mode::proxy) {
                EXPECT_TRUE(p.yiaddr.is_unspecified());
                EXPECT_FALSE(p.has(opt::lease_time));
              } else {
                EXPECT_TRUE(leases.in_pool(p.yiaddr));
                EXPECT_EQ(p.get_u32(opt::lease_time), 600u);
                EXPECT_EQ(p.get_ip(opt::subnet_mask), ip("255.255.255.0"));
              }
              if (ignored) {  // a lease and nothing a boot ROM could use
                EXPECT_TRUE(p.file.empty());
                EXPECT_FALSE(p.has(opt::vendor_class));
                EXPECT_FALSE(p.has(opt::vendor_specific));
                continue;
              }
              if (pxe || ipxe) {
                EXPECT_EQ(p.file, expected_file(k, m));
                EXPECT_EQ(p.siaddr, server);
              } else {
                EXPECT_TRUE(p.file.empty());
                EXPECT_TRUE(p.siaddr.is_unspecified());
              }
              EXPECT_EQ(p.get_string(opt::vendor_class) == "PXEClient", pxe);
              EXPECT_EQ(p.has(opt::client_uuid), pxe);  // echoed only when sent
              const bool bios = !a || *a == 0;
              // UEFI firmware gets 43 in full mode only (proxy: it asks port 4011).
              EXPECT_EQ(p.has(opt::vendor_specific),
                        pxe && !ipxe && (bios || mode == dhcp_mode::full));
              if (p.has(opt::vendor_specific)) {
                EXPECT_EQ(to_hex(*p.find(opt::vendor_specific)), "060108ff");
              }
              EXPECT_EQ(p.has(opt::ipxe_encap), ipxe && mode == dhcp_mode::full);
              if (p.has(opt::ipxe_encap)) {
                EXPECT_EQ(to_hex(*p.find(opt::ipxe_encap)), "b00101");
              }
            }
}

// Port 4011 (PXE spec §2.2.2): REQUEST of every architecture answered with an ACK, unicast to
// the source; in proxy mode and in full mode.
TEST(DhcpResponder, Port4011AnswersEveryArchitecture) {
  for (auto mode : {dhcp_mode::proxy, dhcp_mode::full})
    for (std::uint16_t a : {0, 6, 7, 9, 11}) {
      auto inv = make_inv(mode);
      lease_table leases;
      configure_leases(leases, inv);
      auto req = request(message_type::request, known_mac, {true, false, a});
      req.ciaddr = ip("10.77.2.150");
      auto r = ask(req, inv, leases, pxe_port);
      ASSERT_TRUE(r);
      EXPECT_EQ(r->pkt.type(), message_type::ack);
      EXPECT_EQ(r->to, ip("10.77.2.150"));
      EXPECT_EQ(r->port, 68);
      EXPECT_TRUE(r->pkt.yiaddr.is_unspecified());
      EXPECT_EQ(r->pkt.file, a == 0 ? "undionly.kpxe" : "snponly.efi");
      EXPECT_EQ(r->pkt.get_string(opt::vendor_class), "PXEClient");
      // DISCOVER and non-PXE clients are not answered on 4011.
      EXPECT_FALSE(
          ask(request(message_type::discover, known_mac, {true, false, a}), inv, leases, pxe_port));
      EXPECT_FALSE(
          ask(request(message_type::request, known_mac, {false, false, a}), inv, leases, pxe_port));
    }
}

TEST(DhcpResponder, ProxyIgnoresRequestsOnPort67) {
  auto inv = make_inv(dhcp_mode::proxy);
  lease_table leases;
  std::string why;
  EXPECT_FALSE(ask(request(message_type::request, known_mac, {true, false, 0}), inv, leases,
                   server_port, &why));
  EXPECT_EQ(why, "proxy mode answers only DISCOVER on port 67");
  EXPECT_FALSE(leases.journal_pending());
}

TEST(DhcpResponder, SnponlyConfigured) {
  auto inv = make_inv(dhcp_mode::proxy);
  inv.server.dhcp.efi_loader = "snponly.efi";
  lease_table leases;
  auto r = ask(request(message_type::discover, known_mac, {true, false, 7}), inv, leases);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pkt.file, "snponly.efi");
}

// The boot catalog's rule (src/boot/README.md): iPXE gets its script as an HTTP URL when HTTP is
// on, as a TFTP path when off (port from the inventory); firmware PXE always gets a TFTP boot file.
TEST(DhcpResponder, IpxeScriptOverHttpOrTftp) {
  for (auto mode : {dhcp_mode::full, dhcp_mode::proxy}) {
    auto inv = make_inv(mode);
    inv.server.http.port = 18080;
    lease_table leases;
    configure_leases(leases, inv);
    auto r = ask(request(message_type::discover, known_mac, {true, true, 0}), inv, leases);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->pkt.file, "http://10.77.2.1:18080/boot/52-54-00-12-34-01.ipxe");
    auto fw = ask(request(message_type::discover, known_mac, {true, false, 0}), inv, leases);
    ASSERT_TRUE(fw);
    EXPECT_EQ(fw->pkt.file, "undionly.kpxe");
    inv.server.http.enabled = false;
    r = ask(request(message_type::discover, known_mac, {true, true, 0}), inv, leases);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->pkt.file, "boot/52-54-00-12-34-01.ipxe");
  }
}

TEST(DhcpResponder, QuirksForceOption43AndDelay) {
  auto inv = make_inv(dhcp_mode::proxy);
  auto& h = inv.hosts[0];
  h.quirks.force_option43 = true;
  h.quirks.reply_delay = 250ms;
  lease_table leases;
  auto r = ask(request(message_type::discover, known_mac, {true, false, 7}), inv, leases);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->pkt.has(opt::vendor_specific));
  EXPECT_EQ(r->delay, 250ms);
}

TEST(DhcpResponder, HttpClientGetsTheEfiLoaderUrl) {
  for (auto mode : {dhcp_mode::full, dhcp_mode::proxy}) {
    auto inv = make_inv(mode);
    inv.server.http.port = 8080;
    lease_table leases;
    configure_leases(leases, inv);
    auto p = request(message_type::discover, known_mac, {false, false, 16});
    p.set(opt::vendor_class, to_bytes("HTTPClient:Arch:00016:UNDI:003001"));
    std::string why;
    auto r = ask(p, inv, leases, server_port, &why);
    ASSERT_TRUE(r) << why;
    EXPECT_EQ(r->pkt.type(), message_type::offer);
    // UEFI 2.9 §24.7.2: "HTTPClient" echoed in option 60, the URI in the file field.
    EXPECT_EQ(r->pkt.get_string(opt::vendor_class), "HTTPClient");
    EXPECT_EQ(r->pkt.file, "http://" + inv.server.address->str() + ":8080/ipxe/snponly.efi");
    EXPECT_FALSE(r->pkt.has(opt::vendor_specific));
    EXPECT_EQ(r->pkt.yiaddr.is_unspecified(), mode == dhcp_mode::proxy);
  }
}

TEST(DhcpResponder, HttpClientIgnoredWithoutHttp) {
  auto inv = make_inv(dhcp_mode::full);
  inv.server.http.enabled = false;
  lease_table leases;
  configure_leases(leases, inv);
  auto p = request(message_type::discover, known_mac, {false, false, 16});
  p.set(opt::vendor_class, to_bytes("HTTPClient:Arch:00016:UNDI:003001"));
  std::string why;
  EXPECT_FALSE(ask(p, inv, leases, server_port, &why));
  EXPECT_NE(why.find("HTTPClient"), std::string::npos);
  // Without option 93 there is no loader to name.
  inv.server.http.enabled = true;
  auto q = request(message_type::discover, known_mac, {false, false, std::nullopt});
  q.set(opt::vendor_class, to_bytes("HTTPClient:Arch:00016:UNDI:003001"));
  EXPECT_FALSE(ask(q, inv, leases, server_port, &why));
}

TEST(DhcpResponder, NoServerAddressNoReply) {
  auto inv = make_inv(dhcp_mode::full);
  inv.server.address.reset();
  lease_table leases;
  EXPECT_FALSE(ask(request(message_type::discover, known_mac, {}), inv, leases));
}

TEST(DhcpResponder, BootpAndRepliesIgnored) {
  auto inv = make_inv(dhcp_mode::full);
  lease_table leases;
  configure_leases(leases, inv);
  auto p = request(message_type::discover, known_mac, {});
  p.erase(opt::message_type);  // plain BOOTP
  EXPECT_FALSE(ask(p, inv, leases));
  auto q = request(message_type::discover, known_mac, {});
  q.op = bootreply;
  EXPECT_FALSE(ask(q, inv, leases));
  auto r = request(message_type::offer, known_mac, {});
  EXPECT_FALSE(ask(r, inv, leases));
}

}  // namespace
}  // namespace diskless::dhcp
