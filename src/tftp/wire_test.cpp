#include "tftp/wire.hpp"

#include <gtest/gtest.h>

namespace diskless::tftp {
namespace {

bytes raw(std::string_view s) {
  return to_bytes(s);
}
// RRQ helper: opcode 1 then the given text (with embedded NULs).
bytes rrq(std::string_view body) {
  bytes b{std::byte{0}, std::byte{1}};
  auto t = to_bytes(body);
  b.insert(b.end(), t.begin(), t.end());
  return b;
}

using namespace std::string_view_literals;

TEST(TftpWire, ParsesPlainReadRequest) {
  auto p = parse_request(rrq("undionly.kpxe\0octet\0"sv));
  ASSERT_TRUE(p.req);
  EXPECT_EQ(p.req->op, opcode::rrq);
  EXPECT_EQ(p.req->filename, "undionly.kpxe");
  EXPECT_EQ(p.req->mode, transfer_mode::octet);
  EXPECT_TRUE(p.req->options.empty());
}

TEST(TftpWire, ModeAndOptionNamesAreCaseInsensitive) {
  auto p = parse_request(rrq("f\0NetASCII\0BlkSize\0001468\0TSIZE\0000\0"sv));
  ASSERT_TRUE(p.req);
  EXPECT_EQ(p.req->mode, transfer_mode::netascii);
  ASSERT_EQ(p.req->options.size(), 2u);
  EXPECT_EQ(p.req->options[0], (option{"blksize", "1468"}));
  EXPECT_EQ(p.req->options[1], (option{"tsize", "0"}));
}

TEST(TftpWire, WriteRequestIsParsed) {
  bytes b = from_hex("00 02");
  auto t = to_bytes("up\0octet\0"sv);
  b.insert(b.end(), t.begin(), t.end());
  auto p = parse_request(b);
  ASSERT_TRUE(p.req);
  EXPECT_EQ(p.req->op, opcode::wrq);
}

TEST(TftpWire, DuplicateOptionKeepsFirst) {
  auto p = parse_request(rrq("f\0octet\0blksize\000512\0blksize\0001024\0"sv));
  ASSERT_TRUE(p.req);
  ASSERT_EQ(p.req->options.size(), 1u);
  EXPECT_EQ(p.req->options[0].value, "512");
}

TEST(TftpWire, ZeroPaddingAfterOptionsIsTolerated) {
  auto p = parse_request(rrq("f\0octet\0tsize\0000\0\0\0\0\0"sv));
  ASSERT_TRUE(p.req);
  ASSERT_EQ(p.req->options.size(), 1u);
}

TEST(TftpWire, OptionWithoutValueIsIgnored) {
  auto p = parse_request(rrq("f\0octet\0tsize\0000\0blksize\0"sv));
  ASSERT_TRUE(p.req);
  ASSERT_EQ(p.req->options.size(), 1u);
  auto q = parse_request(rrq("f\0octet\0blksize\0001468"sv));  // value not terminated
  ASSERT_TRUE(q.req);
  EXPECT_TRUE(q.req->options.empty());
}

TEST(TftpWire, MalformedRequestsGetError4) {
  for (auto body : {"f"sv, "f\0oct"sv, "\0octet\0"sv, "f\0mail\0"sv, "f\0bogus\0"sv, ""sv}) {
    auto p = parse_request(rrq(body));
    EXPECT_FALSE(p.req) << body;
    EXPECT_EQ(p.error.code, error_code::illegal_operation) << body;
    EXPECT_FALSE(p.error.message.empty());
  }
  EXPECT_FALSE(parse_request(from_hex("00")).req);
  EXPECT_FALSE(parse_request(bytes{}).req);
  EXPECT_EQ(parse_request(from_hex("00 03 00 01")).error.code, error_code::illegal_operation);
  EXPECT_EQ(parse_request(from_hex("00 09 66 00 6f 00")).error.code, error_code::illegal_operation);
}

TEST(TftpWire, AckDecoding) {
  EXPECT_EQ(parse_ack(from_hex("00 04 ff fe")), 0xfffe);
  EXPECT_EQ(parse_ack(from_hex("00 04 00 00 00 00")), 0);  // padded
  EXPECT_FALSE(parse_ack(from_hex("00 04 00")));
  EXPECT_FALSE(parse_ack(from_hex("00 03 00 01")));
  EXPECT_FALSE(parse_ack(bytes{}));
}

TEST(TftpWire, ErrorDecoding) {
  auto e = parse_error(from_hex("00 05 00 01 6e 6f 00"));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, 1);
  EXPECT_EQ(e->message, "no");
  auto unterminated = parse_error(from_hex("00 05 00 08 61 62"));
  ASSERT_TRUE(unterminated);
  EXPECT_EQ(unterminated->message, "ab");
  EXPECT_FALSE(parse_error(from_hex("00 05 00")));
  EXPECT_FALSE(parse_error(from_hex("00 04 00 01")));
}

TEST(TftpWire, Encoders) {
  EXPECT_EQ(to_hex(encode_ack(0x1234)), to_hex(from_hex("00 04 12 34")));
  EXPECT_EQ(to_hex(encode_data(0, raw("ab"))), to_hex(from_hex("00 03 00 00 61 62")));
  auto h = data_header(0xfffe);
  EXPECT_EQ(to_hex(h), to_hex(from_hex("00 03 ff fe")));
  EXPECT_EQ(to_hex(encode_error(error_code::access_violation, "no")),
            to_hex(from_hex("00 05 00 02 6e 6f 00")));
  // A NUL inside the message would end it early on the wire: cut there.
  EXPECT_EQ(to_hex(encode_error(error_code::not_defined, "a\0b"sv)),
            to_hex(from_hex("00 05 00 00 61 00")));
  EXPECT_EQ(to_hex(encode_oack({{"tsize", "9"}})),
            to_hex(from_hex("00 06 74 73 69 7a 65 00 39 00")));
}

TEST(TftpWire, RequestRoundTrip) {
  request r;
  r.filename = "boot/x.ipxe";
  r.mode = transfer_mode::netascii;
  r.options = {{"blksize", "1468"}, {"windowsize", "16"}};
  auto p = parse_request(encode_request(r));
  ASSERT_TRUE(p.req);
  EXPECT_EQ(p.req->filename, r.filename);
  EXPECT_EQ(p.req->mode, r.mode);
  EXPECT_EQ(p.req->options, r.options);
}

TEST(TftpWire, PeekOpcode) {
  EXPECT_EQ(peek_opcode(from_hex("00 04")), 4);
  EXPECT_FALSE(peek_opcode(from_hex("00")));
}

TEST(TftpWire, ParseDecimal) {
  EXPECT_EQ(parse_decimal("0"), 0u);
  EXPECT_EQ(parse_decimal("65464"), 65464u);
  EXPECT_FALSE(parse_decimal(""));
  EXPECT_FALSE(parse_decimal("-1"));
  EXPECT_FALSE(parse_decimal("+1"));
  EXPECT_FALSE(parse_decimal("1x"));
  EXPECT_FALSE(parse_decimal("99999999999999999999"));
}

}  // namespace
}  // namespace diskless::tftp
