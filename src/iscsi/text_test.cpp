#include "iscsi/text.hpp"

#include <gtest/gtest.h>

namespace diskless::iscsi {
namespace {

bytes raw(std::string_view s) {
  return to_bytes(s);
}

TEST(text, parse_and_encode) {
  auto kv = parse_text(raw(std::string_view("A=1\0B=x,y\0\0", 11)));
  ASSERT_TRUE(kv);
  ASSERT_EQ(kv->size(), 2u);
  EXPECT_EQ((*kv)[1].second, "x,y");
  EXPECT_EQ(to_string(encode_text(*kv)), std::string("A=1\0B=x,y\0", 10));
  EXPECT_TRUE(parse_text(raw("NoNul=1")));                          // tolerated
  EXPECT_FALSE(parse_text(raw(std::string_view("novalue\0", 8))));  // no '='
  EXPECT_FALSE(parse_text(raw(std::string(64, 'K') + "=1")));       // key too long
  EXPECT_FALSE(parse_text(raw("bad key=1")));
  EXPECT_FALSE(parse_text(raw("K=" + std::string(8193, 'v'))));
}

TEST(text, binary_values) {
  EXPECT_EQ(*decode_binary("0x0aff"), from_hex("0aff"));
  EXPECT_EQ(*decode_binary("0bAQID"), from_hex("010203"));
  EXPECT_FALSE(decode_binary("0x0"));
  EXPECT_FALSE(decode_binary("0xzz"));
  EXPECT_FALSE(decode_binary("1234"));
  EXPECT_FALSE(decode_binary("0b!!"));
  EXPECT_EQ(encode_hex(from_hex("01ab")), "0x01ab");
}

std::string answer(const key_values& reply, std::string_view k) {
  auto* v = find_key(reply, k);
  return v ? *v : "<none>";
}

TEST(text, negotiation_rules) {
  negotiator n({}, false);
  key_values reply;
  key_values offer = {{"HeaderDigest", "CRC32C,None"},
                      {"DataDigest", "None,CRC32C"},
                      {"MaxConnections", "4"},
                      {"InitialR2T", "No"},
                      {"ImmediateData", "Yes"},
                      {"MaxRecvDataSegmentLength", "65536"},
                      {"MaxBurstLength", "16776192"},
                      {"FirstBurstLength", "8192"},
                      {"DefaultTime2Wait", "0"},
                      {"DefaultTime2Retain", "60"},
                      {"MaxOutstandingR2T", "100"},
                      {"DataPDUInOrder", "No"},
                      {"DataSequenceInOrder", "No"},
                      {"ErrorRecoveryLevel", "2"},
                      {"IFMarker", "No"},
                      {"OFMarkInt", "1"},
                      {"iSCSIProtocolLevel", "2"},
                      {"X-com.example.Foo", "1"},
                      {"Unknown", "1"}};
  ASSERT_EQ(n.negotiate(offer, reply), negotiator::outcome::ok);
  EXPECT_EQ(answer(reply, "HeaderDigest"), "CRC32C");  // first acceptable of the list
  EXPECT_EQ(answer(reply, "DataDigest"), "None");
  EXPECT_EQ(answer(reply, "MaxConnections"), "1");                 // min
  EXPECT_EQ(answer(reply, "InitialR2T"), "No");                    // OR with our No
  EXPECT_EQ(answer(reply, "ImmediateData"), "Yes");                // AND with our Yes
  EXPECT_EQ(answer(reply, "MaxRecvDataSegmentLength"), "<none>");  // declarative
  EXPECT_EQ(answer(reply, "MaxBurstLength"), "1048576");           // min with ours
  EXPECT_EQ(answer(reply, "FirstBurstLength"), "8192");
  EXPECT_EQ(answer(reply, "DefaultTime2Wait"), "2");     // max
  EXPECT_EQ(answer(reply, "DefaultTime2Retain"), "20");  // min
  EXPECT_EQ(answer(reply, "MaxOutstandingR2T"), "16");
  EXPECT_EQ(answer(reply, "DataPDUInOrder"), "Yes");  // OR with our Yes
  EXPECT_EQ(answer(reply, "DataSequenceInOrder"), "Yes");
  EXPECT_EQ(answer(reply, "ErrorRecoveryLevel"), "0");
  EXPECT_EQ(answer(reply, "IFMarker"), "Reject");
  EXPECT_EQ(answer(reply, "OFMarkInt"), "Reject");
  EXPECT_EQ(answer(reply, "iSCSIProtocolLevel"), "1");
  EXPECT_EQ(answer(reply, "X-com.example.Foo"), "NotUnderstood");
  EXPECT_EQ(answer(reply, "Unknown"), "NotUnderstood");
  n.declare(reply);
  EXPECT_EQ(answer(reply, "MaxRecvDataSegmentLength"), "262144");
  auto p = n.finish();
  EXPECT_TRUE(p.header_digest);
  EXPECT_FALSE(p.data_digest);
  EXPECT_FALSE(p.initial_r2t);
  EXPECT_EQ(p.initiator_mrdsl, 65536u);
  EXPECT_EQ(p.target_mrdsl, 262144u);
  EXPECT_EQ(p.max_outstanding_r2t, 16u);
}

TEST(text, bad_values_rejected_and_duplicates_fail) {
  negotiator n({}, false);
  key_values reply;
  ASSERT_EQ(n.negotiate({{"InitialR2T", "Maybe"},
                         {"MaxBurstLength", "100"},
                         {"MaxRecvDataSegmentLength", "abc"},
                         {"HeaderDigest", "MD5"},
                         {"ErrorRecoveryLevel", "3"}},
                        reply),
            negotiator::outcome::ok);
  for (auto& [k, v] : reply) EXPECT_EQ(v, "Reject") << k;
  key_values again;
  EXPECT_EQ(n.negotiate({{"InitialR2T", "Yes"}}, again), negotiator::outcome::protocol_error);
}

TEST(text, first_burst_never_exceeds_max_burst) {
  negotiator n({}, false);
  key_values reply;
  n.negotiate({{"MaxBurstLength", "4096"}, {"FirstBurstLength", "65536"}}, reply);
  auto p = n.finish();
  EXPECT_EQ(p.max_burst_length, 4096u);
  EXPECT_EQ(p.first_burst_length, 4096u);
}

TEST(text, discovery_irrelevant_keys) {
  negotiator n({}, true);
  key_values reply;
  n.negotiate({{"InitialR2T", "Yes"}, {"MaxBurstLength", "4096"}, {"HeaderDigest", "None"}}, reply);
  EXPECT_EQ(answer(reply, "InitialR2T"), "Irrelevant");
  EXPECT_EQ(answer(reply, "MaxBurstLength"), "Irrelevant");
  EXPECT_EQ(answer(reply, "HeaderDigest"), "None");
}

TEST(text, digests_can_be_refused) {
  target_limits l;
  l.allow_digests = false;
  negotiator n(l, false);
  key_values reply;
  n.negotiate({{"HeaderDigest", "CRC32C"}, {"DataDigest", "CRC32C,None"}}, reply);
  EXPECT_EQ(answer(reply, "HeaderDigest"), "Reject");
  EXPECT_EQ(answer(reply, "DataDigest"), "None");
}

}  // namespace
// §6.1 numerical-value, as CHAP_I and a full-feature MaxRecvDataSegmentLength are read: no
// octal, no sign, no trailing text (strtoul/stoul with base 0 took "010" as 8 and "512x" as 512).
TEST(text, parse_number_is_strict) {
  EXPECT_EQ(parse_number("8192"), 8192u);
  EXPECT_EQ(parse_number("0x1f"), 31u);
  EXPECT_EQ(parse_number("010"), 10u);
  EXPECT_EQ(parse_number("512x"), std::nullopt);
  EXPECT_EQ(parse_number("-1"), std::nullopt);
  EXPECT_EQ(parse_number(" 1"), std::nullopt);
  EXPECT_EQ(parse_number("0x"), std::nullopt);
  EXPECT_EQ(parse_number(""), std::nullopt);
  EXPECT_EQ(parse_number("99999999999999999999"), std::nullopt);
}

}  // namespace diskless::iscsi
