#include "state/model.hpp"

#include <gtest/gtest.h>

namespace diskless::state {
namespace {

using namespace std::chrono_literals;
using svc::event;
using svc::event_kind;

const mac_address pc1 = *mac_address::parse("52:54:00:00:00:01");
const ipv4_address addr1 = *ipv4_address::parse("10.0.0.50");

inventory::inventory lab() {
  inventory::inventory inv;
  inventory::host h;
  h.mac = pc1;
  h.name = "pc1";
  inv.hosts.push_back(h);
  return inv;
}

event dhcp(std::string msg, std::string reply, bool ipxe = false, const mac_address& mac = pc1) {
  event e;
  e.kind = event_kind::dhcp;
  e.mac = mac;
  e.name = std::move(msg);
  e.what = std::move(reply);
  e.pxe = true;
  e.ipxe = ipxe;
  if (e.what == "ACK" || e.what == "OFFER") e.address = addr1;
  return e;
}

event file(std::string path, event_kind k = event_kind::file) {
  event e;
  e.kind = k;
  e.address = addr1;
  e.name = std::move(path);
  e.what = "tftp";
  e.detail = "not found";
  return e;
}

event iscsi(event_kind k, std::string initiator, std::uint64_t read = 0) {
  event e;
  e.kind = k;
  e.name = std::move(initiator);
  e.what = "pc1";
  e.address = addr1;
  e.bytes_read = read;
  e.detail = "why";
  return e;
}

struct rig {
  model m;
  time_point t = time_point{} + 1000s;
  rig() { m.apply(lab()); }
  explicit rig(limits l) : m(l) { m.apply(lab()); }
  std::vector<change> feed(const event& e) { return m.on_event(e, t += 1s); }
  const boot_record& boot() { return *m.find("pc1")->current; }
};

TEST(StateModel, FullSanbootSequenceReachesOs) {
  rig r;
  r.feed(dhcp("DISCOVER", "OFFER"));
  EXPECT_EQ(r.boot().current, phase::dhcp);
  r.feed(dhcp("REQUEST", "ACK"));
  EXPECT_EQ(r.boot().address, addr1);
  r.feed(file("undionly.kpxe"));
  EXPECT_EQ(r.boot().current, phase::loader);
  r.feed(dhcp("DISCOVER", "OFFER", true));
  r.feed(dhcp("REQUEST", "ACK", true));
  EXPECT_EQ(r.boot().current, phase::loader);  // iPXE's DHCP continues the boot
  EXPECT_TRUE(r.boot().ipxe);
  r.feed(file("boot/52-54-00-00-00-01.ipxe"));
  EXPECT_EQ(r.boot().current, phase::script);
  r.feed(iscsi(event_kind::iscsi_login, "iqn.ipxe"));
  EXPECT_EQ(r.boot().current, phase::iscsi);
  auto c = r.feed(iscsi(event_kind::iscsi_io, "iqn.ipxe", 512));
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].last.name, "first-read");
  EXPECT_TRUE(r.feed(iscsi(event_kind::iscsi_io, "iqn.ipxe", 512)).empty());
  EXPECT_EQ(r.boot().bytes_read, 1024u);
  r.feed(iscsi(event_kind::iscsi_login, "iqn.os"));
  EXPECT_EQ(r.boot().current, phase::os);
  EXPECT_EQ(r.boot().outcome, "os");
  ASSERT_TRUE(r.boot().finished);
  EXPECT_EQ(*r.boot().finished - r.boot().started, 9s);
  EXPECT_EQ(r.m.find("pc1")->sessions, 2u);
  EXPECT_EQ(r.boot().steps.front().name, "discover");
  EXPECT_EQ(r.boot().steps.back().name, "os-takeover");
}

TEST(StateModel, TotalsCountBootsAndDurations) {
  rig r;
  r.feed(dhcp("DISCOVER", "OFFER"));
  r.feed(dhcp("REQUEST", "ACK"));
  r.feed(file("undionly.kpxe"));
  r.feed(iscsi(event_kind::iscsi_login, "iqn.a"));
  r.feed(iscsi(event_kind::iscsi_io, "iqn.a", 100));
  r.feed(iscsi(event_kind::iscsi_login, "iqn.b"));  // 6 s after the DISCOVER
  r.feed(dhcp("DISCOVER", "OFFER"));                // next boot
  r.feed(iscsi(event_kind::iscsi_login_failed, "iqn.c"));
  const auto& t = r.m.counted();
  EXPECT_EQ((t.dhcp.at({"DISCOVER", "OFFER"})), 2u);
  EXPECT_EQ((t.files.at({"tftp", "loader"})), 1u);
  EXPECT_EQ(t.logins.at("ok"), 2u);
  EXPECT_EQ(t.logins.at("refused"), 1u);
  EXPECT_EQ(t.boots.at("os"), 1u);
  EXPECT_EQ(t.boots.at("failed"), 1u);
  EXPECT_EQ(t.bytes_read, 100u);
  EXPECT_EQ(r.m.find("pc1")->total_read, 100u);
  const auto& h = t.boot_seconds.at("sanboot");
  EXPECT_EQ(h.count, 1u);
  EXPECT_DOUBLE_EQ(h.sum, 5.0);
  EXPECT_EQ(h.buckets[0], 1u);  // le 5
}

