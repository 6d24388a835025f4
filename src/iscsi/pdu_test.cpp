#include "iscsi/pdu.hpp"

#include <gtest/gtest.h>

namespace diskless::iscsi {
namespace {

out_pdu sample(std::size_t data_len) {
  out_pdu o;
  o.set_opcode(opcode::scsi_command);
  o.h().set_u8(1, 0xa0);
  o.h().set_u32(16, 0x12345678);
  bytes d(data_len);
  for (std::size_t i = 0; i < data_len; ++i) d[i] = std::byte(i + 1);
  if (data_len) o.attach(std::move(d));
  return o;
}

// Feeds `wire` cut at every byte offset (two pieces) and checks the PDU comes out whole.
void expect_every_split(const bytes& wire, const out_pdu& want, framer::limits l) {
  for (std::size_t cut = 0; cut <= wire.size(); ++cut) {
    framer f(l);
    byte_span a = byte_span(wire).subspan(0, cut), b = byte_span(wire).subspan(cut);
    auto st = f.feed(a);
    if (cut < wire.size()) {
      ASSERT_EQ(st, framer::status::need_more) << cut;
      ASSERT_TRUE(a.empty());
      st = f.feed(b);
    }
    ASSERT_EQ(st, framer::status::pdu) << cut;
    auto p = f.take();
    EXPECT_FALSE(f.data_digest_failed());
    EXPECT_EQ(p.bhs, want.bhs);
    EXPECT_TRUE(std::equal(p.data.begin(), p.data.end(), want.data().begin(), want.data().end()));
    EXPECT_EQ(p.itt(), 0x12345678u);
    EXPECT_EQ(p.op(), opcode::scsi_command);
  }
}

TEST(pdu, framing_split_at_every_offset) {
  for (std::size_t len : {0ul, 1ul, 3ul, 4ul, 5ul, 100ul}) {
    auto o = sample(len);
    expect_every_split(serialize(o), o, {});
    expect_every_split(serialize(o, true, true), o, {8192, true, true});
    expect_every_split(serialize(o, true, false), o, {8192, true, false});
  }
}

TEST(pdu, byte_by_byte_and_back_to_back) {
  auto o1 = sample(5), o2 = sample(0);
  o2.h().set_u32(16, 0x12345678);
  bytes wire = serialize(o1, true, true);
  auto w2 = serialize(o2, true, true);
  wire.insert(wire.end(), w2.begin(), w2.end());
  framer f({8192, true, true});
  int pdus = 0;
  for (std::size_t i = 0; i < wire.size(); ++i) {
    byte_span one = byte_span(wire).subspan(i, 1);
    auto st = f.feed(one);
    ASSERT_NE(st, framer::status::error);
    if (st == framer::status::pdu) {
      ++pdus;
      f.take();
    }
  }
  EXPECT_EQ(pdus, 2);
}

TEST(pdu, data_length_checked_before_allocation) {
  out_pdu o = sample(0);
  store_u24(o.bhs, 5, 0xffffff);  // 16 MiB claimed, nothing sent
  bytes wire(o.bhs.begin(), o.bhs.end());
  framer f({8192, false, false});
  byte_span in(wire);
  EXPECT_EQ(f.feed(in), framer::status::error);
  EXPECT_NE(f.error_message().find("exceeds"), std::string::npos);
  // The framer stays broken.
  byte_span more(wire);
  EXPECT_EQ(f.feed(more), framer::status::error);
}

TEST(pdu, header_digest_mismatch_is_an_error) {
  auto wire = serialize(sample(8), true, false);
  wire[50] ^= std::byte{1};
  framer f({8192, true, false});
  byte_span in(wire);
  EXPECT_EQ(f.feed(in), framer::status::error);
  EXPECT_TRUE(f.header_digest_error());
}

TEST(pdu, data_digest_mismatch_is_flagged) {
  auto wire = serialize(sample(8), false, true);
  wire[48] ^= std::byte{1};
  framer f({8192, false, true});
  byte_span in(wire);
  EXPECT_EQ(f.feed(in), framer::status::pdu);
  f.take();
  EXPECT_TRUE(f.data_digest_failed());
}

TEST(pdu, ahs_is_read) {
  out_pdu o = sample(4);
  o.bhs[4] = std::byte{2};  // 8 bytes of AHS
  bytes wire(o.bhs.begin(), o.bhs.end());
  bytes ahs = from_hex("0005 01 00 11 22 33 44");
  wire.insert(wire.end(), ahs.begin(), ahs.end());
  auto d = o.data();
  wire.insert(wire.end(), d.begin(), d.end());
  framer f;
  byte_span in(wire);
  ASSERT_EQ(f.feed(in), framer::status::pdu);
  auto p = f.take();
  EXPECT_EQ(p.ahs, ahs);
  EXPECT_EQ(p.data.size(), 4u);
}

TEST(pdu, lun_codec) {
  EXPECT_EQ(decode_lun(0), 0u);
  EXPECT_EQ(decode_lun(encode_lun(5)), 5u);
  EXPECT_EQ(decode_lun(encode_lun(300)), 300u);
  EXPECT_EQ(encode_lun(1), 0x0001000000000000ull);
  EXPECT_EQ(decode_lun(0xc000000000000000ull), 0xffffffffffffffffull);
}

TEST(pdu, frame_pads_and_digests) {
  auto o = sample(5);
  auto wire = serialize(o, true, true);
  EXPECT_EQ(wire.size(), 48u + 4 + 5 + 3 + 4);
  EXPECT_EQ(wire[48 + 4 + 5], std::byte{0});
}

}  // namespace
}  // namespace diskless::iscsi
