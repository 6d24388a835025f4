// Full mode: RFC 2131 §4.3 server behaviour, leases, static addresses, relays.
#include <gtest/gtest.h>

#include <set>

#include "dhcp/responder.hpp"

namespace diskless::dhcp {
namespace {

using namespace std::chrono_literals;
const sys_time t0{std::chrono::seconds(1800000000)};
ipv4_address ip(const char* s) {
  return *ipv4_address::parse(s);
}
const auto server = ip("10.77.2.1");
mac_address mac(int i) {
  return mac_address(
      {0x52, 0x54, 0, 0x12, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)});
}

class DhcpFull : public testing::Test {
 protected:
  DhcpFull() {
    inv_.server.address = server;
    inv_.server.dhcp.mode = inventory::dhcp_mode::full;
    inv_.server.dhcp.range_start = ip("10.77.2.100");
    inv_.server.dhcp.range_end = ip("10.77.2.103");
    inv_.server.dhcp.netmask = ip("255.255.255.0");
    inv_.server.dhcp.lease_time = 600s;
    inv_.unknown.what = inventory::unknown_policy::kind::local;
    inventory::host h;
    h.mac = mac(2);
    h.name = "lab-02";
    h.ip = ip("10.77.2.50");
    inv_.hosts.push_back(h);
    configure_leases(leases_, inv_);
  }
  packet msg(message_type t, const mac_address& m) {
    packet p;
    p.xid = 7;
    p.set_mac(m);
    p.set(opt::message_type, encode_u8(static_cast<std::uint8_t>(t)));
    return p;
  }
  std::optional<reply> send(const packet& p, sys_time now = t0) {
    request_context ctx;
    ctx.now = now;
    why_.clear();
    return respond(p, inv_, leases_, ctx, &why_);
  }
  // DISCOVER + REQUEST; returns the ACKed address.
  std::optional<ipv4_address> dora(const mac_address& m) {
    auto o = send(msg(message_type::discover, m));
    if (!o || o->pkt.type() != message_type::offer) return std::nullopt;
    auto r = msg(message_type::request, m);
    r.set(opt::server_id, encode_ip(server));
    r.set(opt::requested_ip, encode_ip(o->pkt.yiaddr));
    auto a = send(r);
    if (!a || a->pkt.type() != message_type::ack) return std::nullopt;
    EXPECT_EQ(a->pkt.yiaddr, o->pkt.yiaddr);
    return a->pkt.yiaddr;
  }
  inventory::inventory inv_;
  lease_table leases_;
  std::string why_;
};

TEST_F(DhcpFull, DoraBindsAndJournals) {
  auto a = dora(mac(1));
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, ip("10.77.2.100"));
  auto j = leases_.take_journal();
  EXPECT_EQ(j, "B 52:54:00:12:00:01 10.77.2.100 1800000600\n");
  // Same MAC again: same address.
  EXPECT_EQ(dora(mac(1)), a);
}

TEST_F(DhcpFull, OfferIsNotJournaled) {
  ASSERT_TRUE(send(msg(message_type::discover, mac(1))));
  EXPECT_FALSE(leases_.journal_pending());
}

TEST_F(DhcpFull, NeverTheSameAddressToTwoMacsAndExhaustion) {
  std::set<ipv4_address> seen;
  for (int i = 10; i < 14; ++i) {
    auto a = dora(mac(i));
    ASSERT_TRUE(a);
    EXPECT_TRUE(seen.insert(*a).second);
  }
  EXPECT_FALSE(send(msg(message_type::discover, mac(20))));
  EXPECT_EQ(why_, "no address available for this subnet");
}

TEST_F(DhcpFull, OfferedAddressHeldForTheOfferee) {
  auto o1 = send(msg(message_type::discover, mac(1)));
  auto o2 = send(msg(message_type::discover, mac(3)));
  ASSERT_TRUE(o1 && o2);
  EXPECT_NE(o1->pkt.yiaddr, o2->pkt.yiaddr);
  // mac(3) asks for mac(1)'s offered address: NAK.
  auto r = msg(message_type::request, mac(3));
  r.set(opt::requested_ip, encode_ip(o1->pkt.yiaddr));
  auto n = send(r);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->pkt.type(), message_type::nak);
  EXPECT_EQ(n->to, ipv4_address(0xffffffff));
}

TEST_F(DhcpFull, StaticAddress) {
  auto a = dora(mac(2));
  EXPECT_EQ(a, ip("10.77.2.50"));
  // Requesting anything else is refused.
  auto r = msg(message_type::request, mac(2));
  r.set(opt::requested_ip, encode_ip(ip("10.77.2.100")));
  EXPECT_EQ(send(r)->pkt.type(), message_type::nak);
  // Nobody else can request the static address (it is outside the dynamic pool).
  auto s = msg(message_type::request, mac(1));
  s.set(opt::requested_ip, encode_ip(ip("10.77.2.50")));
  EXPECT_EQ(send(s)->pkt.type(), message_type::nak);
}

