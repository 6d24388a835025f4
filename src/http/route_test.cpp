#include "http/route.hpp"

#include <gtest/gtest.h>

#include "inventory/load.hpp"

namespace diskless::http {
namespace {

TEST(Range, SingleRangesPerRfc9110) {
  bool bad = false;
  auto r = parse_range("bytes=0-99", 1000, bad);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first, 0u);
  EXPECT_EQ(r->last, 99u);
  r = parse_range("bytes=900-", 1000, bad);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->last, 999u);
  r = parse_range("bytes=-100", 1000, bad);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first, 900u);
  r = parse_range("bytes=500-5000", 1000, bad);  // clamped to the end
  ASSERT_TRUE(r);
  EXPECT_EQ(r->last, 999u);
  EXPECT_FALSE(bad);
}

TEST(Range, UnusableOrUnsatisfiable) {
  bool bad = false;
  EXPECT_FALSE(parse_range("bytes=1000-", 1000, bad));
  EXPECT_TRUE(bad);
  EXPECT_FALSE(parse_range("bytes=-0", 1000, bad));
  EXPECT_TRUE(bad);
  for (const char* h :
       {"items=0-1", "bytes=5-1", "bytes=0-1,5-6", "bytes=a-b", "bytes=", "bytes=-"}) {
    EXPECT_FALSE(parse_range(h, 1000, bad)) << h;
    EXPECT_FALSE(bad) << h;
  }
}

class Routes : public ::testing::Test {
 protected:
  void SetUp() override {
    inventory::load_options o;
    o.check_files = false;
    o.base_dir = "/srv";
    auto r = inventory::load_text(R"(<diskless version="1">
  <server address="10.0.0.1"/>
  <images><image name="live" kernel="k/vmlinuz" initrd="k/initrd.img" cmdline="quiet"/></images>
  <hosts unknown="ignore">
    <host mac="52:54:00:00:00:01" name="pc1" image="live" boot="linux"/>
  </hosts>
</diskless>)",
                                  "inv.xml", o);
    ASSERT_TRUE(r.ok());
    inv_ = r.inv;
  }
  std::shared_ptr<inventory::inventory> inv_;
  boot::template_set templates_;
  counters stats_;
};

TEST_F(Routes, ScriptsFilesStatusMetrics) {
  auto s = route("GET", "/boot/52-54-00-00-00-01.ipxe", *inv_, templates_, stats_);
  EXPECT_EQ(s.status, 200u);
  EXPECT_TRUE(s.body.starts_with("#!ipxe")) << s.body;
  auto k = route("GET", "/images/live/vmlinuz", *inv_, templates_, stats_);
  EXPECT_EQ(k.status, 200u);
  EXPECT_EQ(k.file, "/srv/k/vmlinuz");
  auto i = route("HEAD", "/images/live/initrd?x=1", *inv_, templates_, stats_);
  EXPECT_EQ(i.file, "/srv/k/initrd.img");
  auto st = route("GET", "/status", *inv_, templates_, stats_);
  EXPECT_NE(st.body.find("\"name\":\"pc1\""), std::string::npos) << st.body;
  stats_.requests = 7;
  auto m = route("GET", "/metrics", *inv_, templates_, stats_);
  EXPECT_NE(m.body.find("diskless_http_requests_total 7"), std::string::npos) << m.body;
}

TEST_F(Routes, EfiLoadersForHttpBoot) {
  auto s = route("GET", "/ipxe/snponly.efi", *inv_, templates_, stats_);
  EXPECT_EQ(s.status, 200u);
  EXPECT_EQ(s.file, "/usr/lib/ipxe/snponly.efi");  // /srv/images/tftp has none
  EXPECT_EQ(route("GET", "/ipxe/ipxe.efi", *inv_, templates_, stats_).file,
            "/usr/lib/ipxe/ipxe.efi");
  EXPECT_EQ(route("GET", "/ipxe/undionly.kpxe", *inv_, templates_, stats_).status, 404u);
  EXPECT_EQ(route("GET", "/ipxe/../ipxe.efi", *inv_, templates_, stats_).status, 404u);
}

TEST_F(Routes, RefusalsAndUnknowns) {
  EXPECT_EQ(route("POST", "/status", *inv_, templates_, stats_).status, 405u);
  EXPECT_EQ(route("GET", "/boot/52-54-00-00-00-99.ipxe", *inv_, templates_, stats_).status, 404u);
  EXPECT_EQ(route("GET", "/images/../../etc/passwd", *inv_, templates_, stats_).status, 404u);
  EXPECT_EQ(route("GET", "/images/live/%2e%2e", *inv_, templates_, stats_).status, 404u);
  EXPECT_EQ(route("GET", "/images/nope/vmlinuz", *inv_, templates_, stats_).status, 404u);
  EXPECT_EQ(route("GET", "/", *inv_, templates_, stats_).status, 404u);
}

}  // namespace
}  // namespace diskless::http
