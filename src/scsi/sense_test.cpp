#include "scsi/sense.hpp"

#include <gtest/gtest.h>

#include "scsi/test_support.hpp"

namespace diskless::scsi {
namespace {

TEST(Sense, FixedFormatLayout) {
  auto b =
      encode_fixed_sense(sense_data{sense_key::illegal_request, asc::lba_out_of_range, {}, {}});
  EXPECT_EQ(to_hex(b), to_hex(from_hex("70 00 05 00 00 00 00 0a 00 00 00 00 21 00 00 00 00 00")));
}

TEST(Sense, InformationSetsValid) {
  auto b = encode_fixed_sense(
      sense_data{sense_key::miscompare, asc::miscompare_during_verify, 0x1234, {}});
  EXPECT_EQ(to_hex(b), to_hex(from_hex("f0 00 0e 00 00 12 34 0a 00 00 00 00 1d 00 00 00 00 00")));
}

TEST(Sense, FieldPointerInCdbWithBit) {
  auto r = invalid_field_in_cdb(1, 7);
  EXPECT_EQ(r.st, status::check_condition);
  EXPECT_EQ(to_hex(r.sense),
            to_hex(from_hex("70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 cf 00 01")));
}

TEST(Sense, FieldPointerInParameterList) {
  auto r = invalid_field_in_parameter_list(300);
  EXPECT_EQ(to_hex(r.sense),
            to_hex(from_hex("70 00 05 00 00 00 00 0a 00 00 00 00 26 00 00 80 01 2c")));
}

TEST(Sense, Helpers) {
  EXPECT_TRUE(testing::has_sense(invalid_opcode(), sense_key::illegal_request,
                                 asc::invalid_command_operation_code));
  EXPECT_TRUE(testing::has_sense(write_protected(), sense_key::data_protect, asc::write_protected));
  EXPECT_TRUE(
      testing::has_sense(lba_out_of_range(), sense_key::illegal_request, asc::lba_out_of_range));
  auto g = good(from_hex("01 02"));
  EXPECT_EQ(g.st, status::good);
  EXPECT_TRUE(g.sense.empty());
  EXPECT_EQ(g.data_in.size(), 2u);
}

}  // namespace
}  // namespace diskless::scsi
