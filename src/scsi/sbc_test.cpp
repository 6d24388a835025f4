// Block commands (SBC-3 §5) through disk_unit against a memory_device, incl. sense bytes.
#include <gtest/gtest.h>

#include "scsi/disk_unit.hpp"
#include "scsi/test_support.hpp"

namespace diskless::scsi {
namespace {

using namespace testing;

bytes read10(std::uint32_t lba, std::uint16_t n, std::uint8_t flags = 0) {
  return cdb({0x28, flags, int(lba >> 24), int((lba >> 16) & 0xff), int((lba >> 8) & 0xff),
              int(lba & 0xff), 0, n >> 8, n & 0xff, 0});
}
bytes write10(std::uint32_t lba, std::uint16_t n, std::uint8_t flags = 0) {
  auto c = read10(lba, n, flags);
  c[0] = std::byte{0x2a};
  return c;
}
bytes cdb16(int opcode, std::uint64_t lba, std::uint32_t n, std::uint8_t flags = 0) {
  bytes c(16);
  c[0] = std::byte(static_cast<unsigned char>(opcode));
  c[1] = std::byte(flags);
  store_u64(c, 2, lba);
  store_u32(c, 10, n);
  return c;
}
bytes cdb12(int opcode, std::uint32_t lba, std::uint32_t n, std::uint8_t flags = 0) {
  bytes c(12);
  c[0] = std::byte(static_cast<unsigned char>(opcode));
  c[1] = std::byte(flags);
  store_u32(c, 2, lba);
  store_u32(c, 6, n);
  return c;
}

TEST(Sbc, WriteThenReadAllSizes) {
  unit_fixture f;
  auto data = pattern(4 * 512, 1);
  ASSERT_TRUE(is_good(f.run(write10(10, 4), data)));
  auto r = f.run(read10(10, 4));
  ASSERT_TRUE(is_good(r));
  EXPECT_EQ(r.data_in, data);
  auto r12 = f.run(cdb12(0xa8, 10, 4));
  EXPECT_EQ(r12.data_in, data);
  auto r16 = f.run(cdb16(0x88, 10, 4));
  EXPECT_EQ(r16.data_in, data);
  auto r6 = f.run(cdb({0x08, 0, 0, 10, 4, 0}));
  EXPECT_EQ(r6.data_in, data);
  // WRITE(6)/(12)/(16) land where they say.
  auto d2 = pattern(512, 7);
  ASSERT_TRUE(is_good(f.run(cdb({0x0a, 0, 0, 100, 1, 0}), d2)));
  ASSERT_TRUE(is_good(f.run(cdb12(0xaa, 101, 1), d2)));
  ASSERT_TRUE(is_good(f.run(cdb16(0x8a, 102, 1), d2)));
  auto c = f.dev->contents();
  for (int b = 100; b < 103; ++b)
    EXPECT_TRUE(std::equal(d2.begin(), d2.end(), c.begin() + b * 512)) << b;
}

TEST(Sbc, Read6ZeroLengthMeans256Blocks) {
  unit_fixture f;
  auto r = f.run(cdb({0x08, 0, 0, 0, 0, 0}));
  ASSERT_TRUE(is_good(r));
  EXPECT_EQ(r.data_in.size(), 256u * 512);
}

TEST(Sbc, ZeroBlocksIsGoodWithoutData) {
  unit_fixture f;
  auto r = f.run(read10(0, 0));
  ASSERT_TRUE(is_good(r));
  EXPECT_TRUE(r.data_in.empty());
  EXPECT_TRUE(is_good(f.run(write10(0, 0))));
  EXPECT_TRUE(is_good(f.run(cdb16(0x88, 0, 0))));
}

TEST(Sbc, LbaOutOfRange) {
  unit_fixture f(2048);
  const char* expected = "70 00 05 00 00 00 00 0a 00 00 00 00 21 00 00 00 00 00";
  auto r = f.run(read10(2048, 1));
  EXPECT_TRUE(has_sense(r, sense_key::illegal_request, asc::lba_out_of_range));
  EXPECT_EQ(to_hex(r.sense), to_hex(hex(expected)));
  EXPECT_TRUE(has_sense(f.run(read10(2047, 2)), sense_key::illegal_request, asc::lba_out_of_range));
  EXPECT_TRUE(is_good(f.run(read10(2047, 1))));
  // Wrap-around of LBA + length must not pass.
  EXPECT_TRUE(
      has_sense(f.run(cdb16(0x88, ~0ULL, 2)), sense_key::illegal_request, asc::lba_out_of_range));
  EXPECT_TRUE(has_sense(f.run(cdb16(0x8a, 1ULL << 63, 1), bytes(512)), sense_key::illegal_request,
                        asc::lba_out_of_range));
  EXPECT_TRUE(has_sense(f.run(cdb({0x08, 0x1f, 0xff, 0xff, 1, 0})), sense_key::illegal_request,
                        asc::lba_out_of_range));
}

TEST(Sbc, ProtectFieldsAreInvalidWithoutProtectionInformation) {
  unit_fixture f;
  for (std::uint8_t p = 1; p < 8; ++p) {
    auto r = f.run(read10(0, 1, static_cast<std::uint8_t>(p << 5)));
    EXPECT_TRUE(has_sense(r, sense_key::illegal_request, asc::invalid_field_in_cdb));
    EXPECT_EQ(u8(r.sense, 15), 0xcf);  // C/D, bit 7 of byte 1
    EXPECT_EQ(u8(r.sense, 17), 1);
    EXPECT_TRUE(has_sense(f.run(write10(0, 1, static_cast<std::uint8_t>(p << 5)), bytes(512)),
                          sense_key::illegal_request, asc::invalid_field_in_cdb));
  }
}

TEST(Sbc, DpoAndFuaAccepted) {
  unit_fixture f;
  EXPECT_TRUE(is_good(f.run(read10(0, 1, 0x18))));
  EXPECT_TRUE(is_good(f.run(write10(0, 1, 0x18), bytes(512))));
  EXPECT_EQ(f.dev->fua_writes(), 1u);
  EXPECT_TRUE(is_good(f.run(write10(0, 1, 0x00), bytes(512))));
  EXPECT_EQ(f.dev->fua_writes(), 1u);
}

TEST(Sbc, WriteWithTooLittleDataWritesNothing) {
  unit_fixture f;
  auto r = f.run(write10(0, 2), pattern(512, 1));
  EXPECT_EQ(to_hex(r.sense), to_hex(hex("70 00 05 00 00 00 00 0a 00 00 00 00 0e 03 00 00 00 00")));
  EXPECT_EQ(r.data_out_length, 1024u);  // for the transport's overflow residual
  EXPECT_EQ(f.dev->contents(), bytes(2048 * 512));
}

TEST(Sbc, WriteWithMoreDataWritesOnlyTheTransferLength) {
  unit_fixture f;
  auto r = f.run(write10(0, 1), pattern(10000, 1));
  ASSERT_TRUE(is_good(r));
  EXPECT_EQ(r.data_out_length, 512u);  // for the transport's underflow residual
  auto c = f.dev->contents();
  auto p = pattern(512, 1);
  EXPECT_TRUE(std::equal(p.begin(), p.end(), c.begin()));
  EXPECT_EQ(c[512], std::byte{0});
}

TEST(Sbc, DataOutLengthReported) {
  unit_fixture f;
  EXPECT_EQ(f.run(cdb({0x0a, 0, 0, 0, 0, 0}), bytes(256 * 512)).data_out_length, 256u * 512);
  EXPECT_EQ(f.run(cdb16(0x93, 0, 4), bytes(512)).data_out_length, 512u);
  EXPECT_EQ(f.run(cdb16(0x93, 0, 4, 0x01)).data_out_length, 0u);  // NDOB
  EXPECT_EQ(f.run(cdb16(0x8f, 0, 2, 0x02), bytes(1024)).data_out_length, 1024u);
  EXPECT_EQ(f.run(cdb16(0x8f, 0, 2, 0x00)).data_out_length, 0u);
  EXPECT_EQ(f.run(read10(0, 1)).data_out_length, 0u);
  // Also on errors decided before the data is looked at.
  EXPECT_EQ(f.run(write10(4000, 3), bytes(0)).data_out_length, 1536u);
}

TEST(Sbc, TransferLongerThanMaximumIsInvalidField) {
  auto o = disk_unit::options::for_host("pc01");
  o.max_transfer_bytes = 64 * 512;
  unit_fixture f(2048, false, o);
  EXPECT_TRUE(is_good(f.run(read10(0, 64))));
  auto r = f.run(read10(0, 65));
  EXPECT_TRUE(has_sense(r, sense_key::illegal_request, asc::invalid_field_in_cdb));
  EXPECT_EQ(u8(r.sense, 17), 7);
}

TEST(Sbc, ReadOnlyUnitRefusesEveryWrite) {
  unit_fixture f(2048, true);
  const char* wp = "70 00 07 00 00 00 00 0a 00 00 00 00 27 00 00 00 00 00";
  auto r = f.run(write10(0, 1), bytes(512));
  EXPECT_EQ(to_hex(r.sense), to_hex(hex(wp)));
  EXPECT_TRUE(has_sense(f.run(cdb({0x0a, 0, 0, 0, 1, 0}), bytes(512)), sense_key::data_protect,
                        asc::write_protected));
  EXPECT_TRUE(has_sense(f.run(cdb16(0x8a, 0, 1), bytes(512)), sense_key::data_protect,
                        asc::write_protected));
  EXPECT_TRUE(has_sense(f.run(cdb12(0xaa, 0, 1), bytes(512)), sense_key::data_protect,
                        asc::write_protected));
  EXPECT_TRUE(has_sense(f.run(cdb16(0x8e, 0, 1), bytes(512)), sense_key::data_protect,
                        asc::write_protected));
  EXPECT_TRUE(has_sense(f.run(cdb16(0x93, 0, 1), bytes(512)), sense_key::data_protect,
                        asc::write_protected));
  EXPECT_TRUE(has_sense(f.run(cdb({0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0}), bytes(24)),
                        sense_key::data_protect, asc::write_protected));
  auto caw = cdb16(0x89, 0, 0);
  caw[13] = std::byte{1};
  EXPECT_TRUE(has_sense(f.run(caw, bytes(1024)), sense_key::data_protect, asc::write_protected));
  // Reads still work.
  EXPECT_TRUE(is_good(f.run(read10(0, 1))));
}

TEST(Sbc, MediumErrorsBecomeSense) {
  unit_fixture f;
  f.dev->fail_next(1);
  EXPECT_TRUE(has_sense(f.run(read10(0, 1)), sense_key::medium_error, asc::unrecovered_read_error));
  f.dev->fail_next(1);
  EXPECT_TRUE(
      has_sense(f.run(write10(0, 1), bytes(512)), sense_key::medium_error, asc::write_error));
  f.dev->fail_next(1);
  EXPECT_TRUE(has_sense(f.run(cdb({0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0})), sense_key::medium_error,
                        asc::write_error));
}

TEST(Sbc, WriteAndVerify) {
  unit_fixture f;
  auto d = pattern(1024, 3);
  ASSERT_TRUE(is_good(f.run(cdb({0x2e, 0x02, 0, 0, 0, 5, 0, 0, 2, 0}), d)));
  EXPECT_EQ(f.run(read10(5, 2)).data_in, d);
  ASSERT_TRUE(is_good(f.run(cdb12(0xae, 7, 2), d)));
  ASSERT_TRUE(is_good(f.run(cdb16(0x8e, 9, 2), d)));
  EXPECT_EQ(f.run(read10(9, 2)).data_in, d);
  EXPECT_TRUE(
      has_sense(f.run(cdb16(0x8e, 2047, 2), d), sense_key::illegal_request, asc::lba_out_of_range));
  EXPECT_TRUE(has_sense(f.run(cdb16(0x8e, 0, 2, 0x40), d), sense_key::illegal_request,
                        asc::invalid_field_in_cdb));
}

TEST(Sbc, VerifyByteCheck) {
  unit_fixture f;
  auto d = pattern(1024, 9);
  f.dev->fill(512 * 20, d);
  // BYTCHK 0: medium check only.
  EXPECT_TRUE(is_good(f.run(cdb({0x2f, 0, 0, 0, 0, 20, 0, 0, 2, 0}))));
  // BYTCHK 1, equal.
  EXPECT_TRUE(is_good(f.run(cdb({0x2f, 0x02, 0, 0, 0, 20, 0, 0, 2, 0}), d)));
  EXPECT_TRUE(is_good(f.run(cdb12(0xaf, 20, 2, 0x02), d)));
  EXPECT_TRUE(is_good(f.run(cdb16(0x8f, 20, 2, 0x02), d)));
  // Mismatch at byte 700: MISCOMPARE with the offset in INFORMATION.
  auto bad = d;
  bad[700] ^= std::byte{0x01};
  auto r = f.run(cdb16(0x8f, 20, 2, 0x02), bad);
  EXPECT_TRUE(has_sense(r, sense_key::miscompare, asc::miscompare_during_verify));
  EXPECT_EQ(to_hex(r.sense), to_hex(hex("f0 00 0e 00 00 02 bc 0a 00 00 00 00 1d 00 00 00 00 00")));
  // BYTCHK 0 ignores contents.
  EXPECT_TRUE(is_good(f.run(cdb16(0x8f, 20, 2, 0x00), bad)));
  // BYTCHK 3: one block compared with each block.
  auto blk = pattern(512, 4);
  f.dev->fill(512 * 40, blk);
  f.dev->fill(512 * 41, blk);
  EXPECT_TRUE(is_good(f.run(cdb16(0x8f, 40, 2, 0x06), blk)));
  EXPECT_TRUE(has_sense(f.run(cdb16(0x8f, 40, 3, 0x06), blk), sense_key::miscompare,
                        asc::miscompare_during_verify));
  // BYTCHK 2 is reserved; VRPROTECT is invalid; range.
  EXPECT_TRUE(has_sense(f.run(cdb16(0x8f, 40, 1, 0x04), blk), sense_key::illegal_request,
                        asc::invalid_field_in_cdb));
  EXPECT_TRUE(has_sense(f.run(cdb16(0x8f, 40, 1, 0x20)), sense_key::illegal_request,
                        asc::invalid_field_in_cdb));
  EXPECT_TRUE(
      has_sense(f.run(cdb16(0x8f, 2048, 1)), sense_key::illegal_request, asc::lba_out_of_range));
  EXPECT_TRUE(is_good(f.run(cdb16(0x8f, 0, 0, 0x02))));
}

TEST(Sbc, WriteSameWritesPatternAndUnmaps) {
  unit_fixture f;
  auto blk = pattern(512, 5);
  ASSERT_TRUE(is_good(f.run(cdb({0x41, 0, 0, 0, 0, 10, 0, 0, 3, 0}), blk)));
  auto c = f.dev->contents();
  for (int b = 10; b < 13; ++b)
    EXPECT_TRUE(std::equal(blk.begin(), blk.end(), c.begin() + b * 512));
  EXPECT_EQ(c[13 * 512], std::byte{0});
  // UNMAP with a zero block discards.
  ASSERT_TRUE(is_good(f.run(cdb16(0x93, 10, 2, 0x08), bytes(512))));
  EXPECT_EQ(f.dev->discards(), 1u);
  EXPECT_EQ(f.run(read10(10, 2)).data_in, bytes(1024));
  EXPECT_EQ(f.run(read10(12, 1)).data_in, blk);
  // UNMAP with a non-zero block unmaps as well: the blocks read as zeros (LBPRZ = 1).
  ASSERT_TRUE(is_good(f.run(cdb16(0x93, 12, 1, 0x08), blk)));
  EXPECT_EQ(f.dev->discards(), 2u);
  EXPECT_EQ(f.run(read10(12, 1)).data_in, bytes(512));
  // WRITE SAME(10) with 0 blocks and UNMAP unmaps from the LBA to the end (WSNZ = 0).
  ASSERT_TRUE(is_good(f.run(cdb({0x2a, 0, 0, 0, 0x07, 0xf0, 0, 0, 16, 0}), pattern(16 * 512, 9))));
  ASSERT_TRUE(is_good(f.run(cdb({0x41, 0x08, 0, 0, 0x07, 0xf0, 0, 0, 0, 0}), blk)));
  EXPECT_EQ(f.dev->discards(), 3u);
  EXPECT_EQ(f.run(read10(2032, 16)).data_in, bytes(16 * 512));
  // NDOB: no data, zeros (+ UNMAP: discard).
  ASSERT_TRUE(is_good(f.run(cdb16(0x93, 12, 1, 0x09))));
  EXPECT_EQ(f.dev->discards(), 4u);
  EXPECT_EQ(f.run(read10(12, 1)).data_in, bytes(512));
  // A large WRITE SAME in chunks.
  ASSERT_TRUE(is_good(f.run(cdb16(0x93, 0, 2048), blk)));
  c = f.dev->contents();
  EXPECT_TRUE(std::equal(blk.begin(), blk.end(), c.begin() + 2047 * 512));
}

TEST(Sbc, WriteSameErrors) {
  unit_fixture f;
  auto blk = pattern(512, 5);
  // WSNZ = 0: zero blocks runs to the end; from past the end it is out of range.
  ASSERT_TRUE(is_good(f.run(cdb({0x41, 0, 0, 0, 0x07, 0xf0, 0, 0, 0, 0}), blk)));
  EXPECT_EQ(f.run(read10(2047, 1)).data_in, blk);
  EXPECT_TRUE(has_sense(f.run(cdb({0x41, 0, 0, 0, 0x08, 0x00, 0, 0, 0, 0}), blk),
                        sense_key::illegal_request, asc::lba_out_of_range));
  EXPECT_TRUE(has_sense(f.run(cdb16(0x93, 2040, 9), blk), sense_key::illegal_request,
                        asc::lba_out_of_range));
  EXPECT_TRUE(has_sense(f.run(cdb16(0x93, 0, 1, 0x10), blk), sense_key::illegal_request,
                        asc::invalid_field_in_cdb));  // ANCHOR
  EXPECT_TRUE(has_sense(f.run(cdb16(0x93, 0, 1, 0x02), blk), sense_key::illegal_request,
                        asc::invalid_field_in_cdb));  // LBDATA
  EXPECT_TRUE(has_sense(f.run(cdb16(0x93, 0, 1, 0x20), blk), sense_key::illegal_request,
                        asc::invalid_field_in_cdb));  // WRPROTECT
  EXPECT_TRUE(has_sense(f.run(cdb16(0x93, 0, 1), bytes(100)), sense_key::illegal_request,
                        asc::invalid_field_in_command_information_unit));  // short block
  EXPECT_TRUE(has_sense(f.run(cdb16(0x93, 0, 1), bytes(1024)), sense_key::illegal_request,
                        asc::invalid_field_in_command_information_unit));  // two blocks
}

bytes unmap_params(std::vector<std::pair<std::uint64_t, std::uint32_t>> ranges) {
  byte_writer w;
  w.u16(static_cast<std::uint16_t>(6 + 16 * ranges.size()));
  w.u16(static_cast<std::uint16_t>(16 * ranges.size())).u32(0);
  for (auto [lba, n] : ranges) w.u64(lba).u32(n).u32(0);
  return w.take();
}
bytes unmap_cdb(std::size_t len) {
  return cdb({0x42, 0, 0, 0, 0, 0, 0, int(len >> 8), int(len & 0xff), 0});
}

TEST(Sbc, UnmapDiscardsEveryDescriptor) {
  unit_fixture f;
  f.dev->fill(0, pattern(2048 * 512, 1));
  auto p = unmap_params({{4, 2}, {100, 8}, {7, 0}});
  ASSERT_TRUE(is_good(f.run(unmap_cdb(p.size()), p)));
  EXPECT_EQ(f.dev->discards(), 2u);
  EXPECT_EQ(f.run(read10(4, 2)).data_in, bytes(1024));
  EXPECT_EQ(f.run(read10(100, 8)).data_in, bytes(8 * 512));
  EXPECT_NE(f.run(read10(6, 1)).data_in, bytes(512));
  // Zero-length parameter list: nothing to do.
  EXPECT_TRUE(is_good(f.run(unmap_cdb(0))));
}

TEST(Sbc, UnmapErrors) {
  unit_fixture f;
  auto p = unmap_params({{2047, 2}});
  EXPECT_TRUE(
      has_sense(f.run(unmap_cdb(p.size()), p), sense_key::illegal_request, asc::lba_out_of_range));
  EXPECT_TRUE(has_sense(f.run(unmap_cdb(4), bytes(4)), sense_key::illegal_request,
                        asc::parameter_list_length_error));
  // Parameter list length larger than the data sent.
  EXPECT_TRUE(has_sense(f.run(unmap_cdb(40), unmap_params({{1, 1}})), sense_key::illegal_request,
                        asc::parameter_list_length_error));
  auto anchor = unmap_cdb(p.size());
  anchor[1] = std::byte{1};
  EXPECT_TRUE(has_sense(f.run(anchor, p), sense_key::illegal_request, asc::invalid_field_in_cdb));
  std::vector<std::pair<std::uint64_t, std::uint32_t>> many(257, {0, 1});
  auto pm = unmap_params(many);
  auto r = f.run(unmap_cdb(pm.size()), pm);
  EXPECT_TRUE(has_sense(r, sense_key::illegal_request, asc::invalid_field_in_parameter_list));
  EXPECT_EQ(f.dev->discards(), 0u);
}

bytes caw_cdb(std::uint64_t lba, std::uint8_t n, std::uint8_t flags = 0) {
  auto c = cdb16(0x89, lba, 0, flags);
  c[13] = std::byte{n};
  return c;
}

TEST(Sbc, CompareAndWrite) {
  unit_fixture f;
  auto old = pattern(1024, 1), neu = pattern(1024, 2);
  f.dev->fill(512 * 30, old);
  bytes both = old;
  both.insert(both.end(), neu.begin(), neu.end());
  ASSERT_TRUE(is_good(f.run(caw_cdb(30, 2, 0x08), both)));
  EXPECT_EQ(f.run(read10(30, 2)).data_in, neu);
  EXPECT_EQ(f.dev->fua_writes(), 1u);
  // Same again: now the medium holds `neu`, so the compare fails at byte 0.
  auto r = f.run(caw_cdb(30, 2), both);
  EXPECT_EQ(to_hex(r.sense), to_hex(hex("f0 00 0e 00 00 00 00 0a 00 00 00 00 1d 00 00 00 00 00")));
  EXPECT_EQ(f.run(read10(30, 2)).data_in, neu);
  // Mismatch in the second block.
  bytes both2 = neu;
  both2[600] ^= std::byte{0xff};
  both2.insert(both2.end(), old.begin(), old.end());
  auto r2 = f.run(caw_cdb(30, 2), both2);
  EXPECT_TRUE(has_sense(r2, sense_key::miscompare, asc::miscompare_during_verify));
  EXPECT_EQ(load_u32(r2.sense, 3), 600u);
  EXPECT_EQ(f.run(read10(30, 2)).data_in, neu);
}

TEST(Sbc, CompareAndWriteErrors) {
  unit_fixture f;
  EXPECT_TRUE(is_good(f.run(caw_cdb(0, 0))));  // no blocks, no data: nothing to do
  EXPECT_TRUE(has_sense(f.run(caw_cdb(2047, 2), bytes(2048)), sense_key::illegal_request,
                        asc::lba_out_of_range));
  EXPECT_TRUE(has_sense(f.run(caw_cdb(0, 129), bytes(129 * 1024)), sense_key::illegal_request,
                        asc::invalid_field_in_cdb));
  EXPECT_TRUE(has_sense(f.run(caw_cdb(0, 2), bytes(1024)), sense_key::illegal_request,
                        asc::invalid_field_in_cdb));
  EXPECT_TRUE(has_sense(f.run(caw_cdb(0, 1), bytes(2048)), sense_key::illegal_request,
                        asc::invalid_field_in_cdb));
  // 256 blocks wrap to 0 in the one-byte field: the data-out gives it away.
  EXPECT_TRUE(has_sense(f.run(caw_cdb(0, 0), bytes(512 * 512)), sense_key::illegal_request,
                        asc::invalid_field_in_cdb));
  EXPECT_TRUE(has_sense(f.run(caw_cdb(0, 1, 0x20), bytes(1024)), sense_key::illegal_request,
                        asc::invalid_field_in_cdb));
}

TEST(Sbc, CompareAndWriteWaitsForOverlappingWrites) {
  // Completions are queued, so I/O stays "in flight" until we run the queue.
  std::deque<io_pool::task> queue;
  io_pool pool(0, [&](io_pool::task t) { queue.push_back(std::move(t)); });
  auto dev = std::make_shared<storage::memory_device>(64 * 512);
  disk_unit u(dev, pool, disk_unit::options::for_host("x"));
  auto submit = [&](bytes c, bytes d, std::vector<int>& order, int id) {
    task t;
    t.cdb = std::move(c);
    t.data_out = std::move(d);
    u.execute(std::move(t), [&order, id](task_result r) {
      EXPECT_EQ(r.st, status::good) << id;
      order.push_back(id);
    });
  };
  std::vector<int> order;
  auto blk = pattern(512, 1);
  submit(write10(5, 1), blk, order, 1);  // in flight (completion queued)
  bytes both = blk;
  auto blk2 = pattern(512, 2);
  both.insert(both.end(), blk2.begin(), blk2.end());
  submit(caw_cdb(5, 1), both, order, 2);  // must wait for write 1: its compare sees blk
  submit(read10(5, 1), {}, order, 3);     // waits for the CAW
  submit(read10(6, 1), {}, order, 4);     // no overlap: runs at once
  EXPECT_EQ(queue.size(), 2u);            // write 1 and read 4 only
  while (!queue.empty()) {
    auto t = std::move(queue.front());
    queue.pop_front();
    t();
  }
  EXPECT_EQ(order, (std::vector<int>{1, 4, 2, 3}));
  bytes out(512);
  ASSERT_FALSE(dev->read(5 * 512, out));
  EXPECT_EQ(out, blk2);
}

TEST(Sbc, SynchronizeCacheFlushes) {
  unit_fixture f;
  ASSERT_TRUE(is_good(f.run(cdb({0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0}))));
  ASSERT_TRUE(is_good(f.run(cdb16(0x91, 100, 10))));
  ASSERT_TRUE(is_good(f.run(cdb({0x35, 0x02, 0, 0, 0, 0, 0, 0, 0, 0}))));  // IMMED
  EXPECT_EQ(f.dev->flushes(), 3u);
  EXPECT_TRUE(
      has_sense(f.run(cdb16(0x91, 2048, 0)), sense_key::illegal_request, asc::lba_out_of_range));
  EXPECT_TRUE(
      has_sense(f.run(cdb16(0x91, 2000, 49)), sense_key::illegal_request, asc::lba_out_of_range));
  EXPECT_EQ(f.dev->flushes(), 3u);
}

TEST(Sbc, PrefetchChecksRange) {
  unit_fixture f;
  EXPECT_TRUE(is_good(f.run(cdb({0x34, 0, 0, 0, 0, 0, 0, 0, 8, 0}))));
  EXPECT_TRUE(is_good(f.run(cdb16(0x90, 0, 0))));
  EXPECT_TRUE(
      has_sense(f.run(cdb16(0x90, 2047, 2)), sense_key::illegal_request, asc::lba_out_of_range));
}

TEST(Sbc, GetLbaStatus) {
  unit_fixture f;
  bytes c(16);
  c[0] = std::byte{0x9e};
  c[1] = std::byte{0x12};
  store_u64(c, 2, 100);
  store_u32(c, 10, 24);
  auto r = f.run(c);
  ASSERT_TRUE(is_good(r));
  EXPECT_EQ(to_hex(r.data_in), to_hex(hex("00 00 00 14 00 00 00 00 00 00 00 00 00 00 00 64 "
                                          "00 00 07 9c 00 00 00 00")));
  store_u64(c, 2, 2048);
  EXPECT_TRUE(has_sense(f.run(c), sense_key::illegal_request, asc::lba_out_of_range));
}

TEST(Sbc, StartStopUnit) {
  unit_fixture f;
  EXPECT_TRUE(is_good(f.run(cdb({0x1b, 0, 0, 0, 0x01, 0}))));
  EXPECT_TRUE(is_good(f.run(cdb({0x1b, 0, 0, 0, 0x00, 0}))));  // stop: flushes
  EXPECT_EQ(f.dev->flushes(), 1u);
  EXPECT_TRUE(is_good(f.run(cdb({0x1b, 0, 0, 0, 0x04, 0}))));  // NO_FLUSH
  EXPECT_EQ(f.dev->flushes(), 1u);
  EXPECT_TRUE(has_sense(f.run(cdb({0x1b, 0, 0, 0, 0x40, 0})), sense_key::illegal_request,
                        asc::invalid_field_in_cdb));
  EXPECT_TRUE(is_good(f.run(cdb({0x1e, 0, 0, 0, 1, 0}))));  // PREVENT
  EXPECT_TRUE(is_good(f.run(cdb({0x1e, 0, 0, 0, 0, 0}))));  // ALLOW
}

TEST(Sbc, ReadDefectData) {
  unit_fixture f;
  auto r = f.run(cdb({0x37, 0, 0x05, 0, 0, 0, 0, 0, 4, 0}));
  ASSERT_TRUE(is_good(r));
  EXPECT_EQ(to_hex(r.data_in), to_hex(hex("00 05 00 00")));
  auto r12 = f.run(cdb({0xb7, 0x05, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0}));
  EXPECT_EQ(to_hex(r12.data_in), to_hex(hex("00 05 00 00 00 00 00 00")));
}

}  // namespace
}  // namespace diskless::scsi

