// READ answered with a file range (zero-copy send): when the transport allows it, for large
// reads of file-backed devices only, and the LBA range stays locked until the hold is dropped.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "scsi/disk_unit.hpp"
#include "scsi/test_support.hpp"
#include "storage/raw_file.hpp"

namespace diskless::scsi {
namespace {

namespace fs = std::filesystem;
using namespace testing;  // cdb, pattern

struct file_rig {
  file_rig() {
    char tmpl[] = "/tmp/diskless-fd-XXXXXX";
    EXPECT_NE(::mkdtemp(tmpl), nullptr);
    dir = tmpl;
    std::ofstream(dir / "disk.img").close();
    fs::resize_file(dir / "disk.img", 4 << 20);
    dev = *storage::open_raw(dir / "disk.img", false);
    unit = std::make_unique<disk_unit>(dev, pool, disk_unit::options::for_host("pc01"));
  }
  ~file_rig() {
    unit.reset();
    fs::remove_all(dir);
  }
  // The result slot outlives the call: a command held by a range lock completes later.
  std::shared_ptr<std::optional<task_result>> run(bytes c, bool file_ok, bytes data_out = {}) {
    task t;
    t.nexus = 1;
    t.cdb = std::move(c);
    t.data_out = std::move(data_out);
    t.data_out_expected = !t.data_out.empty();
    t.data_in_expected = t.data_out.empty();
    t.expected_length = 1 << 20;
    t.file_data_ok = file_ok;
    auto out = std::make_shared<std::optional<task_result>>();
    unit->execute(std::move(t), [out](task_result r) { *out = std::move(r); });
    return out;
  }
  fs::path dir;
  std::shared_ptr<storage::block_device> dev;
  io_pool pool{0, [](io_pool::task t) { t(); }};
  std::unique_ptr<disk_unit> unit;
};

// READ(10) of n blocks at lba; WRITE(10) likewise.
bytes read10(int lba, int n) { return cdb({0x28, 0, 0, 0, lba >> 8, lba & 0xff, 0, n >> 8, n & 0xff, 0}); }
bytes write10(int lba, int n) { return cdb({0x2a, 0, 0, 0, lba >> 8, lba & 0xff, 0, n >> 8, n & 0xff, 0}); }

TEST(FileData, LargeReadGivesTheFileRange) {
  file_rig r;
  auto data = pattern(256 * 512, 3);
  ASSERT_FALSE(r.dev->write(512 * 512, data));
  auto res = *r.run(read10(512, 256), true);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->st, status::good);
  EXPECT_TRUE(res->data_in.empty());
  ASSERT_GE(res->file_in.fd, 0);
  EXPECT_EQ(res->file_in.offset, 512u * 512);
  EXPECT_EQ(res->file_in.length, 256u * 512);
  bytes got(res->file_in.length);
  ASSERT_EQ(::pread(res->file_in.fd, got.data(), got.size(), 512 * 512),
            static_cast<ssize_t>(got.size()));
  EXPECT_EQ(got, data);
}

TEST(FileData, SmallReadsAndTransportsWithoutItGetBytes) {
  file_rig r;
  auto small = *r.run(read10(0, 8), true);  // 4 KiB: below the zero-copy size
  ASSERT_TRUE(small);
  EXPECT_EQ(small->file_in.fd, -1);
  EXPECT_EQ(small->data_in.size(), 4096u);
  auto no = *r.run(read10(0, 256), false);  // e.g. a data digest is on
  ASSERT_TRUE(no);
  EXPECT_EQ(no->file_in.fd, -1);
  EXPECT_EQ(no->data_in.size(), 256u * 512);
}

TEST(FileData, RangeStaysLockedUntilTheHoldIsDropped) {
  file_rig r;
  auto rd = *r.run(read10(0, 256), true);
  ASSERT_TRUE(rd);
  ASSERT_GE(rd->file_in.fd, 0);
  // A COMPARE AND WRITE holds its range exclusively, so it must wait for the unsent READ data.
  bytes caw = cdb({0x89, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 1, 0, 0});
  bytes both(1024, std::byte{0});
  auto w = r.run(caw, true, both);
  EXPECT_FALSE(*w) << "completed while the READ's range was still held";
  // A WRITE elsewhere is not held up.
  auto other = *r.run(write10(1024, 1), true, bytes(512, std::byte{1}));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->st, status::good);
  rd->file_in.hold.reset();  // the transport sent the bytes: the COMPARE AND WRITE runs
  ASSERT_TRUE(*w);
  EXPECT_EQ((*w)->st, status::good);
}

}  // namespace
}  // namespace diskless::scsi
