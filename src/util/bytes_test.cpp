#include "util/bytes.hpp"

#include <gtest/gtest.h>

namespace diskless {
namespace {

TEST(ByteReader, ReadsBigEndianValues) {
  auto data = from_hex("01 0203 040506 0708090a 0b0c0d0e0f10 1112131415161718");
  byte_reader r(data);
  EXPECT_EQ(r.u8(), 0x01);
  EXPECT_EQ(r.u16(), 0x0203);
  EXPECT_EQ(r.u24(), 0x040506u);
  EXPECT_EQ(r.u32(), 0x0708090au);
  EXPECT_EQ(r.u48(), 0x0b0c0d0e0f10u);
  EXPECT_EQ(r.u64(), 0x1112131415161718u);
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.empty());
}

TEST(ByteReader, ReadsLittleEndianValues) {
  auto data = from_hex("0102 03040506 0708090a0b0c0d0e");
  byte_reader r(data);
  EXPECT_EQ(r.u16le(), 0x0201);
  EXPECT_EQ(r.u32le(), 0x06050403u);
  EXPECT_EQ(r.u64le(), 0x0e0d0c0b0a090807u);
  EXPECT_TRUE(r.ok());
}

TEST(ByteReader, ShortReadIsStickyAndReturnsZero) {
  auto data = from_hex("0102 03");
  byte_reader r(data);
  EXPECT_EQ(r.u16(), 0x0102);
  EXPECT_EQ(r.u16(), 0);  // only one byte left
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.u8(), 0);  // sticky: the byte that is there is not returned any more
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_TRUE(r.take(1).empty());
}

TEST(ByteReader, CStringNeedsTerminator) {
  auto good = to_bytes(std::string("abc\0def", 7));
  byte_reader r(good);
  EXPECT_EQ(r.cstring(), "abc");
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.cstring(), "");
  EXPECT_FALSE(r.ok());  // "def" has no NUL
}

TEST(ByteReader, SubReaderAdvancesParent) {
  auto data = from_hex("aa bb cc dd");
  byte_reader r(data);
  auto sub = r.sub(2);
  EXPECT_EQ(sub.u16(), 0xaabb);
  EXPECT_EQ(sub.u8(), 0);
  EXPECT_FALSE(sub.ok());
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.u16(), 0xccdd);
  auto bad = r.sub(1);
  EXPECT_FALSE(bad.ok());
  EXPECT_FALSE(r.ok());
}

TEST(ByteWriter, WritesAndPatches) {
  byte_writer w;
  w.u8(1).u16(0x0203).u24(0x040506).u32(0x0708090a).u48(0x0b0c0d0e0f10).u64(0x1112131415161718);
  w.u16le(0x0201).cstring("hi").zeros(2);
  EXPECT_EQ(to_hex(w.data()),
            "0102030405060708090a0b0c0d0e0f1011121314151617180102686900"
            "0000");
  EXPECT_TRUE(w.put_u16_at(0, 0xffee));
  EXPECT_FALSE(w.put_u32_at(w.size() - 2, 1));  // out of range: ignored
  EXPECT_EQ(to_hex(std::span(w.data()).first(3)), "ffee03");
}

TEST(Bytes, FixedPositionHelpersAreBoundsChecked) {
  bytes b(4);
  store_u32(b, 0, 0xdeadbeef);
  EXPECT_EQ(load_u32(b, 0), 0xdeadbeefu);
  EXPECT_EQ(load_u16(b, 3), 0);  // would run past the end
  store_u16(b, 3, 0x1234);       // ignored
  EXPECT_EQ(load_u32(b, 0), 0xdeadbeefu);
}

TEST(Bytes, HexRoundTripAndRejects) {
  EXPECT_EQ(to_hex(from_hex("DE:ad be\nEF")), "deadbeef");
  EXPECT_TRUE(from_hex("abc").empty());  // odd number of digits
  EXPECT_TRUE(from_hex("zz").empty());   // not hex
}

}  // namespace
}  // namespace diskless
