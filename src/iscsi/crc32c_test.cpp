#include "iscsi/crc32c.hpp"

#include <gtest/gtest.h>

namespace diskless::iscsi {
namespace {

// RFC 3720 Appendix B.4 test vectors (values as CRC integers).
TEST(crc32c, rfc3720_vectors) {
  bytes zeros(32, std::byte{0});
  EXPECT_EQ(crc32c(zeros), 0x8a9136aau);
  bytes ones(32, std::byte{0xff});
  EXPECT_EQ(crc32c(ones), 0x62a8ab43u);
  bytes inc(32), dec(32);
  for (int i = 0; i < 32; ++i) {
    inc[i] = std::byte(i);
    dec[i] = std::byte(31 - i);
  }
  EXPECT_EQ(crc32c(inc), 0x46dd794eu);
  EXPECT_EQ(crc32c(dec), 0x113fdb5cu);
}

TEST(crc32c, incremental_equals_whole) {
  bytes data(1000);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = std::byte(i * 7 + 3);
  auto whole = crc32c(data);
  for (std::size_t cut : {0ul, 1ul, 7ul, 8ul, 9ul, 500ul, 999ul, 1000ul}) {
    auto c = crc32c_update(crc32c(byte_span(data).subspan(0, cut)), byte_span(data).subspan(cut));
    EXPECT_EQ(c, whole) << cut;
  }
}

}  // namespace
}  // namespace diskless::iscsi