namespace diskless::scsi {
namespace {

using namespace testing;

TEST(Sbc, OrWrite) {
  unit_fixture f;
  bytes medium(1024, std::byte{0x0f}), data(1024, std::byte{0xa0});
  f.dev->fill(512 * 8, medium);
  bytes c(16);
  c[0] = std::byte{0x8b};
  store_u64(c, 2, 8);
  store_u32(c, 10, 2);
  ASSERT_TRUE(is_good(f.run(c, data)));
  EXPECT_EQ(f.dev->contents()[512 * 8], std::byte{0xaf});
  EXPECT_EQ(f.dev->contents()[512 * 10 - 1], std::byte{0xaf});
  EXPECT_EQ(f.dev->contents()[512 * 10], std::byte{0x00});
  store_u64(c, 2, 2047);
  EXPECT_TRUE(has_sense(f.run(c, data), sense_key::illegal_request, asc::lba_out_of_range));
  c[1] = std::byte{0x20};
  store_u64(c, 2, 0);
  EXPECT_TRUE(has_sense(f.run(c, data), sense_key::illegal_request, asc::invalid_field_in_cdb));
  unit_fixture ro(2048, true);
  c[1] = std::byte{0};
  EXPECT_TRUE(has_sense(ro.run(c, data), sense_key::data_protect, asc::write_protected));
}

}  // namespace
}  // namespace diskless::scsi
