#include "inventory/load.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>

#include "inventory/test_support.hpp"
#include "util/file.hpp"

namespace diskless::inventory {
namespace {

const std::filesystem::path testdata = "src/inventory/testdata";

std::vector<std::string> lines(const load_result& r) {
  std::vector<std::string> out;
  for (const auto& p : r.problems) out.push_back(p.str());
  return out;
}

bool has(const load_result& r, int line, std::string_view needle) {
  for (const auto& p : r.problems)
    if (p.line == line && p.message.find(needle) != std::string::npos) return true;
  return false;
}

TEST(Load, ValidInventoryIsReadCompletely) {
  auto r = load_file(testdata / "valid.xml", no_files());
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(lines(r));
  const auto& inv = *r.inv;
  EXPECT_EQ(inv.server.address->str(), "10.0.0.1");
  EXPECT_EQ(inv.server.interface, "eth1");
  EXPECT_EQ(inv.server.dhcp.mode, dhcp_mode::full);
  EXPECT_EQ(inv.server.dhcp.range_start->str(), "10.0.0.100");
  EXPECT_EQ(inv.server.dhcp.dns.size(), 2u);
  EXPECT_EQ(inv.server.dhcp.lease_time, std::chrono::seconds(3600));
  EXPECT_EQ(inv.server.tftp.port_range_low, 30000);
  ASSERT_EQ(inv.hosts.size(), 3u);
  EXPECT_EQ(inv.hosts[1].mac.str(), "52:54:00:12:34:02");
  EXPECT_EQ(inv.hosts[2].mac.str(), "52:54:00:12:34:03");
  EXPECT_EQ(inv.hosts[0].overlay, overlay_mode::volatile_);
  EXPECT_EQ(inv.hosts[0].line, 16);
  EXPECT_EQ(inv.hosts[2].quirks.reply_delay, std::chrono::milliseconds(500));
  EXPECT_TRUE(inv.hosts[2].quirks.force_option43);
  ASSERT_TRUE(inv.hosts[2].chap);
  EXPECT_EQ(inv.hosts[2].chap->user, "lab03");
  EXPECT_EQ(inv.target_iqn(inv.hosts[0]), "iqn.2026-11.lan.diskless:lab-01");
  EXPECT_EQ(inv.initiator_iqn(inv.hosts[0]), "iqn.2026-11.lan.diskless:initiator:lab-01");
  EXPECT_EQ(inv.resolve("win10.img"), "/srv/diskless/win10.img");
  EXPECT_EQ(inv.find_host_by_key("52-54-00-12-34-03")->name, "lab-03");
}

TEST(Load, ChapSecretAutoIsAcceptedAndShortSecretsAreNot) {
  auto xml = [](std::string_view secret) {
    return fmt::format(R"(<diskless version="1"><server address="10.0.0.1"/>
  <images><image name="i" disk="i.img"/></images><hosts>
  <host mac="52:54:00:00:00:01" name="a" image="i" chap-user="a" chap-secret="{}"/>
  </hosts></diskless>)",
                       secret);
  };
  auto r = load_text(xml("auto"), "inv.xml", no_files());
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(lines(r));
  const auto* a = r.inv->find_host_by_name("a");
  ASSERT_TRUE(a && a->chap);
  EXPECT_TRUE(a->chap->auto_secret());
  // Only the exact word: anything else must be a real secret of 12 to 16 characters.
  for (auto bad : {"autox", "AUTO", "auto "}) {
    auto b = load_text(xml(bad), "inv.xml", no_files());
    EXPECT_TRUE(has(b, 3, "12 to 16 characters")) << bad << ::testing::PrintToString(lines(b));
  }
}

TEST(Load, HttpAddressIsOptionalAndChecked) {
  auto r = load_text(R"(<diskless version="1"><server address="10.0.0.1">
  <http port="8081" address="10.0.0.2"/></server></diskless>)",
                     "inv.xml", no_files());
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(lines(r));
  EXPECT_EQ(r.inv->server.http.address->str(), "10.0.0.2");
  EXPECT_EQ(r.inv->server.http.port, 8081);
  r = load_text(R"(<diskless version="1"><server address="10.0.0.1"/></diskless>)", "inv.xml",
                no_files());
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.inv->server.http.address);  // the server address is used
  r = load_text(R"(<diskless version="1"><server address="10.0.0.1">
  <http address="10.0.0"/></server></diskless>)",
                "inv.xml", no_files());
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(has(r, 2, "address")) << ::testing::PrintToString(lines(r));
}