TEST_F(DhcpFull, NakForForeignAddress) {  // INIT-REBOOT from another network
  auto r = msg(message_type::request, mac(1));
  r.set(opt::requested_ip, encode_ip(ip("192.168.1.7")));
  auto n = send(r);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->pkt.type(), message_type::nak);
  EXPECT_FALSE(n->pkt.has(opt::lease_time));
  EXPECT_TRUE(n->pkt.yiaddr.is_unspecified());
}

TEST_F(DhcpFull, RequestForOtherServerIsSilent) {
  auto o = send(msg(message_type::discover, mac(1)));
  auto r = msg(message_type::request, mac(1));
  r.set(opt::server_id, encode_ip(ip("10.77.2.9")));
  r.set(opt::requested_ip, encode_ip(o->pkt.yiaddr));
  EXPECT_FALSE(send(r));
  EXPECT_EQ(why_, "client selected another server");
  EXPECT_FALSE(send(msg(message_type::request, mac(1))));  // no 50, no ciaddr
}

TEST_F(DhcpFull, RenewUnicastToCiaddr) {
  auto a = dora(mac(1));
  auto r = msg(message_type::request, mac(1));
  r.ciaddr = *a;
  auto ack = send(r, t0 + 300s);
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->pkt.type(), message_type::ack);
  EXPECT_EQ(ack->to, *a);
  EXPECT_EQ(ack->port, 68);
  EXPECT_EQ(leases_.by_mac(mac(1))->expires, t0 + 900s);
}

TEST_F(DhcpFull, RapidCommit) {  // RFC 4039
  auto d = msg(message_type::discover, mac(1));
  d.set(opt::rapid_commit, {});
  auto a = send(d);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->pkt.type(), message_type::ack);
  EXPECT_TRUE(a->pkt.has(opt::rapid_commit));
  EXPECT_TRUE(leases_.by_mac(mac(1))->bound);
  EXPECT_TRUE(leases_.journal_pending());
}

TEST_F(DhcpFull, DeclineQuarantines) {
  auto a = dora(mac(1));
  auto d = msg(message_type::decline, mac(1));
  d.set(opt::requested_ip, encode_ip(*a));
  d.set(opt::server_id, encode_ip(server));
  EXPECT_FALSE(send(d));
  auto b = dora(mac(1));
  ASSERT_TRUE(b);
  EXPECT_NE(*a, *b);
  EXPECT_FALSE(dora(mac(5)) == a);
}

TEST_F(DhcpFull, ReleaseFrees) {
  auto a = dora(mac(1));
  auto r = msg(message_type::release, mac(1));
  r.ciaddr = *a;
  r.set(opt::server_id, encode_ip(server));
  EXPECT_FALSE(send(r));
  EXPECT_EQ(leases_.by_mac(mac(1)), nullptr);
  EXPECT_NE(leases_.take_journal().find("F 52:54:00:12:00:01 10.77.2.100"), std::string::npos);
}

TEST_F(DhcpFull, InformGetsConfigurationOnly) {  // RFC 2131 §4.3.5
  auto i = msg(message_type::inform, mac(1));
  i.ciaddr = ip("10.77.2.77");
  auto a = send(i);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->pkt.type(), message_type::ack);
  EXPECT_TRUE(a->pkt.yiaddr.is_unspecified());
  EXPECT_FALSE(a->pkt.has(opt::lease_time));
  EXPECT_TRUE(a->pkt.has(opt::subnet_mask));
  EXPECT_EQ(a->to, ip("10.77.2.77"));
  EXPECT_FALSE(leases_.journal_pending());
}

// The server holds a reply until the journal is durable exactly when the reply says it promises
// a lease; that must coincide with the reply having written a journal record.
TEST_F(DhcpFull, ReplyPromisesALeaseExactlyWhenItJournaled) {
  auto check = [&](const packet& p, std::uint16_t port, bool want) {
    (void)leases_.take_journal();
    request_context ctx;
    ctx.now = t0;
    ctx.local_port = port;
    auto r = respond(p, inv_, leases_, ctx);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->promises_lease(), want) << to_string(*r->pkt.type());
    EXPECT_EQ(leases_.journal_pending(), want) << to_string(*r->pkt.type());
  };
  auto offer = send(msg(message_type::discover, mac(1)));
  ASSERT_TRUE(offer);
  EXPECT_FALSE(offer->promises_lease());
  auto req = msg(message_type::request, mac(1));
  req.set(opt::server_id, encode_ip(server));
  req.set(opt::requested_ip, encode_ip(offer->pkt.yiaddr));
  check(req, server_port, true);
  auto rapid = msg(message_type::discover, mac(3));
  rapid.set(opt::rapid_commit, {});
  check(rapid, server_port, true);
  auto inform = msg(message_type::inform, mac(1));
  inform.ciaddr = ip("10.77.2.77");
  check(inform, server_port, false);
  auto foreign = msg(message_type::request, mac(4));
  foreign.set(opt::requested_ip, encode_ip(ip("192.168.9.9")));
  check(foreign, server_port, false);  // NAK
}

