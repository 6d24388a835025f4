// 20,000 hosts: loading and diffing must stay correct at a lab's full size (the time is measured
// by integration/bench/inventory.sh, not asserted here).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "inventory/load.hpp"
#include "inventory/model.hpp"
#include "inventory/test_support.hpp"

namespace diskless::inventory {
namespace {

constexpr int host_count = 20000;

std::string mac_of(int i) {
  return fmt::format("52:54:00:{:02x}:{:02x}:{:02x}", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
}

// Two lines of preamble and images, then one host per line from line 7.
std::string big_inventory(int renamed_from = -1) {
  std::string xml =
      "<diskless version=\"1\">\n<images>\n<image name=\"gold\" disk=\"gold.img\"/>\n"
      "<image name=\"deb\" kernel=\"vmlinuz\"/>\n</images>\n<hosts unknown=\"ignore\">\n";
  for (int i = 0; i < host_count; ++i) {
    auto name =
        i >= renamed_from && renamed_from >= 0 ? fmt::format("new-{}", i) : fmt::format("pc-{}", i);
    xml += fmt::format("<host mac=\"{}\" name=\"{}\" image=\"gold\" overlay=\"volatile\"/>\n",
                       mac_of(i), name);
  }
  return xml + "</hosts>\n</diskless>\n";
}

TEST(Scale, TwentyThousandHostsLoadWithTheirLines) {
  auto r = load_text(big_inventory(), "big.xml", no_files());
  ASSERT_TRUE(r.ok()) << (r.problems.empty() ? "" : r.problems.front().str());
  ASSERT_EQ(r.inv->hosts.size(), std::size_t(host_count));
  for (int i : {0, 1, 9999, host_count - 1}) {
    EXPECT_EQ(r.inv->hosts[i].line, 7 + i);
    EXPECT_EQ(r.inv->hosts[i].name, fmt::format("pc-{}", i));
  }
}

TEST(Scale, AProblemNearTheEndOfABigFileHasItsLine) {
  auto xml = big_inventory();
  auto last = xml.rfind("name=\"pc-19999\"");
  xml.replace(last, 15, "name=\"Bad_Name\"");
  auto r = load_text(xml, "big.xml", no_files());
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].line, 7 + host_count - 1);
}

TEST(Scale, DiffOfTwentyThousandHostsFindsEveryChange) {
  auto before = load_text(big_inventory(), "big.xml", no_files());
  ASSERT_TRUE(before.ok());
  auto after_inv = *before.inv;
  after_inv.hosts.erase(after_inv.hosts.begin());            // removed pc-0
  after_inv.hosts[5000].overlay = overlay_mode::persistent;  // changed pc-5001
  host extra = after_inv.hosts.back();
  extra.mac = *mac_address::parse("52:54:00:ff:ff:ff");
  extra.name = "extra";
  after_inv.hosts.push_back(extra);                              // added
  std::reverse(after_inv.hosts.begin(), after_inv.hosts.end());  // order does not matter

  auto d = diff(*before.inv, after_inv);
  EXPECT_EQ(d.added, std::vector<std::string>{"extra"});
  EXPECT_EQ(d.changed, std::vector<std::string>{"pc-5001"});
  EXPECT_EQ(d.removed, std::vector<std::string>{"pc-0"});
  EXPECT_FALSE(d.server_changed);
  EXPECT_FALSE(d.images_changed);
  EXPECT_TRUE(diff(*before.inv, *before.inv).empty());

  // Every host renamed from the middle on; an image change reaches every host using it.
  auto renamed = load_text(big_inventory(host_count / 2), "big.xml", no_files());
  ASSERT_TRUE(renamed.ok());
  EXPECT_EQ(diff(*before.inv, *renamed.inv).changed.size(), std::size_t(host_count / 2));
  auto image_changed = *before.inv;
  image_changed.images[0].disk = "gold2.img";
  auto di = diff(*before.inv, image_changed);
  EXPECT_EQ(di.changed.size(), std::size_t(host_count));
  EXPECT_TRUE(di.images_changed);
}

}  // namespace
}  // namespace diskless::inventory
