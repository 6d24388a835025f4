#include "boot/published.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace diskless::boot {
namespace {

class Published : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("diskless-published-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    write("vmlinuz", "KERNEL-1");
    write("initrd.img", "INITRD-1");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::trunc) << text;
  }
  inventory::inventory_ptr make(std::string kernel = "vmlinuz") {
    auto inv = std::make_shared<inventory::inventory>();
    inv->base_dir = dir_;
    inv->server.address = ipv4_address::parse("10.77.0.1");
    inv->server.http.enabled = false;  // the script names TFTP URLs
    inventory::image img;
    img.name = "deb";
    img.kernel = std::move(kernel);
    img.initrd = "initrd.img";
    inv->images.push_back(img);
    inventory::host h;
    h.mac = *mac_address::parse("52:54:00:00:00:01");
    h.name = "pc1";
    h.image = "deb";
    h.boot = inventory::boot_method::linux;
    inv->hosts.push_back(h);
    return inv;
  }
  std::filesystem::path dir_;
};

TEST_F(Published, ScriptsKernelsAndInitrds) {
  published_files f(make());
  auto s = f.find("boot/52-54-00-00-00-01.ipxe");
  ASSERT_TRUE(s);
  EXPECT_NE(s->find("kernel tftp://10.77.0.1/images/deb/vmlinuz"), std::string::npos) << *s;
  auto k = f.find("images/deb/vmlinuz");
  ASSERT_TRUE(k);
  EXPECT_EQ(*k, "KERNEL-1");
  auto i = f.find("images/deb/initrd");
  ASSERT_TRUE(i);
  EXPECT_EQ(*i, "INITRD-1");
  EXPECT_FALSE(f.find("boot/52-54-00-00-00-02.ipxe"));  // unknown, ignore
  EXPECT_FALSE(f.find("undionly.kpxe"));                // not ours: the TFTP root serves it
  EXPECT_FALSE(f.find("images/deb/config"));
}

TEST_F(Published, ApplyPicksUpChangedFilesAndTemplates) {
  published_files f(make());
  write("vmlinuz", "KERNEL-2 longer");
  std::filesystem::create_directories(dir_ / "templates");
  std::ofstream(dir_ / "templates" / "linux.ipxe") << "#!ipxe\necho {{host}} custom\n";
  f.apply(make());
  EXPECT_EQ(*f.find("images/deb/vmlinuz"), "KERNEL-2 longer");
  EXPECT_EQ(*f.find("boot/52-54-00-00-00-01.ipxe"), "#!ipxe\necho pc1 custom\n");
  // A broken template: no script (logged), everything else still served.
  std::ofstream(dir_ / "templates" / "linux.ipxe", std::ios::trunc) << "#!ipxe\necho {{nope}}\n";
  f.apply(make());
  EXPECT_FALSE(f.find("boot/52-54-00-00-00-01.ipxe"));
  EXPECT_TRUE(f.find("images/deb/initrd"));
}

TEST_F(Published, MissingKernelIsNotServed) {
  published_files f(make("missing-vmlinuz"));
  EXPECT_FALSE(f.find("images/deb/vmlinuz"));
  EXPECT_TRUE(f.find("images/deb/initrd"));
}

}  // namespace
}  // namespace diskless::boot
