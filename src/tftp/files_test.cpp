#include "tftp/files.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include "util/io_pool.hpp"

namespace diskless::tftp {
namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;
using namespace std::string_view_literals;

TEST(TftpPath, Normalises) {
  EXPECT_EQ(normalise_path("undionly.kpxe"), "undionly.kpxe");
  EXPECT_EQ(normalise_path("/boot/x.ipxe"), "boot/x.ipxe");
  EXPECT_EQ(normalise_path("//boot//./x.ipxe"), "boot/x.ipxe");
  EXPECT_EQ(normalise_path("\\boot\\x.ipxe"), "boot/x.ipxe");
  EXPECT_EQ(normalise_path("a/b/"), "a/b");
  EXPECT_EQ(normalise_path("..."), "...");      // just a name
  EXPECT_EQ(normalise_path("x%00y"), "x%00y");  // no URL decoding: a literal name
}

TEST(TftpPath, RefusesTraversalAndNul) {
  EXPECT_FALSE(normalise_path("../../etc/passwd"));
  EXPECT_FALSE(normalise_path("boot/../../x"));
  EXPECT_FALSE(normalise_path("boot/.."));
  EXPECT_FALSE(normalise_path("..\\x"));
  EXPECT_FALSE(normalise_path("a\0b"sv));
  EXPECT_FALSE(normalise_path("/"));
  EXPECT_FALSE(normalise_path(""));
  EXPECT_FALSE(normalise_path("./."));
}

class TftpFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() /
            ("dltftp-files-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(base_ / "root/sub");
    fs::create_directories(base_ / "fallback");
    write(base_ / "root/a.bin", "hello");
    write(base_ / "root/sub/b.txt", "one\ntwo\r");
    write(base_ / "outside.txt", "secret\n");
    write(base_ / "fallback/undionly.kpxe", "ipxe");
    write(base_ / "fallback/a.bin", "not me");
    fs::create_symlink(base_ / "outside.txt", base_ / "root/escape");
    fs::create_symlink("../outside.txt", base_ / "root/escape-rel");
    fs::create_symlink("sub/b.txt", base_ / "root/inside");
    roots_.root = base_ / "root";
    roots_.fallbacks = {base_ / "fallback"};
  }
  void TearDown() override { fs::remove_all(base_); }
  static void write(const fs::path& p, std::string_view s) {
    std::ofstream(p, std::ios::binary) << s;
  }
  static std::string slurp(const opened_file& f) {
    std::string s(f.size, '\0');
    EXPECT_EQ(::pread(f.fd, s.data(), s.size(), 0), static_cast<ssize_t>(s.size()));
    return s;
  }
  boot::disk_file at(std::string rel) const {
    auto f = roots_;
    f.rel = std::move(rel);
    return f;
  }
  static inline int counter_ = 0;
  fs::path base_;
  boot::disk_file roots_;
};

TEST_F(TftpFiles, OpensUnderRootFirst) {
  auto f = open_file(at("a.bin"), transfer_mode::octet);
  ASSERT_FALSE(f.error);
  EXPECT_EQ(f.size, 5u);
  EXPECT_EQ(slurp(f), "hello");
}

TEST_F(TftpFiles, FallsBackForMissingFiles) {
  auto f = open_file(at("undionly.kpxe"), transfer_mode::octet);
  ASSERT_FALSE(f.error);
  EXPECT_EQ(slurp(f), "ipxe");
}

TEST_F(TftpFiles, MissingEverywhereIsError1) {
  auto f = open_file(at("nope"), transfer_mode::octet);
  ASSERT_TRUE(f.error);
  EXPECT_EQ(f.error->code, error_code::file_not_found);
  EXPECT_EQ(f.fd, -1);
}

TEST_F(TftpFiles, DirectoryIsNotAFile) {
  auto f = open_file(at("sub"), transfer_mode::octet);
  ASSERT_TRUE(f.error);
  EXPECT_EQ(f.error->code, error_code::file_not_found);
}

TEST_F(TftpFiles, SymlinkOutOfRootIsRefused) {
  for (auto name : {"escape", "escape-rel"}) {
    auto f = open_file(at(name), transfer_mode::octet);
    ASSERT_TRUE(f.error) << name;
    EXPECT_EQ(f.error->code, error_code::access_violation) << name;
  }
}

TEST_F(TftpFiles, DotDotIsRefusedEvenIfNormalisationWasSkipped) {
  auto f = open_file(at("../outside.txt"), transfer_mode::octet);
  ASSERT_TRUE(f.error);
  EXPECT_EQ(f.error->code, error_code::access_violation);
}

