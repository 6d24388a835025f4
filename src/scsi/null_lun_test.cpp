#include "scsi/null_lun.hpp"

#include <gtest/gtest.h>

#include "util/bytes.hpp"

namespace diskless::scsi {
namespace {

task make(bytes cdb) {
  task t;
  t.lun = 3;
  t.cdb = std::move(cdb);
  return t;
}

TEST(NullLun, InquiryReportsQualifier3) {
  auto r = execute_null_lun(make(from_hex("12 00 00 00 24 00")));
  EXPECT_EQ(r.st, status::good);
  EXPECT_TRUE(r.sense.empty());
  byte_span d = r.data_in;
  ASSERT_EQ(d.size(), 36u);
  EXPECT_EQ(to_hex(bytes(d.begin(), d.begin() + 5)), to_hex(from_hex("7f 00 06 02 1f")));
}

TEST(NullLun, InquiryTruncatedToAllocationLength) {
  auto r = execute_null_lun(make(from_hex("12 00 00 00 05 00")));
  ASSERT_EQ(r.data_in.size(), 5u);
  EXPECT_EQ(execute_null_lun(make(from_hex("12 00 00 00 00 00"))).data_in.size(), 0u);
}

TEST(NullLun, OtherCommandsAreLunNotSupported) {
  for (auto cdb : {from_hex("00 00 00 00 00 00"), from_hex("03 00 00 00 12 00"),
                   from_hex("28 00 00 00 00 00 00 00 01 00"), bytes{}}) {
    auto r = execute_null_lun(make(cdb));
    EXPECT_EQ(r.st, status::check_condition);
    EXPECT_EQ(to_hex(r.sense),
              to_hex(from_hex("70 00 05 00 00 00 00 0a 00 00 00 00 25 00 00 00 00 00")));
  }
}

}  // namespace
}  // namespace diskless::scsi
