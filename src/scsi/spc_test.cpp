// SPC-4 data-in builders: INQUIRY/VPD, READ CAPACITY, MODE SENSE/SELECT, REPORT LUNS, RSOC.
#include "scsi/spc.hpp"

#include <gtest/gtest.h>

#include "scsi/test_support.hpp"

namespace diskless::scsi {
namespace {

using namespace testing;

unit_info info() {
  unit_info u;
  u.serial = "DL0123456789ABCD";
  u.naa = 0x0123456789abcdefULL;
  u.blocks = 2048;
  u.max_transfer_blocks = 16384;
  u.max_unmap_blocks = 0xffffffff;
  u.max_unmap_descriptors = 256;
  u.max_write_same_blocks = 1 << 22;
  u.max_compare_and_write_blocks = 128;
  return u;
}

TEST(Inquiry, Standard) {
  auto r = inquiry(info(), cdb({0x12, 0, 0, 0, 255, 0}));
  ASSERT_TRUE(is_good(r));
  ASSERT_EQ(r.data_in.size(), 96u);
  EXPECT_EQ(to_hex(byte_span(r.data_in).first(8)), to_hex(hex("00 00 06 12 5b 10 00 02")));
  EXPECT_EQ(to_string(byte_span(r.data_in).subspan(8, 28)), "DISKLESSVIRTUAL DISK    0001");
  EXPECT_EQ(to_hex(byte_span(r.data_in).subspan(58, 6)), to_hex(hex("00 a0 04 60 04 c0")));
}

TEST(Inquiry, AllocationLengthTruncatesAnd16Bit) {
  EXPECT_EQ(inquiry(info(), cdb({0x12, 0, 0, 0, 36, 0})).data_in.size(), 36u);
  EXPECT_EQ(inquiry(info(), cdb({0x12, 0, 0, 0, 5, 0})).data_in.size(), 5u);
  EXPECT_EQ(inquiry(info(), cdb({0x12, 0, 0, 0, 0, 0})).data_in.size(), 0u);
  EXPECT_EQ(inquiry(info(), cdb({0x12, 0, 0, 1, 0, 0})).data_in.size(), 96u);
}

TEST(Inquiry, FieldErrors) {
  // Page code without EVPD, CMDDT, unknown VPD page.
  auto r = inquiry(info(), cdb({0x12, 0, 0x80, 0, 255, 0}));
  EXPECT_TRUE(has_sense(r, sense_key::illegal_request, asc::invalid_field_in_cdb));
  EXPECT_EQ(to_hex(r.sense), to_hex(hex("70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 c0 00 02")));
  EXPECT_TRUE(has_sense(inquiry(info(), cdb({0x12, 0x02, 0, 0, 255, 0})),
                        sense_key::illegal_request, asc::invalid_field_in_cdb));
  EXPECT_TRUE(has_sense(inquiry(info(), cdb({0x12, 0x01, 0x87, 0, 255, 0})),
                        sense_key::illegal_request, asc::invalid_field_in_cdb));
}

TEST(Inquiry, SupportedPages) {
  auto r = inquiry(info(), cdb({0x12, 1, 0x00, 0, 255, 0}));
  EXPECT_EQ(to_hex(r.data_in), to_hex(hex("00 00 00 06 00 80 83 b0 b1 b2")));
}

TEST(Inquiry, SerialAndDeviceIdentification) {
  auto s = inquiry(info(), cdb({0x12, 1, 0x80, 0, 255, 0}));
  EXPECT_EQ(to_hex(s.data_in), "00800010" + to_hex(to_bytes("DL0123456789ABCD")));
  auto d = inquiry(info(), cdb({0x12, 1, 0x83, 0, 255, 0}));
  ASSERT_TRUE(is_good(d));
  // NAA 3 designator first.
  EXPECT_EQ(to_hex(byte_span(d.data_in).first(16)),
            to_hex(hex("00 83 00 45 01 03 00 08 31 23 45 67 89 ab cd ef")));
  // Then the T10 vendor ID designator.
  EXPECT_EQ(to_hex(byte_span(d.data_in).subspan(16, 4)), to_hex(hex("02 01 00 25")));
  EXPECT_EQ(to_string(byte_span(d.data_in).subspan(20, 0x25)),
            "DISKLESSVIRTUAL DISK:DL0123456789ABCD");
  // Then relative target port 1 and target port group 1 (association: target port).
  EXPECT_EQ(to_hex(byte_span(d.data_in).subspan(20 + 0x25)),
            to_hex(hex("01 14 00 04 00 00 00 01 01 15 00 04 00 00 00 01")));
  EXPECT_EQ(load_u16(d.data_in, 2), d.data_in.size() - 4);
}

TEST(Inquiry, BlockLimitsCharacteristicsProvisioning) {
  auto b0 = inquiry(info(), cdb({0x12, 1, 0xb0, 0, 255, 0})).data_in;
  ASSERT_EQ(b0.size(), 64u);
  EXPECT_EQ(load_u16(b0, 2), 0x3cu);
  EXPECT_EQ(u8(b0, 4), 0x00);      // WSNZ = 0
  EXPECT_EQ(load_u16(b0, 6), 8u);  // OPTIMAL TRANSFER LENGTH GRANULARITY: one 4 KiB block
  EXPECT_EQ(u8(b0, 5), 128);       // MAXIMUM COMPARE AND WRITE LENGTH
  EXPECT_EQ(load_u32(b0, 8), 16384u);
  EXPECT_EQ(load_u32(b0, 20), 0xffffffffu);
  EXPECT_EQ(load_u32(b0, 24), 256u);
  EXPECT_EQ(load_u32(b0, 28), 8u);  // OPTIMAL UNMAP GRANULARITY: 4 KiB
  EXPECT_EQ(load_u64(b0, 36), 1u << 22);
  auto b1 = inquiry(info(), cdb({0x12, 1, 0xb1, 0, 255, 0})).data_in;
  ASSERT_EQ(b1.size(), 64u);
  EXPECT_EQ(load_u16(b1, 4), 1u);  // non-rotating
  auto b2 = inquiry(info(), cdb({0x12, 1, 0xb2, 0, 255, 0})).data_in;
  EXPECT_EQ(to_hex(b2), to_hex(hex("00 b2 00 04 00 e4 02 00")));
}

TEST(ReadCapacity, TenAndSixteen) {
  auto r = read_capacity10(info(), cdb({0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(to_hex(r.data_in), to_hex(hex("00 00 07 ff 00 00 02 00")));
  auto r16 = read_capacity16(info(), cdb({0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0}));
  // LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT 0 (byte 13), LBPME | LBPRZ (byte 14).
  EXPECT_EQ(to_hex(r16.data_in), to_hex(hex("00 00 00 00 00 00 07 ff 00 00 02 00 00 00 c0 00 "
                                            "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00")));
  auto short16 =
      read_capacity16(info(), cdb({0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0}));
  EXPECT_EQ(short16.data_in.size(), 8u);
}

TEST(ReadCapacity, HugeDiskSaturatesTen) {
  auto u = info();
  u.blocks = 0x200000000ULL;
  auto r = read_capacity10(u, cdb({0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(to_hex(r.data_in), to_hex(hex("ff ff ff ff 00 00 02 00")));
}

TEST(ReadCapacity, LbaWithoutPmiIsInvalid) {
  EXPECT_TRUE(has_sense(read_capacity10(info(), cdb({0x25, 0, 0, 0, 0, 1, 0, 0, 0, 0})),
                        sense_key::illegal_request, asc::invalid_field_in_cdb));
  EXPECT_TRUE(is_good(read_capacity10(info(), cdb({0x25, 0, 0, 0, 0, 1, 0, 0, 1, 0}))));
}

TEST(ModeSense, SixAllPagesWithBlockDescriptor) {
  auto r = mode_sense(info(), cdb({0x1a, 0, 0x3f, 0, 255, 0}));
  ASSERT_TRUE(is_good(r));
  auto& d = r.data_in;
  ASSERT_EQ(d.size(), 4u + 8 + 12 + 20 + 12 + 12);
  EXPECT_EQ(to_hex(byte_span(d).first(12)), to_hex(hex("43 00 10 08 00 00 08 00 00 00 02 00")));
  EXPECT_EQ(u8(d, 12), 0x01);
  EXPECT_EQ(u8(d, 24), 0x08);
  EXPECT_EQ(u8(d, 26), 0x04);  // WCE
  EXPECT_EQ(u8(d, 44), 0x0a);
  EXPECT_EQ(u8(d, 56), 0x1c);
}

TEST(ModeSense, DbdAndReadOnlyAndChangeable) {
  auto u = info();
  u.read_only = true;
  auto r = mode_sense(u, cdb({0x1a, 0x08, 0x0a, 0, 255, 0}));
  EXPECT_EQ(to_hex(r.data_in),
            to_hex(hex("0f 00 90 00 0a 0a 00 10 08 00 00 00 ff ff 00 00")));  // WP | DPOFUA, SWP
  auto c = mode_sense(info(), cdb({0x1a, 0x08, 0x48, 0, 255, 0}));            // PC=1 caching
  EXPECT_EQ(to_hex(c.data_in), to_hex(hex("17 00 10 00 08 12 00 00 00 00 00 00 00 00 00 00 "
                                          "00 00 00 00 00 00 00 00")));
}

TEST(ModeSense, TenWithLongLba) {
  auto r = mode_sense(info(), cdb({0x5a, 0x10, 0x08, 0, 0, 0, 0, 1, 0, 0}));
  auto& d = r.data_in;
  ASSERT_EQ(d.size(), 8u + 16 + 20);
  EXPECT_EQ(to_hex(byte_span(d).first(8)), to_hex(hex("00 2a 00 10 01 00 00 10")));
  EXPECT_EQ(load_u64(d, 8), 2048u);
  EXPECT_EQ(load_u32(d, 20), 512u);
}

TEST(ModeSense, Errors) {
  EXPECT_TRUE(has_sense(mode_sense(info(), cdb({0x1a, 0, 0x02, 0, 255, 0})),
                        sense_key::illegal_request, asc::invalid_field_in_cdb));
  EXPECT_TRUE(has_sense(mode_sense(info(), cdb({0x1a, 0, 0x08, 0x01, 255, 0})),
                        sense_key::illegal_request, asc::invalid_field_in_cdb));
  EXPECT_TRUE(has_sense(mode_sense(info(), cdb({0x1a, 0, 0xc8, 0, 255, 0})),
                        sense_key::illegal_request, asc::saving_parameters_not_supported));
  EXPECT_TRUE(is_good(mode_sense(info(), cdb({0x1a, 0, 0x3f, 0xff, 255, 0}))));
  EXPECT_EQ(mode_sense(info(), cdb({0x1a, 0, 0x3f, 0, 4, 0})).data_in.size(), 4u);
}

TEST(ModeSelect, AcceptsUnchangedPagesOnly) {
  auto u = info();
  // Take MODE SENSE(10) output and send it back as a MODE SELECT(10) parameter list.
  auto sense = mode_sense(u, cdb({0x5a, 0, 0x3f, 0, 0, 0, 0, 1, 0, 0})).data_in;
  store_u16(sense, 0, 0);  // MODE DATA LENGTH is reserved in MODE SELECT
  auto sel = cdb({0x55, 0x10, 0, 0, 0, 0, 0, 0, int(sense.size()), 0});
  EXPECT_TRUE(is_good(mode_select(u, sel, sense)));
  auto changed = sense;
  changed[8 + 8 + 12 + 2] ^= std::byte{0x04};  // flip WCE
  auto r = mode_select(u, sel, changed);
  EXPECT_TRUE(has_sense(r, sense_key::illegal_request, asc::invalid_field_in_parameter_list));
  EXPECT_EQ(load_u16(r.sense, 16), 8u + 8 + 12 + 2);
  // SP is not supported; zero length is a no-op; short data is a length error.
  EXPECT_TRUE(has_sense(mode_select(u, cdb({0x15, 0x11, 0, 0, 4, 0}), bytes(4)),
                        sense_key::illegal_request, asc::invalid_field_in_cdb));
  EXPECT_TRUE(is_good(mode_select(u, cdb({0x15, 0x10, 0, 0, 0, 0}), {})));
  EXPECT_TRUE(has_sense(mode_select(u, cdb({0x15, 0x10, 0, 0, 20, 0}), bytes(4)),
                        sense_key::illegal_request, asc::parameter_list_length_error));
  // A header with a block descriptor of another block size.
  auto hdr6 = hex("00 00 00 08 00 00 08 00 00 00 10 00");
  EXPECT_TRUE(has_sense(mode_select(u, cdb({0x15, 0x10, 0, 0, 12, 0}), hdr6),
                        sense_key::illegal_request, asc::invalid_field_in_parameter_list));
  auto ok6 = hex("00 00 00 08 00 00 08 00 00 00 02 00");
  EXPECT_TRUE(is_good(mode_select(u, cdb({0x15, 0x10, 0, 0, 12, 0}), ok6)));
}

TEST(ReportLuns, OneLunZero) {
  auto r = report_luns(cdb({0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0}));
  EXPECT_EQ(to_hex(r.data_in), to_hex(hex("00 00 00 08 00 00 00 00 00 00 00 00 00 00 00 00")));
  EXPECT_EQ(report_luns(cdb({0xa0, 0, 2, 0, 0, 0, 0, 0, 0, 8, 0, 0})).data_in.size(), 8u);
  EXPECT_TRUE(has_sense(report_luns(cdb({0xa0, 0, 0x42, 0, 0, 0, 0, 0, 0, 16, 0, 0})),
                        sense_key::illegal_request, asc::invalid_field_in_cdb));
}

TEST(Rsoc, AllCommands) {
  auto r = report_supported_opcodes(cdb({0xa3, 0x0c, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0}));
  ASSERT_TRUE(is_good(r));
  std::size_t n = supported_commands().size();
  ASSERT_EQ(r.data_in.size(), 4 + 8 * n);
  EXPECT_EQ(load_u32(r.data_in, 0), 8 * n);
  // First descriptor: TEST UNIT READY, 6 bytes.
  EXPECT_EQ(to_hex(byte_span(r.data_in).subspan(4, 8)), to_hex(hex("00 00 00 00 00 00 00 06")));
  // With RCTD every descriptor carries a 12-byte timeouts descriptor.
  auto t = report_supported_opcodes(cdb({0xa3, 0x0c, 0x80, 0, 0, 0, 0, 0, 0x10, 0, 0, 0}));
  EXPECT_EQ(t.data_in.size(), 4 + 20 * n);
  EXPECT_EQ(u8(t.data_in, 4 + 5), 0x02);  // CTDP
}

TEST(Rsoc, OneCommand) {
  auto r = report_supported_opcodes(cdb({0xa3, 0x0c, 0x01, 0x28, 0, 0, 0, 0, 1, 0, 0, 0}));
  EXPECT_EQ(to_hex(r.data_in), to_hex(hex("00 03 00 0a 28 f8 ff ff ff ff 1f ff ff 07")));
  auto none = report_supported_opcodes(cdb({0xa3, 0x0c, 0x01, 0xc5, 0, 0, 0, 0, 1, 0, 0, 0}));
  EXPECT_EQ(to_hex(none.data_in), to_hex(hex("00 01 00 00")));
  // Service action form for READ CAPACITY(16).
  auto sa = report_supported_opcodes(cdb({0xa3, 0x0c, 0x02, 0x9e, 0, 0x10, 0, 0, 1, 0, 0, 0}));
  EXPECT_EQ(u8(sa.data_in, 1), 0x03);
  EXPECT_EQ(load_u16(sa.data_in, 2), 16u);
  // Asking for an opcode with service actions without one (and vice versa) is invalid.
  EXPECT_TRUE(
      has_sense(report_supported_opcodes(cdb({0xa3, 0x0c, 0x01, 0x9e, 0, 0, 0, 0, 1, 0, 0, 0})),
                sense_key::illegal_request, asc::invalid_field_in_cdb));
  EXPECT_TRUE(
      has_sense(report_supported_opcodes(cdb({0xa3, 0x0c, 0x02, 0x28, 0, 0, 0, 0, 1, 0, 0, 0})),
                sense_key::illegal_request, asc::invalid_field_in_cdb));
  EXPECT_TRUE(
      has_sense(report_supported_opcodes(cdb({0xa3, 0x0c, 0x05, 0x28, 0, 0, 0, 0, 1, 0, 0, 0})),
                sense_key::illegal_request, asc::invalid_field_in_cdb));
  // With RCTD the timeouts descriptor follows the usage data.
  auto t = report_supported_opcodes(cdb({0xa3, 0x0c, 0x81, 0x28, 0, 0, 0, 0, 1, 0, 0, 0}));
  EXPECT_EQ(u8(t.data_in, 1), 0x83);
  EXPECT_EQ(t.data_in.size(), 4u + 10 + 12);
}

TEST(Rstmf, ReportsSupportedFunctions) {
  auto r = report_supported_tmfs(cdb({0xa3, 0x0d, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0}));
  EXPECT_EQ(to_hex(r.data_in), to_hex(hex("ca 00 00 00")));
}

}  // namespace
}  // namespace diskless::scsi
