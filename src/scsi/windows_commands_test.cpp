// The commands Windows' storport, disk class driver and MPIO issue at boot and install, one test
// each, end to end through disk_unit (the table in src/scsi/README.md says how each is answered).
#include <gtest/gtest.h>

#include "scsi/disk_unit.hpp"
#include "scsi/test_support.hpp"

namespace diskless::scsi {
namespace {

using namespace testing;

bytes inquiry_vpd(unit_fixture& f, int page) {
  auto r = f.run(cdb({0x12, 0x01, page, 0x01, 0x00, 0}));
  EXPECT_TRUE(is_good(r)) << std::hex << page;
  return bytes(r.data_in.begin(), r.data_in.end());
}

TEST(WindowsSet, InquiryVpd00ListsSupportedPages) {
  unit_fixture f;
  EXPECT_EQ(to_hex(inquiry_vpd(f, 0x00)), to_hex(hex("00 00 00 06 00 80 83 b0 b1 b2")));
}

TEST(WindowsSet, InquiryVpd80IsTheHostsSerial) {
  unit_fixture f;
  auto d = inquiry_vpd(f, 0x80);
  EXPECT_EQ(to_hex(byte_span(d).first(4)), to_hex(hex("00 80 00 10")));
  EXPECT_EQ(to_string(byte_span(d).subspan(4)), identity_for("pc01").serial);
}

TEST(WindowsSet, InquiryVpd83DesignatorsDifferBetweenHosts) {
  unit_fixture a(2048, false, disk_unit::options::for_host("golden/pc01"));
  unit_fixture b(2048, false, disk_unit::options::for_host("golden/pc02"));
  auto da = inquiry_vpd(a, 0x83);
  auto db = inquiry_vpd(b, 0x83);
  EXPECT_NE(to_hex(da), to_hex(db));
  // Walk the designation descriptors: code set, PIV/association/type, length (SPC-4 §7.8.6.1).
  std::vector<int> kinds;
  std::size_t pos = 4;
  while (pos + 4 <= da.size()) {
    kinds.push_back(u8(da, pos + 1) & 0x3f);
    pos += 4 + u8(da, pos + 3);
  }
  EXPECT_EQ(pos, da.size());
  // NAA (LU), T10 vendor ID (LU), relative target port, target port group (target port).
  EXPECT_EQ(kinds, (std::vector<int>{0x03, 0x01, 0x14, 0x15}));
  EXPECT_EQ(u8(da, 8) >> 4, 0x3);  // NAA 3h: locally assigned
}

TEST(WindowsSet, InquiryVpdB0B1B2) {
  unit_fixture f;
  auto b0 = inquiry_vpd(f, 0xb0);
  EXPECT_EQ(to_hex(byte_span(b0).first(4)), to_hex(hex("00 b0 00 3c")));
  EXPECT_EQ(load_u32(b0, 8), (32u << 20) / 512);  // MAXIMUM TRANSFER LENGTH
  auto b1 = inquiry_vpd(f, 0xb1);
  EXPECT_EQ(to_hex(byte_span(b1).first(6)), to_hex(hex("00 b1 00 3c 00 01")));  // non-rotating
  EXPECT_EQ(to_hex(inquiry_vpd(f, 0xb2)), to_hex(hex("00 b2 00 04 00 e4 02 00")));
}

TEST(WindowsSet, UnknownVpdPagesAreInvalidFieldInCdb) {
  unit_fixture f;
  for (int page : {0xb9, 0xc0, 0x86, 0x89, 0xff}) {
    auto r = f.run(cdb({0x12, 0x01, page, 0x01, 0x00, 0}));
    EXPECT_TRUE(has_sense(r, sense_key::illegal_request, asc::invalid_field_in_cdb)) << page;
    // Field pointer: CDB byte 2 (SKSV | C/D).
    EXPECT_EQ(to_hex(byte_span(r.sense).subspan(15, 3)), to_hex(hex("c0 00 02"))) << page;
  }
}

TEST(WindowsSet, StandardInquiryReportsImplicitTpgs) {
  unit_fixture f;
  auto r = f.run(cdb({0x12, 0, 0, 0, 36, 0}));
  ASSERT_TRUE(is_good(r));
  EXPECT_EQ(u8(r.data_in, 5) & 0x30, 0x10);
}

TEST(WindowsSet, ReadCapacity16) {
  unit_fixture f(4096);
  auto r = f.run(cdb({0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0}));
  ASSERT_TRUE(is_good(r));
  EXPECT_EQ(to_hex(byte_span(r.data_in).first(16)),
            to_hex(hex("00 00 00 00 00 00 0f ff 00 00 02 00 00 00 c0 00")));
}

TEST(WindowsSet, ReportLuns) {
  unit_fixture f;
  auto r = f.run(cdb({0xa0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0}));
  EXPECT_EQ(to_hex(r.data_in), to_hex(hex("00 00 00 08 00 00 00 00 00 00 00 00 00 00 00 00")));
}

TEST(WindowsSet, ModeSenseCachingAndControl) {
  unit_fixture f;
  auto c6 = f.run(cdb({0x1a, 0x08, 0x08, 0, 255, 0}));  // DBD, caching
  EXPECT_EQ(to_hex(byte_span(c6.data_in).first(7)), to_hex(hex("17 00 10 00 08 12 04")));
  auto c10 = f.run(cdb({0x5a, 0x08, 0x0a, 0, 0, 0, 0, 0, 255, 0}));  // DBD, control
  EXPECT_EQ(to_hex(c10.data_in), to_hex(hex("00 12 00 10 00 00 00 00 "
                                            "0a 0a 00 10 00 00 00 00 ff ff 00 00")));
}

TEST(WindowsSet, ModeSenseInformationalExceptions) {
  unit_fixture f;
  auto r6 = f.run(cdb({0x1a, 0x08, 0x1c, 0, 255, 0}));
  EXPECT_EQ(to_hex(r6.data_in), to_hex(hex("0f 00 10 00 1c 0a 08 00 00 00 00 00 00 00 00 00")));
  auto r10 = f.run(cdb({0x5a, 0x08, 0x1c, 0, 0, 0, 0, 0, 255, 0}));
  EXPECT_EQ(to_hex(byte_span(r10.data_in).subspan(8)),
            to_hex(hex("1c 0a 08 00 00 00 00 00 00 00 00 00")));
  auto changeable = f.run(cdb({0x1a, 0x08, 0x5c, 0, 255, 0}));
  EXPECT_EQ(to_hex(byte_span(changeable.data_in).subspan(4)),
            to_hex(hex("1c 0a 00 00 00 00 00 00 00 00 00 00")));
  // MODE SELECT restating the page unchanged is accepted; changing DEXCPT is not.
  bytes same = hex("00 00 00 00 1c 0a 08 00 00 00 00 00 00 00 00 00");
  EXPECT_TRUE(is_good(f.run(cdb({0x15, 0x10, 0, 0, 16, 0}), same)));
  bytes changed = hex("00 00 00 00 1c 0a 00 00 00 00 00 00 00 00 00 00");
  EXPECT_TRUE(has_sense(f.run(cdb({0x15, 0x10, 0, 0, 16, 0}), changed), sense_key::illegal_request,
                        asc::invalid_field_in_parameter_list));
}

TEST(WindowsSet, ModeSenseAllPagesInOrder) {
  unit_fixture f;
  auto r = f.run(cdb({0x5a, 0x08, 0x3f, 0, 0, 0, 0, 0x01, 0, 0}));
  ASSERT_TRUE(is_good(r));
  std::vector<int> pages;
  for (std::size_t pos = 8; pos + 2 <= r.data_in.size(); pos += 2 + u8(r.data_in, pos + 1))
    pages.push_back(u8(r.data_in, pos));
  EXPECT_EQ(pages, (std::vector<int>{0x01, 0x08, 0x0a, 0x1c}));
  EXPECT_EQ(load_u16(r.data_in, 0), r.data_in.size() - 2);
}

TEST(WindowsSet, PersistentReserveInReadKeysReservationCapabilities) {
  unit_fixture f;
  auto keys = f.run(cdb({0x5e, 0x00, 0, 0, 0, 0, 0, 0, 255, 0}));
  EXPECT_EQ(to_hex(keys.data_in), to_hex(hex("00 00 00 00 00 00 00 00")));
  auto res = f.run(cdb({0x5e, 0x01, 0, 0, 0, 0, 0, 0, 255, 0}));
  EXPECT_EQ(to_hex(res.data_in), to_hex(hex("00 00 00 00 00 00 00 00")));
  auto caps = f.run(cdb({0x5e, 0x02, 0, 0, 0, 0, 0, 0, 255, 0}));
  EXPECT_EQ(to_hex(caps.data_in), to_hex(hex("00 08 04 80 ea 01 00 00")));
  // A reservation Windows' cluster/MPIO code would place shows up in READ RESERVATION.
  bytes reg = hex("00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 2a 00 00 00 00 00 00 00 00");
  ASSERT_TRUE(is_good(f.run(cdb({0x5f, 0x00, 0, 0, 0, 0, 0, 0, 24, 0}), reg)));
  bytes rsv = hex("00 00 00 00 00 00 00 2a 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00");
  ASSERT_TRUE(is_good(f.run(cdb({0x5f, 0x01, 0x01, 0, 0, 0, 0, 0, 24, 0}), rsv)));
  auto held = f.run(cdb({0x5e, 0x01, 0, 0, 0, 0, 0, 0, 255, 0}));
  EXPECT_EQ(to_hex(held.data_in), to_hex(hex("00 00 00 01 00 00 00 10 00 00 00 00 00 00 00 2a "
                                             "00 00 00 00 00 01 00 00")));
}

TEST(WindowsSet, ReportTargetPortGroups) {
  unit_fixture f;
  auto r = f.run(cdb({0xa3, 0x0a, 0, 0, 0, 0, 0, 0, 0, 255, 0, 0}));
  EXPECT_EQ(to_hex(r.data_in), to_hex(hex("00 00 00 0c 80 01 00 01 00 00 00 01 00 00 00 01")));
  auto ext = f.run(cdb({0xa3, 0x2a, 0, 0, 0, 0, 0, 0, 0, 255, 0, 0}));  // extended header
  EXPECT_EQ(to_hex(ext.data_in),
            to_hex(hex("00 00 00 10 10 00 00 00 80 01 00 01 00 00 00 01 00 00 00 01")));
  auto cut = f.run(cdb({0xa3, 0x0a, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0}));
  EXPECT_EQ(to_hex(cut.data_in), to_hex(hex("00 00 00 0c")));
  // PARAMETER DATA FORMAT 010b is reserved.
  auto bad = f.run(cdb({0xa3, 0x4a, 0, 0, 0, 0, 0, 0, 0, 255, 0, 0}));
  EXPECT_TRUE(has_sense(bad, sense_key::illegal_request, asc::invalid_field_in_cdb));
  EXPECT_EQ(to_hex(byte_span(bad.sense).subspan(15, 3)), to_hex(hex("cf 00 01")));
  // SET TARGET PORT GROUPS (MAINTENANCE OUT) is not supported: explicit ALUA is not offered.
  auto stpg = f.run(cdb({0xa4, 0x0a, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0}));
  EXPECT_TRUE(has_sense(stpg, sense_key::illegal_request, asc::invalid_command_operation_code));
}

TEST(WindowsSet, ReportSupportedOpcodesListsReportTargetPortGroups) {
  unit_fixture f;
  auto r = f.run(cdb({0xa3, 0x0c, 0x02, 0xa3, 0x00, 0x0a, 0, 0, 1, 0, 0, 0}));
  ASSERT_TRUE(is_good(r));
  EXPECT_EQ(to_hex(byte_span(r.data_in).first(4)), to_hex(hex("00 03 00 0c")));
}

TEST(WindowsSet, SynchronizeCache10And16) {
  unit_fixture f;
  EXPECT_TRUE(is_good(f.run(cdb({0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0}))));
  EXPECT_TRUE(is_good(f.run(cdb({0x91, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0}))));
  EXPECT_TRUE(has_sense(f.run(cdb({0x35, 0, 0, 0, 0x10, 0, 0, 0, 0, 0})),
                        sense_key::illegal_request, asc::lba_out_of_range));
}

TEST(WindowsSet, UnmapDiscardsAndReadsZeros) {
  unit_fixture f;
  ASSERT_TRUE(is_good(f.run(cdb({0x2a, 0, 0, 0, 0, 8, 0, 0, 1, 0}), pattern(512, 7))));
  bytes params = hex("00 16 00 10 00 00 00 00 00 00 00 00 00 00 00 08 00 00 00 01 00 00 00 00");
  ASSERT_TRUE(is_good(f.run(cdb({0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0}), params)));
  auto r = f.run(cdb({0x28, 0, 0, 0, 0, 8, 0, 0, 1, 0}));
  EXPECT_EQ(to_hex(r.data_in), to_hex(bytes(512)));
}

TEST(WindowsSet, WriteSame10And16) {
  unit_fixture f;
  auto block = pattern(512, 3);
  ASSERT_TRUE(is_good(f.run(cdb({0x41, 0, 0, 0, 0, 16, 0, 0, 4, 0}), block)));
  ASSERT_TRUE(is_good(f.run(cdb({0x93, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0, 0, 2, 0, 0}), block)));
  for (int lba : {16, 19, 32, 33}) {
    auto r = f.run(cdb({0x28, 0, 0, 0, 0, lba, 0, 0, 1, 0}));
    EXPECT_EQ(to_hex(r.data_in), to_hex(block)) << lba;
  }
}

TEST(WindowsSet, TestUnitReadyAfterUnitAttention) {
  unit_fixture f;
  EXPECT_TRUE(is_good(f.run(cdb({0x00, 0, 0, 0, 0, 0}), {}, 1)));
  f.unit.lun_reset(2);
  // The first command reports the reset (29h/03h) and clears it; the next one is GOOD.
  EXPECT_TRUE(has_sense(f.run(cdb({0x00, 0, 0, 0, 0, 0}), {}, 1), sense_key::unit_attention,
                        asc::bus_device_reset));
  EXPECT_TRUE(is_good(f.run(cdb({0x00, 0, 0, 0, 0, 0}), {}, 1)));
}

}  // namespace
}  // namespace diskless::scsi