TEST(StateModel, SameInitiatorAfterFirstSessionEndedIsTakeover) {
  rig r;
  r.feed(dhcp("DISCOVER", "OFFER"));
  r.feed(iscsi(event_kind::iscsi_login, "iqn.same"));
  r.feed(iscsi(event_kind::iscsi_login, "iqn.same"));  // still live: just another login
  EXPECT_EQ(r.boot().current, phase::iscsi);
  r.feed(iscsi(event_kind::iscsi_logout, "iqn.same"));
  r.feed(iscsi(event_kind::iscsi_logout, "iqn.same"));
  r.feed(iscsi(event_kind::iscsi_login, "iqn.same"));
  EXPECT_EQ(r.boot().current, phase::os);
}

TEST(StateModel, FirmwareRetransmitsDoNotStartNewBoots) {
  rig r;
  r.feed(dhcp("DISCOVER", "OFFER"));
  auto id = r.boot().id;
  r.feed(dhcp("DISCOVER", "OFFER"));
  EXPECT_EQ(r.boot().id, id);
  r.feed(dhcp("REQUEST", "ACK"));
  r.feed(file("undionly.kpxe"));
  r.feed(dhcp("DISCOVER", "OFFER"));  // the PC rebooted
  EXPECT_NE(r.boot().id, id);
  const auto& h = *r.m.find("pc1");
  ASSERT_EQ(h.history.size(), 1u);
  EXPECT_EQ(h.history.front().outcome, "superseded");
  EXPECT_EQ(h.history.front().current, phase::loader);
}

TEST(StateModel, IpxeRomRebootStartsANewBootChainloadDoesNot) {
  rig r;
  r.feed(dhcp("DISCOVER", "OFFER", true));  // a NIC whose ROM is iPXE
  auto id = r.boot().id;
  r.feed(dhcp("REQUEST", "ACK", true));
  r.feed(file("boot/52-54-00-00-00-01.ipxe"));
  r.feed(iscsi(event_kind::iscsi_login, "iqn.ipxe"));
  r.feed(dhcp("DISCOVER", "OFFER", true));  // rebooted
  EXPECT_NE(r.boot().id, id);
  EXPECT_EQ(r.boot().current, phase::dhcp);
  id = r.boot().id;
  r.feed(file("undionly.kpxe"));            // a chainload from here on
  r.feed(dhcp("DISCOVER", "OFFER", true));  // iPXE after the loader: the same boot
  EXPECT_EQ(r.boot().id, id);
}

TEST(StateModel, MissingScriptFailsTheBootUntilTheNextOne) {
  rig r;
  r.feed(dhcp("DISCOVER", "OFFER"));
  r.feed(dhcp("REQUEST", "ACK"));
  r.feed(file("boot/52-54-00-00-00-01.ipxe", event_kind::file_missing));
  EXPECT_EQ(r.boot().current, phase::failed);
  EXPECT_EQ(r.boot().outcome, "failed");
  ASSERT_EQ(r.boot().errors.size(), 1u);
  r.feed(iscsi(event_kind::iscsi_login, "iqn.x"));
  EXPECT_EQ(r.boot().current, phase::failed);  // failed stays until a new boot
  r.feed(dhcp("DISCOVER", "OFFER"));
  EXPECT_EQ(r.boot().current, phase::dhcp);
}

TEST(StateModel, RefusedLoginIsAnError) {
  rig r;
  r.feed(iscsi(event_kind::iscsi_login_failed, "iqn.bad"));
  EXPECT_EQ(r.boot().current, phase::failed);
  EXPECT_EQ(r.m.find("pc1")->last_error, "iSCSI login refused: why");
}