TEST(Load, UnknownElementsAndAttributesSuggestTheRightWord) {
  auto r = load_file(testdata / "broken-structure.xml", no_files());
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(has(r, 2, "no attribute 'adress'; did you mean 'address'?"))
      << ::testing::PrintToString(lines(r));
  EXPECT_TRUE(has(r, 3, "did you mean 'full'?"));
  EXPECT_TRUE(has(r, 4, "<tftpd> is not allowed inside <server>; did you mean 'tftp'?"));
  EXPECT_TRUE(has(r, 7, "did you mean 'disk'?"));
  EXPECT_TRUE(has(r, 10, "did you mean 'sanboot'?"));
  for (const auto& p : r.problems) EXPECT_EQ(p.file, (testdata / "broken-structure.xml").string());
}

TEST(Load, EveryValueProblemIsReportedAtOnceWithItsLine) {
  auto r = load_file(testdata / "broken-values.xml", no_files());
  EXPECT_FALSE(r.ok());
  auto all = ::testing::PrintToString(lines(r));
  EXPECT_TRUE(has(r, 4, "not an iSCSI qualified name")) << all;
  EXPECT_TRUE(has(r, 12, "is not a MAC address")) << all;
  EXPECT_TRUE(has(r, 14, "MAC 52:54:00:12:34:02 is already used by host 'pc2' (line 13)")) << all;
  EXPECT_TRUE(has(r, 14, "image 'missing', which is not defined")) << all;
  EXPECT_TRUE(has(r, 15, "host name 'pc2' is already used (line 13)")) << all;
  EXPECT_TRUE(has(r, 15, "image 'kern' has no disk")) << all;
  EXPECT_TRUE(has(r, 16, "no disk to overlay")) << all;
  EXPECT_TRUE(has(r, 17, "outside the subnet")) << all;
  EXPECT_TRUE(has(r, 17, "both write image 'disk' directly")) << all;
  EXPECT_TRUE(has(r, 18, "inside the dynamic range")) << all;
  EXPECT_TRUE(has(r, 19, "not usable in an IQN")) << all;
  // Sorted by line.
  for (std::size_t i = 1; i < r.problems.size(); ++i)
    EXPECT_LE(r.problems[i - 1].line, r.problems[i].line);
}

TEST(Load, MalformedXmlGivesTheLine) {
  auto r = load_file(testdata / "broken-markup.xml", no_files());
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].line, 6);
  EXPECT_NE(r.problems[0].message.find("malformed XML"), std::string::npos);
}

TEST(Load, MissingFilesAreErrorsWhenUsedAndWarningsOtherwise) {
  auto dir = std::filesystem::temp_directory_path() / "diskless-load-test";
  std::filesystem::create_directories(dir);
  { std::ofstream(dir / "used.img") << "x"; }
  const char* xml = R"(<diskless version="1">
  <images>
    <image name="used" disk="used.img"/>
    <image name="gone" disk="gone.img"/>
    <image name="lost" disk="lost.img"/>
  </images>
  <hosts>
    <host mac="52:54:00:00:00:01" name="a" image="used"/>
    <host mac="52:54:00:00:00:02" name="b" image="lost" overlay="readonly"/>
  </hosts>
</diskless>)";
  load_options o;
  o.base_dir = dir;
  auto r = load_text(xml, "inv.xml", o);
  EXPECT_FALSE(r.ok());
  // The error is confined to image 'lost' and its host 'b': both are disabled, 'a' is served.
  ASSERT_TRUE(r.loaded());
  ASSERT_EQ(r.problems.size(), 3u) << ::testing::PrintToString(lines(r));
  EXPECT_EQ(r.problems[0].severity, problem::level::warning);
  EXPECT_EQ(r.problems[0].line, 4);
  EXPECT_EQ(r.problems[1].severity, problem::level::error);
  EXPECT_EQ(r.problems[1].line, 5);
  EXPECT_EQ(r.problems[1].image, "lost");
  EXPECT_EQ(r.problems[0].str().substr(0, 20), "inv.xml:4: warning: ");
  EXPECT_TRUE(has(r, 9, "host 'b' is disabled"));
  EXPECT_EQ(r.error_count(), 1u);
  EXPECT_TRUE(r.inv->disabled_images.contains("lost"));
  EXPECT_FALSE(r.inv->disabled_images.contains("gone"));  // unused: a warning only
  EXPECT_TRUE(r.inv->disabled_hosts.contains("b"));
  EXPECT_FALSE(r.inv->disabled_hosts.contains("a"));
  auto served = serving_view(*r.inv);
  ASSERT_EQ(served->hosts.size(), 1u);
  EXPECT_EQ(served->hosts[0].name, "a");
  EXPECT_EQ(served->find_image("lost"), nullptr);
  EXPECT_EQ(served->disabled_macs.size(), 1u);
  std::filesystem::remove_all(dir);
}

