#include "boot/open.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace diskless::boot {
namespace {

namespace fs = std::filesystem;

class OpenDisk : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("diskless-open-test-" + std::to_string(::getpid()));
    fs::create_directories(base_ / "root");
    fs::create_directories(base_ / "pkg");
    write(base_ / "root/a.bin", "root");
    write(base_ / "pkg/a.bin", "pkg");
    write(base_ / "pkg/b.bin", "pkg-b");
    write(base_ / "outside", "secret");
    fs::create_symlink(base_ / "outside", base_ / "root/escape");
    write(base_ / "pkg/escape", "pkg-escape");
  }
  void TearDown() override { fs::remove_all(base_); }
  static void write(const fs::path& p, std::string_view s) { std::ofstream(p) << s; }
  opened open(std::string rel) {
    return open_disk(disk_file{base_ / "root", {base_ / "pkg"}, std::move(rel)});
  }
  static std::string slurp(const opened& o) {
    std::string s(o.size, '\0');
    EXPECT_EQ(::pread(o.fd, s.data(), s.size(), 0), static_cast<ssize_t>(s.size()));
    ::close(o.fd);
    return s;
  }
  fs::path base_;
};

TEST_F(OpenDisk, RootFirstThenFallback) {
  auto a = open("a.bin");
  ASSERT_EQ(a.what, opened::status::ok);
  EXPECT_EQ(a.where, base_ / "root/a.bin");
  EXPECT_EQ(slurp(a), "root");
  auto b = open("b.bin");
  ASSERT_EQ(b.what, opened::status::ok);
  EXPECT_EQ(slurp(b), "pkg-b");
  EXPECT_EQ(open("c.bin").what, opened::status::missing);
}

TEST_F(OpenDisk, RefusalsAreFinal) {
  EXPECT_EQ(open("escape").what, opened::status::refused);  // not the fallback's file
  for (auto bad : {"../outside", "/etc/passwd", "", "./a.bin", "x//a.bin"})
    EXPECT_EQ(open(bad).what, opened::status::refused) << bad;
  fs::create_directories(base_ / "root/dir");
  EXPECT_EQ(open("dir").what, opened::status::not_regular);
}

}  // namespace
}  // namespace diskless::boot
