#include "scsi/write_fit.hpp"

#include <gtest/gtest.h>

#include "util/bytes.hpp"

namespace diskless::scsi {
namespace {

task write_task(std::string_view cdb_hex, std::uint32_t edtl) {
  task t;
  t.cdb = from_hex(cdb_hex);
  t.expected_length = edtl;
  t.data_out_expected = true;
  t.data_out = bytes(edtl);
  return t;
}

TEST(WriteFit, EqualLengthsChangeNothing) {
  auto t = write_task("2a 00 00000000 00 0002 00", 1024);
  auto f = fit_write_to_expected_length(t, 512);
  EXPECT_EQ(f.overflow, 0u);
  EXPECT_EQ(f.underflow, 0u);
  EXPECT_FALSE(f.nothing_fits);
  EXPECT_EQ(t.data_out.size(), 1024u);
}

TEST(WriteFit, LargerExpectedLengthIsUnderflowAndTrimsData) {
  auto t = write_task("2a 00 00000000 00 0001 00", 1024);
  auto f = fit_write_to_expected_length(t, 512);
  EXPECT_EQ(f.underflow, 512u);
  EXPECT_EQ(f.overflow, 0u);
  EXPECT_EQ(t.data_out.size(), 512u);
  EXPECT_EQ(to_hex(t.cdb), to_hex(from_hex("2a 00 00000000 00 0001 00")));
}

TEST(WriteFit, LargerCdbIsOverflowAndLowersTransferLength) {
  // WRITE(10) of 3 blocks with 1.5 blocks expected: one block is written, bytes 7-8 become 1.
  auto t = write_task("2a 00 00000008 00 0003 00", 768);
  auto f = fit_write_to_expected_length(t, 512);
  EXPECT_EQ(f.overflow, 768u);
  EXPECT_FALSE(f.nothing_fits);
  EXPECT_EQ(t.data_out.size(), 512u);
  EXPECT_EQ(to_hex(t.cdb), to_hex(from_hex("2a 00 00000008 00 0001 00")));
  // WRITE(16): bytes 10-13; WRITE(12): bytes 6-9; WRITE(6): byte 4.
  auto t16 = write_task("8a 00 0000000000000000 00000004 00 00", 1024);
  fit_write_to_expected_length(t16, 512);
  EXPECT_EQ(to_hex(t16.cdb), to_hex(from_hex("8a 00 0000000000000000 00000002 00 00")));
  auto t12 = write_task("aa 00 00000000 00000004 00 00", 1024);
  fit_write_to_expected_length(t12, 512);
  EXPECT_EQ(to_hex(t12.cdb), to_hex(from_hex("aa 00 00000000 00000002 00 00")));
  auto t6 = write_task("0a 00 00 00 00 00", 4096);  // 0 blocks means 256 (SBC-3 §5.34)
  auto f6 = fit_write_to_expected_length(t6, 512);
  EXPECT_EQ(f6.overflow, 256u * 512 - 4096);
  EXPECT_EQ(to_hex(t6.cdb), to_hex(from_hex("0a 00 00 00 08 00")));
}

TEST(WriteFit, NothingFitsBelowOneBlock) {
  auto t = write_task("2a 00 00000000 00 0001 00", 0);
  auto f = fit_write_to_expected_length(t, 512);
  EXPECT_TRUE(f.nothing_fits);
  EXPECT_EQ(f.overflow, 512u);
  auto b = write_task("2a 00 00000000 00 0001 00", 100);
  EXPECT_TRUE(fit_write_to_expected_length(b, 512).nothing_fits);
}

TEST(WriteFit, BlockSizeComesFromTheCaller) {
  auto t = write_task("2a 00 00000000 00 0001 00", 4096);
  auto f = fit_write_to_expected_length(t, 4096);
  EXPECT_EQ(f.overflow, 0u);
  EXPECT_EQ(f.underflow, 0u);
}

TEST(WriteFit, OtherCommandsAreLeftAlone) {
  for (auto hex : {"28 00 00000000 00 0001 00", "42 00 00000000 00 0018 00", "", "2a 00"}) {
    auto t = write_task(hex, 4096);
    auto before = t.cdb;
    auto f = fit_write_to_expected_length(t, 512);
    EXPECT_EQ(f.overflow + f.underflow, 0u) << hex;
    EXPECT_FALSE(f.nothing_fits);
    EXPECT_EQ(t.cdb, before);
    EXPECT_EQ(t.data_out.size(), 4096u);
  }
}

}  // namespace
}  // namespace diskless::scsi
