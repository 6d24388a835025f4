// <image rbd=...>: syntax checks made by `diskless check` without any Ceph cluster.
#include <gtest/gtest.h>

#include "inventory/load.hpp"
#include "inventory/test_support.hpp"

namespace diskless::inventory {
namespace {

bool has(const load_result& r, int line, std::string_view needle) {
  for (const auto& p : r.problems)
    if (p.line == line && p.message.find(needle) != std::string::npos) return true;
  return false;
}

load_result load_images(std::string_view images, std::string_view hosts = "") {
  std::string text = "<diskless version=\"1\">\n<images>\n" + std::string(images) +
                     "\n</images>\n<hosts>\n" + std::string(hosts) + "\n</hosts>\n</diskless>";
  return load_text(text, "inv.xml", no_files());
}

TEST(Rbd, ImageWithAllAttributesIsRead) {
  auto r = load_images(
      R"(<image name="win10" rbd="lab/win10-gold" snapshot="v3" ceph-conf="/etc/ceph/lab.conf" ceph-user="client.diskless"/>)",
      R"(<host mac="52:54:00:00:00:01" name="pc1" image="win10" overlay="volatile"/>)");
  ASSERT_TRUE(r.ok());
  const auto& img = r.inv->images.at(0);
  ASSERT_TRUE(img.rbd);
  EXPECT_TRUE(img.has_disk());
  EXPECT_TRUE(img.disk.empty());
  EXPECT_EQ(img.rbd->pool, "lab");
  EXPECT_EQ(img.rbd->image, "win10-gold");
  EXPECT_EQ(img.rbd->snapshot, "v3");
  EXPECT_EQ(img.rbd->conf, "/etc/ceph/lab.conf");
  EXPECT_EQ(img.rbd->user, "client.diskless");
  EXPECT_EQ(img.rbd->spec(), "lab/win10-gold@v3");
}

TEST(Rbd, MinimalImageDefaultsConfAndUser) {
  auto r = load_images(R"(<image name="w" rbd="rbd/w"/>)",
                       R"(<host mac="52:54:00:00:00:01" name="pc1" image="w"/>)");
  ASSERT_TRUE(r.ok());
  const auto& s = *r.inv->images.at(0).rbd;
  EXPECT_TRUE(s.snapshot.empty());
  EXPECT_TRUE(s.conf.empty());
  EXPECT_TRUE(s.user.empty());
  EXPECT_EQ(s.spec(), "rbd/w");
}

TEST(Rbd, BadSpecsAreErrorsAtTheImageLine) {
  for (const char* bad : {"noslash", "/img", "pool/", "po ol/img", "pool/im@g", "pool/a/b",
                          "pool/.hidden", "pool/img\x01"}) {
    auto r = load_images(std::string("<image name=\"w\" rbd=\"") + bad + "\"/>");
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_TRUE(has(r, 3, "image 'w': rbd=")) << bad;
  }
  auto snap = load_images(R"(<image name="w" rbd="p/w" snapshot="v 1"/>)");
  EXPECT_TRUE(has(snap, 3, "snapshot 'v 1' is not a name"));
}

TEST(Rbd, DiskAndRbdTogetherAndStrayAttributesAreErrors) {
  auto both = load_images(R"(<image name="w" disk="w.img" rbd="p/w"/>)");
  EXPECT_TRUE(has(both, 3, "has both disk"));
  auto stray = load_images(R"(<image name="w" disk="w.img" snapshot="v1"/>)");
  EXPECT_TRUE(has(stray, 3, "snapshot=\"...\" only goes with rbd"));
  auto user = load_images(R"(<image name="w" rbd="p/w" ceph-user="admin"/>)");
  EXPECT_TRUE(has(user, 3, "must be client.NAME"));
  auto conf = load_images(R"(<image name="w" rbd="p/w" ceph-conf=""/>)");
  EXPECT_TRUE(has(conf, 3, "ceph-conf is empty"));
}

TEST(Rbd, OverlaysNeedASnapshot) {
  for (const char* mode : {"volatile", "persistent", "readonly"}) {
    auto r =
        load_images(R"(<image name="w" rbd="p/w"/>)",
                    std::string(R"(<host mac="52:54:00:00:00:01" name="pc1" image="w" overlay=")") +
                        mode + "\"/>");
    EXPECT_FALSE(r.ok()) << mode;
    EXPECT_TRUE(has(r, 6, "names no snapshot")) << mode;
  }
}

TEST(Rbd, ParseSpecDirectly) {
  auto ok = parse_rbd_spec("p/i", "s");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->spec(), "p/i@s");
  EXPECT_FALSE(parse_rbd_spec("", ""));
  EXPECT_FALSE(parse_rbd_spec(std::string(101, 'a') + "/i", ""));
  EXPECT_TRUE(valid_ceph_user("client.x"));
  EXPECT_FALSE(valid_ceph_user("client."));
  EXPECT_FALSE(valid_ceph_user("osd.1"));
}

}  // namespace
}  // namespace diskless::inventory
