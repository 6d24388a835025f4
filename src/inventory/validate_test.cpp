#include "inventory/validate.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "inventory/load.hpp"
#include "inventory/test_support.hpp"

namespace diskless::inventory {
namespace {

load_result load(const std::string& images, const std::string& hosts) {
  return load_text("<diskless version=\"1\">\n<images>\n" + images + "</images>\n<hosts>\n" +
                       hosts + "</hosts>\n</diskless>\n",
                   "inv.xml", no_files());
}

std::string all(const load_result& r) {
  std::string out;
  for (const auto& p : r.problems) out += p.str() + "\n";
  return out;
}

// "FILE:LINE: ..." containing needle.
bool has(const load_result& r, const std::string& where, std::string_view needle) {
  for (const auto& p : r.problems) {
    auto s = p.str();
    if (s.starts_with(where + ": ") && s.find(needle) != std::string::npos) return true;
  }
  return false;
}

const std::string gold = "<image name=\"gold\" disk=\"gold.img\"/>\n";

TEST(Validate, WriterAndOverlayHostsOnOneImageAreRefused) {
  auto r =
      load(gold,
           "<host mac=\"52:54:00:00:00:01\" name=\"pc1\" image=\"gold\" overlay=\"volatile\"/>\n"
           "<host mac=\"52:54:00:00:00:02\" name=\"pc2\" image=\"gold\"/>\n");
  EXPECT_FALSE(r.ok()) << all(r);
  EXPECT_TRUE(has(r, "inv.xml:7",
                  "host 'pc2' writes image 'gold' directly (overlay=\"none\") while host 'pc1' "
                  "(line 6) boots it with overlay=\"volatile\""))
      << all(r);
  EXPECT_TRUE(has(r, "inv.xml:7", "give 'pc2' overlay=\"persistent\"")) << all(r);
}

TEST(Validate, WriterAloneOrOverlaysAloneOrLinuxBootAreFine) {
  EXPECT_TRUE(load(gold, "<host mac=\"52:54:00:00:00:02\" name=\"pc2\" image=\"gold\"/>\n").ok());
  auto overlays =
      load(gold,
           "<host mac=\"52:54:00:00:00:01\" name=\"pc1\" image=\"gold\" overlay=\"volatile\"/>\n"
           "<host mac=\"52:54:00:00:00:02\" name=\"pc2\" image=\"gold\" overlay=\"readonly\"/>\n");
  EXPECT_TRUE(overlays.ok()) << all(overlays);
  // A linux boot never opens the disk, so it does not write it.
  auto linux_boot =
      load("<image name=\"gold\" disk=\"gold.img\" kernel=\"vmlinuz\"/>\n",
           "<host mac=\"52:54:00:00:00:01\" name=\"pc1\" image=\"gold\" overlay=\"volatile\"/>\n"
           "<host mac=\"52:54:00:00:00:02\" name=\"pc2\" image=\"gold\" boot=\"linux\"/>\n");
  EXPECT_TRUE(linux_boot.ok()) << all(linux_boot);
}

TEST(Validate, ControlCharactersInCmdlineAreRefusedWithTheLine) {
  // &#10; is a newline after XML parsing: it would start a second iPXE command.
  auto r = load("<image name=\"deb\" kernel=\"vmlinuz\" cmdline=\"quiet&#10;shell\"/>\n",
                "<host mac=\"52:54:00:00:00:01\" name=\"pc1\" image=\"deb\" boot=\"linux\"/>\n");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(has(r, "inv.xml:3",
                  "image 'deb': cmdline=\"quiet\\x0ashell\" contains the control "
                  "character 0x0a"))
      << all(r);
}

TEST(Validate, EveryRenderedFieldRejectsWhatIpxeInterprets) {
  struct bad_case {
    std::string images, hosts, needle;
  };
  const std::string host = "<host mac=\"52:54:00:00:00:01\" name=\"pc1\" image=\"deb\" ";
  const std::string deb = "<image name=\"deb\" kernel=\"vmlinuz\"/>\n";
  const std::vector<bad_case> cases = {
      {"<image name=\"deb\" kernel=\"vmlinuz\" cmdline=\"x=${net0/mac}\"/>\n",
       host + "boot=\"linux\"/>\n", "cmdline=\"x=${net0/mac}\" contains \"${\""},
      {"<image name=\"deb\" kernel=\"vmlinuz\" cmdline=\"quiet || shell\"/>\n",
       host + "boot=\"linux\"/>\n", "the word '||'"},
      {"<image name=\"deb\" kernel=\"vmlinuz\" cmdline=\"quiet #x\"/>\n",
       host + "boot=\"linux\"/>\n", "the word '#x'"},
      {"<image name=\"deb\" kernel=\"vmlinuz\" cmdline=\"a=&quot;b c&quot;\"/>\n",
       host + "boot=\"linux\"/>\n", "quoting"},
      {"<image name=\"deb\" kernel=\"vmlinuz\" cmdline=\"quiet&#13;\"/>\n",
       host + "boot=\"linux\"/>\n", "control character 0x0d"},
      {"<image name=\"d e\" kernel=\"vmlinuz\"/>\n", "", "name=\"d e\" contains a space"},
      {"<image name=\"deb\" kernel=\"vm&#10;linuz\"/>\n", "", "kernel=\"vm\\x0alinuz\""},
      {"<image name=\"deb\" disk=\"a&#9;b.img\"/>\n", "", "disk=\"a\\x09b.img\""},
      {"<image name=\"deb\" kernel=\"vmlinuz\" rootfstype=\"ext4 x\"/>\n", "",
       "rootfstype=\"ext4 x\" contains a space"},
      {deb, host + "boot=\"linux\" chap-user=\"u&#10;shell\" chap-secret=\"0123456789ab\"/>\n",
       "host 'pc1': chap-user=\"u\\x0ashell\""},
      {deb, host + "boot=\"linux\" chap-user=\"u\" chap-secret=\"0123456789${x}\"/>\n",
       "chap-secret=\"0123456789${x}\""},
      {deb,
       host + "boot=\"linux\" chap-user=\"u\" chap-secret=\"0123456789ab\" mutual-user=\"m m\" "
              "mutual-secret=\"ba9876543210\"/>\n",
       "mutual-user=\"m m\" contains a space"},
  };
  for (const auto& c : cases) {
    auto r = load(c.images, c.hosts);
    EXPECT_FALSE(r.ok()) << c.images << c.hosts;
    // The image is on line 3, the host on line 6.
    EXPECT_TRUE(
        has(r, c.hosts.find("chap") == std::string::npos ? "inv.xml:3" : "inv.xml:6", c.needle))
        << c.needle << "\n"
        << all(r);
  }
}

TEST(Validate, OrdinaryValuesPassTheScriptCheck) {
  EXPECT_EQ(ipxe_hazard("console=ttyS0,115200n8 quiet root=/dev/sda1 ip=::::pc1:eth0:dhcp", false),
            std::nullopt);
  EXPECT_EQ(ipxe_hazard("a#b $x 100% |x", false), std::nullopt);  // no word starts with '#'
  EXPECT_EQ(ipxe_hazard("", true), std::nullopt);
  EXPECT_NE(ipxe_hazard("a b", true), std::nullopt);
  EXPECT_NE(ipxe_hazard(std::string_view("a\0b", 3), false), std::nullopt);
  EXPECT_NE(ipxe_hazard("\x7f", false), std::nullopt);
  EXPECT_NE(ipxe_hazard("back\\slash", false), std::nullopt);
  EXPECT_NE(ipxe_hazard("'", false), std::nullopt);
}

}  // namespace
}  // namespace diskless::inventory