TEST_F(TftpFiles, FallbackFollowsPackageSymlinksButRootRefusalIsFinal) {
  // Debian: /usr/lib/ipxe/ipxe.efi -> /boot/ipxe.efi.
  fs::create_symlink(base_ / "outside.txt", base_ / "fallback/ipxe.efi");
  auto f = open_file(at("ipxe.efi"), transfer_mode::octet);
  ASSERT_FALSE(f.error);
  EXPECT_EQ(slurp(f), "secret\n");
  // A refused name under the root does not fall through to the fallback.
  write(base_ / "fallback/escape", "fallback");
  auto g = open_file(at("escape"), transfer_mode::octet);
  ASSERT_TRUE(g.error);
  EXPECT_EQ(g.error->code, error_code::access_violation);
}

TEST_F(TftpFiles, SymlinkInsideRootIsFine) {
  auto f = open_file(at("inside"), transfer_mode::octet);
  ASSERT_FALSE(f.error);
  EXPECT_EQ(slurp(f), "one\ntwo\r");
}

TEST_F(TftpFiles, FifoIsNotServedAndDoesNotBlock) {
  ASSERT_EQ(::mkfifo((base_ / "root/fifo").c_str(), 0644), 0);
  auto f = open_file(at("fifo"), transfer_mode::octet);
  ASSERT_TRUE(f.error);
  EXPECT_EQ(f.error->code, error_code::file_not_found);
}

// Runs the pool's completions (and the conversions they chain) until none is left.
void drain(std::vector<io_pool::task>& loop) {
  for (int guard = 0; guard < 100000 && !loop.empty(); ++guard) {
    auto t = std::move(loop.front());
    loop.erase(loop.begin());
    t();
  }
}

// Everything a reader serves, block by block as a transfer asks for it, releasing as it goes.
std::string read_all(file_reader& r, std::vector<io_pool::task>& loop, std::size_t blksize) {
  std::string out;
  for (std::uint64_t off = 0; off < r.size(); off += blksize) {
    auto len = static_cast<std::size_t>(std::min<std::uint64_t>(blksize, r.size() - off));
    r.prefetch(off + len);
    drain(loop);
    if (r.readable_end() < off + len) return out + "<not readable>";
    out += to_string(r.bytes(off, len));
    r.release_before(off);
  }
  return out;
}

TEST_F(TftpFiles, NetasciiSizeIsExactAndTheFileStaysOnDisk) {
  auto f = open_file(at("sub/b.txt"), transfer_mode::netascii);
  ASSERT_FALSE(f.error);
  EXPECT_TRUE(f.netascii);
  EXPECT_GE(f.fd, 0);
  EXPECT_EQ(f.size, 10u);
  std::vector<io_pool::task> loop;
  io_pool pool(0, [&](io_pool::task t) { loop.push_back(std::move(t)); });
  auto r = std::make_shared<file_reader>(std::move(f), pool, 4, 4);
  EXPECT_EQ(read_all(*r, loop, 4), "one\r\ntwo\r\0"s);
  EXPECT_FALSE(r->failed());
}

// A text where CR and LF fall on every block and chunk boundary, served block by block from a
// file and from memory, equals the whole-file reference conversion.
TEST_F(TftpFiles, NetasciiReaderMatchesTheReferenceAtEveryBoundary) {
  std::string text;
  std::mt19937 rng(11);
  for (int i = 0; i < 5000; ++i) {
    auto v = rng() % 6;
    text += v == 0 ? '\r' : v == 1 ? '\n' : static_cast<char>('a' + v);
  }
  text += '\r';  // a CR as the very last byte: its NUL is the last byte sent
  write(base_ / "root/text", text);
  const auto want = to_netascii(text);
  for (std::size_t blksize : {1u, 2u, 3u, 8u, 512u}) {
    for (std::size_t chunk : {1u, 7u, 64u, 4096u}) {
      std::vector<io_pool::task> loop;
      io_pool pool(0, [&](io_pool::task t) { loop.push_back(std::move(t)); });
      auto f = open_file(at("text"), transfer_mode::netascii);
      ASSERT_FALSE(f.error);
      ASSERT_EQ(f.size, want.size());
      auto disk = std::make_shared<file_reader>(std::move(f), pool, blksize, chunk);
      EXPECT_EQ(read_all(*disk, loop, blksize), want) << blksize << "/" << chunk;
      auto mem = std::make_shared<file_reader>(std::make_shared<const std::string>(text),
                                               netascii_size(to_bytes(text)), pool, blksize, chunk);
      EXPECT_EQ(read_all(*mem, loop, blksize), want) << blksize << "/" << chunk;
    }
  }
}

