#include "http/route.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

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
    dir_ = std::filesystem::temp_directory_path() /
           ("diskless-route-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_ / "k");
    std::ofstream(dir_ / "k/vmlinuz") << "KERNEL";
    std::ofstream(dir_ / "k/initrd.img") << "INITRD";
    inventory::load_options o;
    o.check_files = false;
    o.base_dir = dir_;
    auto r = inventory::load_text(R"(<diskless version="1">
  <server address="10.0.0.1"/>
  <images><image name="live" kernel="k/vmlinuz" initrd="k/initrd.img" cmdline="quiet"/></images>
  <hosts unknown="ignore">
    <host mac="52:54:00:00:00:01" name="pc1" image="live" boot="linux"/>
  </hosts>
</diskless>)",
                                  "inv.xml", o);
    ASSERT_TRUE(r.ok());
    boot::catalog::hooks h;
    h.on_fetched = [this](const mac_address& m) { fetched_.push_back(m); };
    files_.emplace(r.inv, std::move(h));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  // As the server machine itself (local), or as pc1's own PC.
  plan get(std::string_view target, std::string_view method = "GET", bool local = true) {
    return route(method, target, *files_, stats_, requester{local, pc1_ip, pc1_mac});
  }
  plan as_pc(std::string_view target, std::string_view method = "GET") {
    return get(target, method, false);
  }
  static inline const ipv4_address pc1_ip = *ipv4_address::parse("10.0.0.21");
  // Whose PCs those addresses are, as the server's owner lookup (resolve_owner) finds them.
  static inline const mac_address pc1_mac = *mac_address::parse("52:54:00:00:00:01");
  static inline const mac_address other_mac = *mac_address::parse("52:54:00:00:00:02");
  static inline const ipv4_address other_ip = *ipv4_address::parse("10.0.0.22");
  std::filesystem::path dir_;
  std::optional<boot::catalog> files_;
  std::vector<mac_address> fetched_;
  counters stats_;
};

TEST_F(Routes, ScriptsFilesStatusMetrics) {
  auto s = as_pc("/boot/52-54-00-00-00-01.ipxe");
  EXPECT_EQ(s.status, 200u);
  EXPECT_TRUE(s.script);
  EXPECT_TRUE(s.body.starts_with("#!ipxe")) << s.body;
  auto k = get("/images/live/vmlinuz");
  EXPECT_EQ(k.status, 200u);
  EXPECT_FALSE(k.script);
  ASSERT_TRUE(k.content);
  EXPECT_EQ(*k.content, "KERNEL");
  auto i = get("/images/live/initrd?x=1", "HEAD");
  ASSERT_TRUE(i.content);
  EXPECT_EQ(*i.content, "INITRD");
  auto st = get("/status");
  EXPECT_NE(st.body.find("\"name\":\"pc1\""), std::string::npos) << st.body;
  EXPECT_NE(st.body.find("\"script\":\"/boot/52-54-00-00-00-01.ipxe\""), std::string::npos);
  stats_.requests = 7;
  auto m = get("/metrics");
  EXPECT_NE(m.body.find("diskless_http_requests_total 7"), std::string::npos) << m.body;
}

TEST_F(Routes, InventoryWidePagesOnlyForTheServerItself) {
  // A PC on the boot LAN must not list every host and MAC.
  for (auto page : {"/status", "/metrics", "/status?x=1"}) {
    auto p = get(page, "GET", false);
    EXPECT_EQ(p.status, 403u) << page;
    EXPECT_EQ(p.body.find("pc1"), std::string::npos) << page;
    EXPECT_EQ(p.body.find("52:54"), std::string::npos) << page;
  }
  EXPECT_EQ(get("/status", "GET", true).status, 200u);
}

TEST_F(Routes, OnlyAGetOfAScriptIsAFetch) {
  as_pc("/boot/52-54-00-00-00-01.ipxe", "HEAD");
  as_pc("/images/live/vmlinuz");
  EXPECT_TRUE(fetched_.empty());
  as_pc("/boot/52-54-00-00-00-01.ipxe");
  EXPECT_EQ(fetched_, std::vector{*mac_address::parse("52:54:00:00:00:01")});
}

TEST_F(Routes, EfiLoadersForHttpBootAreOpenedByTheServer) {
  auto s = get("/ipxe/snponly.efi");
  EXPECT_EQ(s.status, 200u);
  ASSERT_TRUE(s.disk);  // route decides, the server opens (root, then the ipxe package)
  EXPECT_EQ(s.disk->rel, "snponly.efi");
  EXPECT_EQ(s.disk->root, dir_ / "images/tftp");
  EXPECT_EQ(s.disk->fallbacks, std::vector{boot::ipxe_package_dir});
  ASSERT_TRUE(get("/ipxe/ipxe.efi").disk);
  EXPECT_EQ(get("/ipxe/ipxe.efi").disk->rel, "ipxe.efi");
  EXPECT_EQ(get("/ipxe/undionly.kpxe").status, 404u);
  EXPECT_EQ(get("/ipxe/../ipxe.efi").status, 404u);
  EXPECT_EQ(get("/undionly.kpxe").status, 404u);  // the TFTP root is not served over HTTP
}

TEST_F(Routes, AScriptIsForbiddenToAnyoneButItsPc) {
  const std::string script = "/boot/52-54-00-00-00-01.ipxe";
  for (requester who : {requester{true, pc1_ip, pc1_mac}, requester{false, other_ip, other_mac},
                        requester{false, *ipv4_address::parse("10.0.0.99"), std::nullopt},
                        requester{false, std::nullopt, std::nullopt}}) {
    for (auto method : {"GET", "HEAD"}) {
      auto p = route(method, script, *files_, stats_, who);
      EXPECT_EQ(p.status, 403u);
      EXPECT_FALSE(p.script);
      EXPECT_EQ(p.body.find("#!ipxe"), std::string::npos) << p.body;
    }
    EXPECT_EQ(route("GET", "/images/live/vmlinuz", *files_, stats_, who).status, 200u);
  }
  EXPECT_TRUE(fetched_.empty());
  EXPECT_EQ(as_pc(script).status, 200u);
}

TEST_F(Routes, RefusalsAndUnknowns) {
  EXPECT_EQ(get("/status", "POST").status, 405u);
  EXPECT_EQ(get("/boot/52-54-00-00-00-99.ipxe").status, 404u);
  EXPECT_EQ(get("/images/../../etc/passwd").status, 404u);
  EXPECT_EQ(get("/images/live/%2e%2e").status, 404u);
  EXPECT_EQ(get("/images/nope/vmlinuz").status, 404u);
  EXPECT_EQ(get("/").status, 404u);
}

}  // namespace
}  // namespace diskless::http