TEST_F(DhcpFull, RelayedRequestAnsweredToGiaddr) {
  inv_.server.dhcp.range_start = ip("10.77.3.100");
  inv_.server.dhcp.range_end = ip("10.77.3.110");
  configure_leases(leases_, inv_);
  auto d = msg(message_type::discover, mac(1));
  d.giaddr = ip("10.77.3.1");
  d.hops = 1;
  auto o = send(d);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->to, ip("10.77.3.1"));
  EXPECT_EQ(o->port, 67);
  EXPECT_EQ(o->pkt.giaddr, ip("10.77.3.1"));
  EXPECT_EQ(o->pkt.yiaddr, ip("10.77.3.100"));
  EXPECT_EQ(o->pkt.get_ip(opt::router), ip("10.77.3.1"));  // no router configured: the relay
  // A client on our own subnet gets nothing from a pool that is not there.
  EXPECT_FALSE(send(msg(message_type::discover, mac(3))));
}

TEST_F(DhcpFull, RestartKeepsAddresses) {
  std::map<mac_address, ipv4_address> before;
  for (int i = 10; i < 14; ++i) before[mac(i)] = *dora(mac(i));
  const auto journal = leases_.take_journal();
  lease_table fresh;
  configure_leases(fresh, inv_);
  EXPECT_EQ(fresh.load(journal), 0u);
  leases_ = std::move(fresh);
  // In a different order, every client keeps its address.
  for (int i = 13; i >= 10; --i) EXPECT_EQ(dora(mac(i)), before[mac(i)]);
  EXPECT_FALSE(send(msg(message_type::discover, mac(30))));  // still full
}

// In full mode unknown="ignore" decides only what PXE clients boot: a printer or laptop still
// gets a lease (as from any DHCP server owning the subnet), a PXE ROM gets no boot file.
TEST_F(DhcpFull, UnknownIgnoredClientsGetALeaseButNoBoot) {
  inv_.unknown.what = inventory::unknown_policy::kind::ignore;
  EXPECT_TRUE(dora(mac(30)));
  auto pxe = msg(message_type::discover, mac(31));
  pxe.set(opt::vendor_class, to_bytes("PXEClient:Arch:00000:UNDI:002001"));
  auto o = send(pxe);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->pkt.type(), message_type::offer);
  EXPECT_TRUE(o->pkt.file.empty());
  EXPECT_FALSE(o->pkt.has(opt::vendor_class));
  EXPECT_EQ(why_, "unknown MAC, policy ignore: leased an address without boot information");
}

TEST_F(DhcpFull, KnownOnlyLeasesOnlyToListedHosts) {
  inv_.server.dhcp.known_only = true;
  EXPECT_FALSE(send(msg(message_type::discover, mac(30))));
  EXPECT_EQ(why_, "unknown MAC, <dhcp known-only=\"true\">");
  auto o = send(msg(message_type::discover, mac(2)));  // listed (static address)
  ASSERT_TRUE(o);
  EXPECT_EQ(o->pkt.yiaddr, ip("10.77.2.50"));
}

// A flood of unknown MACs exhausting the pool with offers does not starve a listed host without
// a static address: it takes an address only offered to an unknown client.
TEST_F(DhcpFull, ListedHostTakesAnUnknownOfferWhenThePoolIsExhausted) {
  inventory::host h;
  h.mac = mac(9);
  h.name = "lab-09";  // dynamic address
  inv_.hosts.push_back(h);
  configure_leases(leases_, inv_);
  for (int i = 100; i < 200; ++i) send(msg(message_type::discover, mac(i)));
  EXPECT_FALSE(send(msg(message_type::discover, mac(300))));  // exhausted for unknown MACs
  auto a = dora(mac(9));
  ASSERT_TRUE(a);
  EXPECT_TRUE(leases_.in_pool(*a));
}

TEST_F(DhcpFull, BoundLeasesOfUnknownClientsAreNeverTaken) {
  inventory::host h;
  h.mac = mac(9);
  h.name = "lab-09";
  inv_.hosts.push_back(h);
  configure_leases(leases_, inv_);
  for (int i = 100; i < 104; ++i) ASSERT_TRUE(dora(mac(i)));
  EXPECT_FALSE(send(msg(message_type::discover, mac(9))));
  EXPECT_EQ(why_, "no address available for this subnet");
}

}  // namespace
}  // namespace diskless::dhcp
