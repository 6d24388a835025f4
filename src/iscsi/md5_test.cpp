#include "iscsi/md5.hpp"

#include <gtest/gtest.h>

namespace diskless::iscsi {
namespace {

std::string hex(const md5::digest& d) {
  return to_hex(d);
}

// RFC 1321 §A.5 test suite.
TEST(md5, rfc1321_suite) {
  EXPECT_EQ(hex(md5::of(to_bytes(""))), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(hex(md5::of(to_bytes("a"))), "0cc175b9c0f1b6a831c399e269772661");
  EXPECT_EQ(hex(md5::of(to_bytes("abc"))), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(hex(md5::of(to_bytes("message digest"))), "f96b697d7cb7938d525a2f31aaf161d0");
  EXPECT_EQ(hex(md5::of(to_bytes("abcdefghijklmnopqrstuvwxyz"))),
            "c3fcd3d76192e4007dfb496cca67e13b");
  EXPECT_EQ(
      hex(md5::of(to_bytes("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"))),
      "d174ab98d277d9f5a5611c2c9f419d9f");
  EXPECT_EQ(hex(md5::of(to_bytes("1234567890123456789012345678901234567890123456789012345678901234"
                                 "5678901234567890"))),
            "57edf4a22be3c955ac49da2e2107b67a");
}

TEST(md5, split_updates) {
  auto data = to_bytes(std::string(200, 'x') + "tail");
  auto whole = md5::of(data);
  for (std::size_t cut = 0; cut <= data.size(); cut += 13) {
    md5 m;
    m.update(byte_span(data).subspan(0, cut)).update(byte_span(data).subspan(cut));
    EXPECT_EQ(m.finish(), whole);
  }
}

}  // namespace
}  // namespace diskless::iscsi
