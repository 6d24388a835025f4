#include "dhcp/wire.hpp"

#include <gtest/gtest.h>

namespace diskless::dhcp {
namespace {

packet sample() {
  packet p;
  p.xid = 0x12345678;
  p.secs = 4;
  p.flags = broadcast_flag;
  p.set_mac(*mac_address::parse("52:54:00:12:34:01"));
  p.set(opt::message_type, encode_u8(1));
  p.set(opt::vendor_class, to_bytes("PXEClient:Arch:00000:UNDI:002001"));
  p.set(opt::client_arch, encode_u16(0));
  return p;
}

// A minimal request: header + cookie + the given option bytes, no padding.
bytes raw(std::string_view options_hex) {
  byte_writer w;
  w.u8(1).u8(1).u8(6).u8(0).u32(0xdeadbeef).u16(0).u16(0);
  w.zeros(16);                                   // ciaddr yiaddr siaddr giaddr
  w.append(from_hex("525400123401")).zeros(10);  // chaddr
  w.zeros(64 + 128);                             // sname, file
  w.u32(magic_cookie);
  w.append(from_hex(options_hex));
  return w.take();
}

TEST(DhcpWire, RoundTrip) {
  auto p = sample();
  p.ciaddr = ipv4_address(0x0a000002);
  p.file = "undionly.kpxe";
  p.sname = "server";
  auto b = serialize(p);
  EXPECT_GE(b.size(), 300u);
  auto q = parse(b);
  ASSERT_TRUE(q) << q.error_message();
  EXPECT_EQ(*q, p);
  EXPECT_EQ(q->type(), message_type::discover);
  EXPECT_EQ(q->mac().str(), "52:54:00:12:34:01");
  EXPECT_TRUE(q->broadcast());
}

TEST(DhcpWire, LongOptionSplitAndConcatenated) {  // RFC 3396
  auto p = sample();
  bytes big(600, std::byte{0x41});
  p.set(opt::vendor_specific, big);
  auto b = serialize(p);
  auto q = parse(b);
  ASSERT_TRUE(q);
  EXPECT_EQ(*q->find(opt::vendor_specific), big);
}

TEST(DhcpWire, MinimalPacketParses) {
  auto q = parse(raw("350101 ff"));
  ASSERT_TRUE(q) << q.error_message();
  EXPECT_EQ(q->type(), message_type::discover);
  EXPECT_EQ(q->xid, 0xdeadbeefu);
}

TEST(DhcpWire, PadsAndTrailingBytesAfterEnd) {
  auto q = parse(raw("00 00 350103 00 ff 00 00 12 34"));
  ASSERT_TRUE(q);
  EXPECT_EQ(q->type(), message_type::request);
}

TEST(DhcpWire, TruncatedHeaderDropped) {
  auto b = raw("350101ff");
  for (std::size_t n : {0ul, 1ul, 100ul, 235ul, 236ul, 239ul}) {
    auto q = parse(byte_span(b).first(n));
    EXPECT_FALSE(q) << n;
    if (!q) {
      EXPECT_EQ(q.error_message(), "truncated header");
    }
  }
}

TEST(DhcpWire, BadMagicDropped) {
  auto b = raw("350101ff");
  b[236] = std::byte{0x64};
  auto q = parse(b);
  ASSERT_FALSE(q);
  EXPECT_EQ(q.error_message(), "bad magic cookie");
}

TEST(DhcpWire, OptionPastEndDropped) {
  auto q = parse(raw("350101 3c 10 505845"));  // option 60 claims 16 bytes, 3 left
  ASSERT_FALSE(q);
  EXPECT_EQ(q.error_message(), "option runs past the end of options");
  EXPECT_FALSE(parse(raw("350101 3c")));  // code without a length byte
}

TEST(DhcpWire, MissingEndDropped) {
  auto q = parse(raw("350101"));
  ASSERT_FALSE(q);
  EXPECT_EQ(q.error_message(), "missing end option in options");
  EXPECT_FALSE(parse(raw("")));
}

TEST(DhcpWire, BadOpAndHlenDropped) {
  auto b = raw("350101ff");
  b[0] = std::byte{3};
  EXPECT_FALSE(parse(b));
  b = raw("350101ff");
  b[2] = std::byte{17};
  EXPECT_FALSE(parse(b));
}

TEST(DhcpWire, OptionOverloadReadsFileAndSname) {  // RFC 2132 §9.3, RFC 2131 §4.1 order
  auto b = raw("350101 340103 ff");
  // file field (offset 108) holds option 60 "PXE" + end; sname (offset 44) holds 93=0007 + end.
  auto file_opts = from_hex("3c03505845ff");
  auto sname_opts = from_hex("5d020007ff");
  std::copy(file_opts.begin(), file_opts.end(), b.begin() + 108);
  std::copy(sname_opts.begin(), sname_opts.end(), b.begin() + 44);
  auto q = parse(b);
  ASSERT_TRUE(q) << q.error_message();
  EXPECT_EQ(q->get_string(opt::vendor_class), "PXE");
  EXPECT_EQ(q->get_u16(opt::client_arch), 7);
  EXPECT_TRUE(q->file.empty());
  EXPECT_FALSE(q->has(opt::overload));
}

TEST(DhcpWire, OptionOverloadMalformedDropped) {
  // Bad overload value.
  EXPECT_FALSE(parse(raw("350101 340104 ff")));
  EXPECT_FALSE(parse(raw("350101 3402 0101 ff")));
  // Overloaded file field without an end option (all zero = pads only).
  auto q = parse(raw("350101 340101 ff"));
  ASSERT_FALSE(q);
  EXPECT_EQ(q.error_message(), "missing end option in file field");
  // Overloaded sname field with an option running past it.
  auto b = raw("350101 340102 ff");
  b[44 + 62] = std::byte{60};
  b[44 + 63] = std::byte{9};
  EXPECT_FALSE(parse(b));
}

TEST(DhcpWire, OptionOverloadOnlyInOptionsField) {  // RFC 2132 §9.3
  // The file field (offset 108) is overloaded and itself holds option 52: the packet is
  // malformed. Accepting it used to yield a packet whose serialized form (option 52 back in the
  // options field, nothing in file) no longer parsed.
  auto b = raw("350101 340101 ff");
  auto file_opts = from_hex("340102ff");
  std::copy(file_opts.begin(), file_opts.end(), b.begin() + 108);
  auto q = parse(b);
  ASSERT_FALSE(q);
  EXPECT_EQ(q.error_message(), "option overload inside the file field");
  // The same in an overloaded sname field (offset 44).
  b = raw("350101 340103 ff");
  auto end_only = from_hex("ff");
  std::copy(end_only.begin(), end_only.end(), b.begin() + 108);
  std::copy(file_opts.begin(), file_opts.end(), b.begin() + 44);
  q = parse(b);
  ASSERT_FALSE(q);
  EXPECT_EQ(q.error_message(), "option overload inside the sname field");
}

TEST(DhcpWire, RepeatedOptionsConcatenated) {  // RFC 3396 §5
  auto q = parse(raw("350101 3c03505845 3c03436c69 ff"));
  ASSERT_TRUE(q);
  EXPECT_EQ(q->get_string(opt::vendor_class), "PXECli");
}

TEST(DhcpWire, LongFileNameTruncatedAndTerminated) {
  auto p = sample();
  p.file = std::string(200, 'x');
  auto b = serialize(p);
  EXPECT_EQ(b[108 + 127], std::byte{0});
  auto q = parse(b);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->file.size(), 127u);
}

TEST(DhcpWire, TypedGetters) {
  auto q = parse(raw("350108 3604 0a000001 3302 0102 5d03 000700 ff"));
  ASSERT_TRUE(q);
  EXPECT_EQ(q->type(), message_type::inform);
  EXPECT_EQ(q->get_ip(opt::server_id), ipv4_address(0x0a000001));
  EXPECT_FALSE(q->get_u32(opt::lease_time));  // wrong length
  EXPECT_EQ(q->get_u16(opt::client_arch), 7);
  EXPECT_FALSE(parse(raw("350109ff"))->type());  // 9 is not a DHCP message type
}

TEST(DhcpOptions, SubOptions) {
  auto v = encode_sub_options({{6, encode_u8(8)}}, true);
  EXPECT_EQ(to_hex(v), "060108ff");
  auto d = decode_sub_options(v);
  ASSERT_TRUE(d);
  ASSERT_EQ(d->size(), 1u);
  EXPECT_EQ((*d)[0].code, 6);
  EXPECT_FALSE(decode_sub_options(from_hex("0605")));
}

}  // namespace
}  // namespace diskless::dhcp