// The reader holds a couple of chunks, never the converted file.
TEST_F(TftpFiles, NetasciiReaderHoldsAtMostTwoChunks) {
  write(base_ / "root/lines", std::string(200000, '\n'));
  std::vector<io_pool::task> loop;
  io_pool pool(0, [&](io_pool::task t) { loop.push_back(std::move(t)); });
  auto f = open_file(at("lines"), transfer_mode::netascii);
  ASSERT_EQ(f.size, 400000u);
  auto r = std::make_shared<file_reader>(std::move(f), pool, 512, 4096);
  r->prefetch(512);
  drain(loop);
  EXPECT_EQ(r->readable_end(), 2u * 4096);  // the chunk asked for and one ahead, no more
}

TEST_F(TftpFiles, NetasciiOfAFileThatShrankFails) {
  write(base_ / "root/shrink", std::string(4096, '\n'));
  std::vector<io_pool::task> loop;
  io_pool pool(0, [&](io_pool::task t) { loop.push_back(std::move(t)); });
  auto f = open_file(at("shrink"), transfer_mode::netascii);
  ASSERT_FALSE(f.error);
  ::truncate((base_ / "root/shrink").c_str(), 100);
  auto r = std::make_shared<file_reader>(std::move(f), pool, 512, 1024);
  r->prefetch(8192);
  drain(loop);
  EXPECT_TRUE(r->failed());
}

TEST_F(TftpFiles, ReaderReadsAheadInChunksOnThePool) {
  std::string content(10000, '\0');
  std::mt19937 rng(7);
  for (auto& c : content) c = static_cast<char>(rng());
  write(base_ / "root/big", content);
  std::vector<io_pool::task> loop;
  io_pool pool(0, [&](io_pool::task t) { loop.push_back(std::move(t)); });
  auto f = open_file(at("big"), transfer_mode::octet);
  ASSERT_FALSE(f.error);
  // blksize 512, chunk 1000 → rounded up to 1024.
  auto r = std::make_shared<file_reader>(std::move(f), pool, 512, 1000);
  int ready = 0;
  r->set_on_ready([&] { ++ready; });
  EXPECT_EQ(r->size(), 10000u);
  EXPECT_EQ(r->readable_end(), 0u);
  r->prefetch(512);                  // want block 1: reads [0,1024) and one chunk ahead [1024,2048)
  EXPECT_EQ(r->readable_end(), 0u);  // completions not yet run on the "loop"
  ASSERT_EQ(loop.size(), 2u);
  for (auto& t : loop) t();
  loop.clear();
  EXPECT_EQ(ready, 2);
  EXPECT_EQ(r->readable_end(), 2048u);
  auto b = r->bytes(1536, 512);
  ASSERT_EQ(b.size(), 512u);
  EXPECT_EQ(to_string(b), content.substr(1536, 512));
  EXPECT_TRUE(r->bytes(2048, 512).empty());  // not loaded
  r->release_before(1500);                   // chunk [0,1024) dropped, [1024,2048) kept
  EXPECT_TRUE(r->bytes(0, 512).empty());
  EXPECT_EQ(r->bytes(1024, 512).size(), 512u);
  r->prefetch(10000);
  for (auto& t : loop) t();
  loop.clear();
  EXPECT_EQ(r->readable_end(), 10000u);
  EXPECT_EQ(to_string(r->bytes(9728, 272)), content.substr(9728));
  EXPECT_FALSE(r->failed());
}

TEST_F(TftpFiles, ReaderReportsAFileThatShrankAsFailure) {
  write(base_ / "root/shrink", std::string(4096, 'x'));
  std::vector<io_pool::task> loop;
  io_pool pool(0, [&](io_pool::task t) { loop.push_back(std::move(t)); });
  auto f = open_file(at("shrink"), transfer_mode::octet);
  ASSERT_FALSE(f.error);
  ::truncate((base_ / "root/shrink").c_str(), 100);
  auto r = std::make_shared<file_reader>(std::move(f), pool, 512, 1024);
  bool called = false;
  r->set_on_ready([&] { called = true; });
  r->prefetch(4096);
  for (auto& t : loop) t();
  EXPECT_TRUE(called);
  EXPECT_TRUE(r->failed());
}

TEST(TftpReader, MemoryContentIsAllReadable) {
  auto r = std::make_shared<file_reader>(std::make_shared<const std::string>("abcdef"));
  EXPECT_EQ(r->readable_end(), 6u);
  EXPECT_EQ(to_string(r->bytes(2, 3)), "cde");
  EXPECT_TRUE(r->bytes(4, 3).empty());
}

}  // namespace
}  // namespace diskless::tftp