TEST(StateModel, FilesFromUnknownAddressesAndOsDhcpAreNotSteps) {
  rig r;
  auto e = file("undionly.kpxe");
  EXPECT_TRUE(r.feed(e).empty());  // no ACK gave the host that address yet
  auto os = dhcp("REQUEST", "ACK");
  os.pxe = false;
  EXPECT_TRUE(r.feed(os).empty());
  EXPECT_FALSE(r.m.find("pc1")->current);
  EXPECT_EQ(r.m.find("pc1")->address, addr1);
  EXPECT_EQ(r.feed(e).size(), 1u);  // now it is pc1's
}

// The OS's own DHCP moves the host to another address: requests from its old address (now
// someone else's) are no longer its steps.
TEST(StateModel, AnAddressTheHostLeftNoLongerNamesIt) {
  rig r;
  auto os = dhcp("REQUEST", "ACK");
  os.pxe = false;
  r.feed(os);
  EXPECT_EQ(r.feed(file("undionly.kpxe")).size(), 1u);  // addr1 is pc1's
  os.address = *ipv4_address::parse("10.0.0.77");
  r.feed(os);
  EXPECT_EQ(r.m.find("pc1")->address, os.address);
  EXPECT_TRUE(r.feed(file("undionly.kpxe")).empty());  // addr1 names nobody now
  auto moved = file("undionly.kpxe");
  moved.address = os.address;
  EXPECT_EQ(r.feed(moved).size(), 1u);
}

TEST(StateModel, UnknownMacsAreRecordedAndCapped) {
  limits l;
  l.unknown = 3;
  rig r(l);
  for (int i = 0; i < 5; ++i) {
    auto mac = *mac_address::parse("02:00:00:00:00:0" + std::to_string(i));
    auto e = dhcp("DISCOVER", "", false, mac);
    e.vendor_class = "PXEClient:Arch:00000";
    e.uuid = "00112233";
    auto c = r.feed(e);
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].what, change::kind::unknown);
    EXPECT_TRUE(r.feed(e).empty());  // seen again: counted, not announced
  }
  auto u = r.m.unknown();
  ASSERT_EQ(u.size(), 3u);
  EXPECT_EQ(u[0].mac.str(), "02:00:00:00:00:04");  // newest first; 00 and 01 dropped
  EXPECT_EQ(u[2].mac.str(), "02:00:00:00:00:02");
  EXPECT_EQ(u[0].count, 2u);
  EXPECT_EQ(u[0].vendor_class, "PXEClient:Arch:00000");
  EXPECT_EQ(u[0].uuid, "00112233");
}

TEST(StateModel, AdoptedMacLeavesUnknownList) {
  rig r;
  auto mac = *mac_address::parse("02:00:00:00:00:09");
  r.feed(dhcp("DISCOVER", "", false, mac));
  ASSERT_EQ(r.m.unknown().size(), 1u);
  auto inv = lab();
  inventory::host h;
  h.mac = mac;
  h.name = "pc9";
  inv.hosts.push_back(h);
  r.m.apply(inv);
  EXPECT_TRUE(r.m.unknown().empty());
  ASSERT_NE(r.m.find("pc9"), nullptr);
  r.m.apply(lab());
  EXPECT_EQ(r.m.find("pc9"), nullptr);
}

TEST(StateModel, HistoryStepsAndErrorsAreBounded) {
  limits l;
  l.boots = 2;
  l.steps = 4;
  l.errors = 2;
  rig r(l);
  for (int i = 0; i < 5; ++i) {
    r.feed(dhcp("DISCOVER", "OFFER"));
    r.feed(dhcp("REQUEST", "ACK"));
    r.feed(file("undionly.kpxe"));
  }
  EXPECT_EQ(r.m.find("pc1")->history.size(), 2u);
  for (int i = 0; i < 5; ++i) r.feed(file("images/x/vmlinuz", event_kind::file_missing));
  EXPECT_EQ(r.boot().steps.size(), 4u);
  EXPECT_EQ(r.boot().errors.size(), 2u);
  EXPECT_EQ(r.boot().id, 5u);
}

TEST(StateModel, LeasesAreCapped) {
  limits l;
  l.leases = 2;
  rig r(l);
  for (int i = 0; i < 4; ++i) {
    auto e =
        dhcp("REQUEST", "ACK", false, *mac_address::parse("02:00:00:00:01:0" + std::to_string(i)));
    r.feed(e);
  }
  auto ls = r.m.leases();
  ASSERT_EQ(ls.size(), 2u);
  EXPECT_EQ(ls[0].mac.str(), "02:00:00:00:01:02");
}

}  // namespace
}  // namespace diskless::state
