// disk_unit: dispatch, unit attentions, reservations as seen through execute(), and the SPC
// commands end to end against a memory_device.
#include "scsi/disk_unit.hpp"

#include <gtest/gtest.h>

#include "scsi/test_support.hpp"

namespace diskless::scsi {
namespace {

using namespace testing;

TEST(DiskUnit, ForHostIsIdentityForTheHostName) {
  auto a = disk_unit::options::for_host("pc01");
  auto c = disk_unit::options::for_host("pc02");
  EXPECT_EQ(a.id, identity_for("pc01"));
  EXPECT_NE(a.id.serial, c.id.serial);
  EXPECT_NE(a.id.naa, c.id.naa);
}

TEST(DiskUnit, NoIdentityGivesTheFixedDefault) {
  // options{} names no identity: naa 0 and the serial derived from it.
  unit_fixture f(2048, false, disk_unit::options{});
  EXPECT_EQ(f.unit.info().naa, 0u);
  EXPECT_EQ(f.unit.info().serial, "DL00000000000000");
}

TEST(DiskUnit, GivenIdentityIsReportedInVpd80And83) {
  disk_unit::options o;
  o.id = identity{"SERIAL-A", 0x0123456789abcdefULL};
  unit_fixture f(2048, false, o);
  auto s = f.run(cdb({0x12, 0x01, 0x80, 0, 64, 0}));
  ASSERT_TRUE(is_good(s));
  EXPECT_EQ(to_string(byte_span(s.data_in).subspan(4)), "SERIAL-A");
  auto d = f.run(cdb({0x12, 0x01, 0x83, 0, 255, 0}));
  ASSERT_TRUE(is_good(d));
  // First designator: NAA 3h + the low 60 bits.
  EXPECT_EQ(to_hex(byte_span(d.data_in).subspan(4, 12)), "010300083123456789abcdef");
}

TEST(DiskUnit, TestUnitReady) {
  unit_fixture f;
  EXPECT_TRUE(is_good(f.run(cdb({0x00, 0, 0, 0, 0, 0}))));
}

TEST(DiskUnit, UnknownOpcodeIsInvalidCommandOperationCode) {
  unit_fixture f;
  for (int opc : {0x01, 0x04, 0x3b, 0x3c, 0x4d, 0x8c, 0xa5, 0xc0, 0xff}) {
    auto r = f.run(cdb({opc, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
    EXPECT_TRUE(has_sense(r, sense_key::illegal_request, asc::invalid_command_operation_code))
        << std::hex << opc;
  }
}

TEST(DiskUnit, EmptyOrShortCdbIsInvalidOpcode) {
  unit_fixture f;
  EXPECT_TRUE(
      has_sense(f.run({}), sense_key::illegal_request, asc::invalid_command_operation_code));
  // READ(16) needs 16 bytes.
  EXPECT_TRUE(has_sense(f.run(cdb({0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0})), sense_key::illegal_request,
                        asc::invalid_command_operation_code));
}

TEST(DiskUnit, UnknownServiceActionIsInvalidFieldInCdb) {
  unit_fixture f;
  auto r = f.run(cdb({0x9e, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0}));
  EXPECT_TRUE(has_sense(r, sense_key::illegal_request, asc::invalid_field_in_cdb));
  auto r2 = f.run(cdb({0xa3, 0x05, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0}));
  EXPECT_TRUE(has_sense(r2, sense_key::illegal_request, asc::invalid_field_in_cdb));
}

TEST(DiskUnit, NacaBitIsRejected) {
  unit_fixture f;
  auto r = f.run(cdb({0x00, 0, 0, 0, 0, 0x04}));
  EXPECT_TRUE(has_sense(r, sense_key::illegal_request, asc::invalid_field_in_cdb));
  EXPECT_EQ(u8(r.sense, 15), 0xca);  // SKSV | C/D | BPV | bit 2
  EXPECT_EQ(u8(r.sense, 17), 5);
}

TEST(DiskUnit, LunResetRaisesUnitAttentionForOtherNexusesOnce) {
  unit_fixture f;
  EXPECT_TRUE(is_good(f.run(cdb({0x00, 0, 0, 0, 0, 0}), {}, 1)));
  EXPECT_TRUE(is_good(f.run(cdb({0x00, 0, 0, 0, 0, 0}), {}, 2)));
  f.unit.lun_reset(1);
  EXPECT_TRUE(is_good(f.run(cdb({0x00, 0, 0, 0, 0, 0}), {}, 1)));
  // INQUIRY does not report or clear it (SPC-4 §5.14).
  EXPECT_TRUE(is_good(f.run(cdb({0x12, 0, 0, 0, 36, 0}), {}, 2)));
  EXPECT_TRUE(has_sense(f.run(cdb({0x00, 0, 0, 0, 0, 0}), {}, 2), sense_key::unit_attention,
                        asc::bus_device_reset));
  EXPECT_TRUE(is_good(f.run(cdb({0x00, 0, 0, 0, 0, 0}), {}, 2)));
}

TEST(DiskUnit, RequestSenseReportsAndClearsUnitAttention) {
  unit_fixture f;
  f.run(cdb({0x00, 0, 0, 0, 0, 0}), {}, 2);
  f.unit.lun_reset(1);
  auto r = f.run(cdb({0x03, 0, 0, 0, 252, 0}), {}, 2);
  ASSERT_TRUE(is_good(r));
  EXPECT_EQ(to_hex(r.data_in),
            to_hex(hex("70 00 06 00 00 00 00 0a 00 00 00 00 29 03 00 00 00 00")));
  auto r2 = f.run(cdb({0x03, 0, 0, 0, 252, 0}), {}, 2);
  EXPECT_EQ(to_hex(r2.data_in),
            to_hex(hex("70 00 00 00 00 00 00 0a 00 00 00 00 00 00 00 00 00 00")));
  EXPECT_TRUE(is_good(f.run(cdb({0x00, 0, 0, 0, 0, 0}), {}, 2)));
}

TEST(DiskUnit, RequestSenseDescriptorFormatRefusedAndTruncated) {
  unit_fixture f;
  EXPECT_TRUE(has_sense(f.run(cdb({0x03, 0x01, 0, 0, 252, 0})), sense_key::illegal_request,
                        asc::invalid_field_in_cdb));
  auto r = f.run(cdb({0x03, 0, 0, 0, 8, 0}));
  EXPECT_EQ(r.data_in.size(), 8u);
}

TEST(DiskUnit, PowerOnUnitAttentionWhenAsked) {
  auto o = disk_unit::options::for_host("pc01");
  o.report_power_on = true;
  unit_fixture f(2048, false, o);
  EXPECT_TRUE(has_sense(f.run(cdb({0x00, 0, 0, 0, 0, 0}), {}, 7), sense_key::unit_attention,
                        asc::power_on_occurred));
  EXPECT_TRUE(is_good(f.run(cdb({0x00, 0, 0, 0, 0, 0}), {}, 7)));
  // A lost nexus that comes back is new again.
  f.unit.nexus_lost(7);
  EXPECT_TRUE(has_sense(f.run(cdb({0x00, 0, 0, 0, 0, 0}), {}, 7), sense_key::unit_attention,
                        asc::power_on_occurred));
}

TEST(DiskUnit, Reserve6ConflictsForOtherNexus) {
  unit_fixture f;
  EXPECT_TRUE(is_good(f.run(cdb({0x16, 0, 0, 0, 0, 0}), {}, 1)));
  EXPECT_TRUE(is_good(f.run(cdb({0x16, 0, 0, 0, 0, 0}), {}, 1)));  // again: fine
  EXPECT_EQ(f.run(cdb({0x16, 0, 0, 0, 0, 0}), {}, 2).st, status::reservation_conflict);
  EXPECT_EQ(f.run(cdb({0x1a, 0, 0x3f, 0, 192, 0}), {}, 2).st, status::reservation_conflict);
  EXPECT_EQ(f.run(cdb({0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0}), {}, 2).st, status::reservation_conflict);
  EXPECT_TRUE(is_good(f.run(cdb({0x12, 0, 0, 0, 36, 0}), {}, 2)));
  EXPECT_TRUE(is_good(f.run(cdb({0x17, 0, 0, 0, 0, 0}), {}, 2)));  // no-op release
  EXPECT_TRUE(is_good(f.run(cdb({0x1a, 0, 0x3f, 0, 192, 0}), {}, 1)));
  EXPECT_TRUE(is_good(f.run(cdb({0x17, 0, 0, 0, 0, 0}), {}, 1)));
  EXPECT_TRUE(is_good(f.run(cdb({0x16, 0, 0, 0, 0, 0}), {}, 2)));
  // A LUN reset ends it (and tells nexus 1).
  f.unit.lun_reset(2);
  EXPECT_TRUE(is_good(f.run(cdb({0x16, 0, 0, 0, 0, 0}), {}, 2)));
  EXPECT_TRUE(has_sense(f.run(cdb({0x00, 0, 0, 0, 0, 0}), {}, 1), sense_key::unit_attention,
                        asc::bus_device_reset));
  EXPECT_EQ(f.run(cdb({0x00, 0, 0, 0, 0, 0}), {}, 1).st, status::reservation_conflict);
  // Nexus loss ends it too.
  f.unit.nexus_lost(2);
  EXPECT_TRUE(is_good(f.run(cdb({0x00, 0, 0, 0, 0, 0}), {}, 1)));
}

TEST(DiskUnit, Reserve6ExtentAndThirdPartyRefused) {
  unit_fixture f;
  EXPECT_TRUE(has_sense(f.run(cdb({0x16, 0x01, 0, 0, 0, 0})), sense_key::illegal_request,
                        asc::invalid_field_in_cdb));
  EXPECT_TRUE(has_sense(f.run(cdb({0x16, 0x10, 0, 0, 0, 0})), sense_key::illegal_request,
                        asc::invalid_field_in_cdb));
}

TEST(DiskUnit, InquiryThroughUnit) {
  unit_fixture f;
  auto r = f.run(cdb({0x12, 0, 0, 0, 96, 0}));
  ASSERT_TRUE(is_good(r));
  ASSERT_EQ(r.data_in.size(), 96u);
  EXPECT_EQ(to_string(byte_span(r.data_in).subspan(8, 8)), "DISKLESS");
  auto s = f.run(cdb({0x12, 1, 0x80, 0, 255, 0}));
  ASSERT_TRUE(is_good(s));
  EXPECT_EQ(to_string(byte_span(s.data_in).subspan(4)), f.unit.info().serial);
}

TEST(DiskUnit, ReadOnlyDeviceMakesReadOnlyUnit) {
  auto dev = std::make_shared<storage::memory_device>(1 << 20, true);
  io_pool pool(0, [](io_pool::task t) { t(); });
  disk_unit u(dev, pool, disk_unit::options::for_host("x"));
  EXPECT_TRUE(u.info().read_only);
  EXPECT_EQ(u.info().blocks, 2048u);
}

TEST(DiskUnit, CompletionsAfterDestructionDoNotTouchTheUnit) {
  // A queued poster: completions run after the unit is gone.
  std::vector<io_pool::task> queue;
  io_pool pool(0, [&](io_pool::task t) { queue.push_back(std::move(t)); });
  auto dev = std::make_shared<storage::memory_device>(1 << 20);
  std::optional<task_result> out;
  {
    disk_unit u(dev, pool, disk_unit::options::for_host("x"));
    task t;
    t.cdb = cdb({0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0});
    u.execute(std::move(t), [&](task_result r) { out = std::move(r); });
    EXPECT_FALSE(out.has_value());
  }
  for (auto& t : queue) t();
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->data_in.size(), 512u);
}

}  // namespace
}  // namespace diskless::scsi
