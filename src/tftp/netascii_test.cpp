#include "tftp/netascii.hpp"

#include <gtest/gtest.h>

#include <string>

namespace diskless::tftp {
namespace {

using namespace std::string_literals;

TEST(TftpNetascii, Converts) {
  EXPECT_EQ(to_netascii("a\nb\rc"), "a\r\nb\r\0c"s);
  EXPECT_EQ(to_netascii("\r\n"), "\r\0\r\n"s);
  EXPECT_EQ(to_netascii(""), "");
}

TEST(TftpNetascii, SizeCountsCrAndLf) {
  EXPECT_EQ(netascii_size(to_bytes("a\nb\rc")), 7u);
  EXPECT_EQ(netascii_size(to_bytes("")), 0u);
  EXPECT_EQ(netascii_size(to_bytes("\r\n\r\n")), 8u);
}

// Encodes `in` in output pieces of `step` bytes (the way blocks are filled): the concatenation
// must equal the whole conversion, whatever byte the pieces split on.
std::string in_pieces(const std::string& in, std::size_t step) {
  netascii_encoder enc;
  std::string all;
  auto src = to_bytes(in);
  std::size_t used = 0;
  for (int guard = 0; guard < 100000; ++guard) {
    diskless::bytes out;
    used += enc.encode(byte_span(src).subspan(used), out, step);
    if (out.empty()) break;
    EXPECT_LE(out.size(), step);
    all += to_string(out);
  }
  return all;
}

TEST(TftpNetascii, EncoderMatchesReferenceForEveryPieceSize) {
  const std::string text = "a\rb\nc\r\n\r\r\n\nxyz\r";
  for (std::size_t step = 1; step <= text.size() * 2 + 1; ++step)
    EXPECT_EQ(in_pieces(text, step), to_netascii(text)) << "step " << step;
}

// A CR as the last byte of a block: the block ends with CR and the next one starts with its
// NUL (and the same for LF's CR LF).
TEST(TftpNetascii, CrAtTheEndOfABlockOwesItsSecondByte) {
  netascii_encoder enc;
  auto src = to_bytes("abc\rd");
  diskless::bytes b1;
  EXPECT_EQ(enc.encode(src, b1, 4), 4u);  // "abc" and the CR consumed, 4 bytes out
  EXPECT_EQ(to_string(b1), "abc\r");
  EXPECT_TRUE(enc.owes());
  diskless::bytes b2;
  EXPECT_EQ(enc.encode(byte_span(src).subspan(4), b2, 4), 1u);
  EXPECT_EQ(to_string(b2), "\0d"s);
  EXPECT_FALSE(enc.owes());

  netascii_encoder lf;
  auto src2 = to_bytes("ab\n");
  diskless::bytes c1, c2;
  EXPECT_EQ(lf.encode(src2, c1, 3), 3u);
  EXPECT_EQ(to_string(c1), "ab\r");
  EXPECT_TRUE(lf.flush(c2, 3));
  EXPECT_EQ(to_string(c2), "\n");
}

TEST(TftpNetascii, ZeroLimitConsumesNothing) {
  netascii_encoder enc;
  diskless::bytes out;
  EXPECT_EQ(enc.encode(to_bytes("\n"), out, 0), 0u);
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(enc.owes());
}

}  // namespace
}  // namespace diskless::tftp
