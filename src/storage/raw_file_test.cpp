#include "storage/raw_file.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

namespace diskless::storage {
namespace {

namespace fs = std::filesystem;

class RawFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/diskless-raw-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ / "disk.img";
    std::ofstream(path_).close();
    fs::resize_file(path_, 1 << 20);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_, path_;
};

std::vector<std::byte> pattern(std::size_t n, int seed) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = std::byte(static_cast<unsigned char>(i * 13 + seed));
  return v;
}

TEST_F(RawFile, OpensWithSizeAndRoundTrips) {
  auto dev = open_raw(path_, false);
  ASSERT_TRUE(dev) << dev.error_message();
  EXPECT_EQ((*dev)->size(), 1u << 20);
  EXPECT_FALSE((*dev)->read_only());
  auto p = pattern(8192, 5);
  ASSERT_FALSE((*dev)->write(4096, p));
  ASSERT_FALSE((*dev)->write(65536, p, true));  // FUA path
  ASSERT_FALSE((*dev)->flush());
  std::vector<std::byte> out(8192);
  ASSERT_FALSE((*dev)->read(4096, out));
  EXPECT_EQ(out, p);
  ASSERT_FALSE((*dev)->read(65536, out));
  EXPECT_EQ(out, p);
  // Really in the file.
  std::ifstream in(path_, std::ios::binary);
  in.seekg(4096);
  std::vector<char> raw(8192);
  in.read(raw.data(), 8192);
  EXPECT_EQ(std::memcmp(raw.data(), p.data(), 8192), 0);
}

TEST_F(RawFile, OutOfRangeIsError) {
  auto dev = open_raw(path_, false);
  ASSERT_TRUE(dev);
  std::vector<std::byte> b(512);
  EXPECT_TRUE((*dev)->read((1 << 20) - 256, b));
  EXPECT_TRUE((*dev)->write(1 << 20, b));
  EXPECT_TRUE((*dev)->discard((1 << 20) - 512, 1024));
}

TEST_F(RawFile, DiscardReadsZerosAndFreesSpace) {
  auto dev = open_raw(path_, false);
  ASSERT_TRUE(dev);
  auto p = pattern(1 << 20, 9);
  ASSERT_FALSE((*dev)->write(0, p));
  ASSERT_FALSE((*dev)->flush());
  struct stat before {};
  ASSERT_EQ(::stat(path_.c_str(), &before), 0);
  ASSERT_FALSE((*dev)->discard(65536, 262144));
  std::vector<std::byte> out(1 << 20);
  ASSERT_FALSE((*dev)->read(0, out));
  for (std::size_t i = 0; i < out.size(); ++i) {
    bool hole = i >= 65536 && i < 65536 + 262144;
    ASSERT_EQ(out[i], hole ? std::byte{0} : p[i]) << i;
  }
  struct stat after {};
  ASSERT_EQ(::stat(path_.c_str(), &after), 0);
  EXPECT_EQ(after.st_size, 1 << 20);  // KEEP_SIZE
  // Where the file system supports holes (tmpfs, ext4, xfs) the blocks are released.
  EXPECT_LE(after.st_blocks, before.st_blocks);
}

TEST_F(RawFile, ReadOnlyRefusesWrites) {
  auto dev = open_raw(path_, true);
  ASSERT_TRUE(dev);
  EXPECT_TRUE((*dev)->read_only());
  std::vector<std::byte> b(512);
  EXPECT_EQ((*dev)->write(0, b), std::error_code(EROFS, std::generic_category()));
  EXPECT_TRUE((*dev)->discard(0, 512));
  EXPECT_FALSE((*dev)->read(0, b));
  EXPECT_FALSE((*dev)->flush());
}

TEST_F(RawFile, MissingFileAndDirectoryAreErrors) {
  auto missing = open_raw(dir_ / "nope.img", false);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error_message().find("nope.img"), std::string::npos);
  auto dir = open_raw(dir_, true);
  EXPECT_FALSE(dir);
}

TEST_F(RawFile, ShrunkFileGivesErrorNotZeros) {
  auto dev = open_raw(path_, false);
  ASSERT_TRUE(dev);
  fs::resize_file(path_, 4096);
  std::vector<std::byte> b(512);
  EXPECT_TRUE((*dev)->read(8192, b));
}

TEST_F(RawFile, CachedReadAndFileRange) {
  auto dev = open_raw(path_, false);
  ASSERT_TRUE(dev) << dev.error_message();
  auto p = pattern(65536, 9);
  ASSERT_FALSE((*dev)->write(131072, p));  // just written: in the page cache
  std::vector<std::byte> out(65536);
  // RWF_NOWAIT may decline (file systems without it); when it reads, the bytes are right.
  if ((*dev)->try_read_cached(131072, out)) {
    EXPECT_EQ(out, p);
  }
  EXPECT_FALSE((*dev)->try_read_cached((1 << 20) - 512, out));  // past the end: declined
  // The file range is the disk range, within bounds only.
  auto fe = (*dev)->file_for(131072, 65536);
  ASSERT_GE(fe.fd, 0);
  EXPECT_EQ(fe.offset, 131072u);
  ASSERT_EQ(::pread(fe.fd, out.data(), out.size(), 131072), 65536);
  EXPECT_EQ(out, p);
  EXPECT_EQ((*dev)->file_for((1 << 20) - 512, 1024).fd, -1);
}

}  // namespace
}  // namespace diskless::storage