TEST(Load, HostErrorsDisableTheHostServerErrorsTheWholeFile) {
  const char* broken_host = R"(<diskless version="1">
  <images><image name="w" kernel="k"/></images>
  <hosts unknown="w">
    <host mac="52:54:00:00:00:01" name="ok" image="w" boot="linux"/>
    <host mac="52:54:00:00:00:02" name="bad" image="nosuch" boot="linux"/>
  </hosts>
</diskless>)";
  auto r = load_text(broken_host, "inv.xml", no_files());
  ASSERT_TRUE(r.loaded()) << ::testing::PrintToString(lines(r));
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.inv->disabled_hosts.contains("bad"));
  EXPECT_EQ(r.inv->disabled_hosts.size(), 1u);
  EXPECT_TRUE(has(r, 5, "is treated as an unknown PC"));
  // A server-wide error (here an unknown policy naming no image) still refuses the file.
  const char* broken_server = R"(<diskless version="1">
  <hosts unknown="nosuch"><host mac="52:54:00:00:00:01" name="ok" boot="local"/></hosts>
</diskless>)";
  auto s = load_text(broken_server, "inv.xml", no_files());
  EXPECT_FALSE(s.loaded());
}

TEST(Load, UnreadableFileSaysWhatToDo) {
  auto r = load_file("/nonexistent/diskless.xml");
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].message.find("cannot read"), std::string::npos);
}

TEST(Load, ShippedDefaultConfigIsValid) {
  auto r = load_file("config/diskless.xml", no_files());
  EXPECT_TRUE(r.ok()) << ::testing::PrintToString(lines(r));
}

TEST(Load, IscsiNopInterval) {
  auto xml = [](std::string_view v) {
    return fmt::format(R"(<diskless version="1"><server address="10.0.0.1">
<iscsi nop-interval="{}"/></server><images/><hosts/></diskless>)",
                       v);
  };
  auto r = load_text(xml("2s"), "t.xml", no_files());
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(lines(r));
  EXPECT_EQ(r.inv->server.iscsi.nop_interval, std::chrono::seconds(2));
  EXPECT_EQ(load_text(xml("1m"), "t.xml", no_files()).inv->server.iscsi.nop_interval,
            std::chrono::seconds(60));
  EXPECT_TRUE(has(load_text(xml("0"), "t.xml", no_files()), 2, "nop-interval"));
  EXPECT_TRUE(has(load_text(xml("2h"), "t.xml", no_files()), 2, "nop-interval"));
}

TEST(Values, IqnDurationsAndNames) {
  EXPECT_TRUE(is_valid_iqn("iqn.2026-11.lan.diskless"));
  EXPECT_TRUE(is_valid_iqn("iqn.2026-11.lan.diskless:lab-01"));
  EXPECT_FALSE(is_valid_iqn("iqn.2026-13.lan.diskless"));
  EXPECT_FALSE(is_valid_iqn("iqn.2026-11.Lan"));
  EXPECT_FALSE(is_valid_iqn("eui.0123456789abcdef"));
  EXPECT_FALSE(is_valid_iqn("iqn.2026-11."));
  EXPECT_EQ(parse_duration("1h"), std::chrono::seconds(3600));
  EXPECT_EQ(parse_duration("90"), std::chrono::seconds(90));
  EXPECT_FALSE(parse_duration("h"));
  EXPECT_FALSE(parse_duration("-1"));
  EXPECT_EQ(parse_millis("2s"), std::chrono::milliseconds(2000));
  EXPECT_FALSE(parse_millis("1h"));
  EXPECT_TRUE(is_valid_host_name("lab-01.row2"));
  EXPECT_FALSE(is_valid_host_name("-lab"));
  EXPECT_FALSE(is_valid_host_name("Lab"));
}

TEST(Load, DhcpRouterAdvertisements) {
  auto xml = [](std::string_view attrs) {
    return fmt::format(R"(<diskless version="1"><server address="10.0.0.1">
<dhcp {}/></server><images/><hosts/></diskless>)",
                       attrs);
  };
  auto ok = [&](std::string_view attrs) {
    auto r = load_text(xml(attrs), "t.xml", no_files());
    EXPECT_TRUE(r.ok()) << ::testing::PrintToString(lines(r));
    return r.inv->server.dhcp.ra_enabled();
  };
  EXPECT_FALSE(ok(R"(mode="proxy")"));  // the LAN's router is expected to advertise
  EXPECT_TRUE(ok(R"(mode="proxy" ra="on")"));
  EXPECT_TRUE(ok(R"(mode="full" range="10.0.0.100-10.0.0.199" netmask="255.255.255.0")"));
  EXPECT_FALSE(ok(R"(mode="full" range="10.0.0.100-10.0.0.199" netmask="255.255.255.0" ra="off")"));
  EXPECT_TRUE(has(load_text(xml(R"(ra="sometimes")"), "t.xml", no_files()), 2,
                  "ra=\"sometimes\" must be on or off"));
}

}  // namespace
}  // namespace diskless::inventory
