#include "ra/ndp.hpp"

#include <gtest/gtest.h>

namespace diskless::ra::ndp {
namespace {

using namespace std::chrono_literals;

// fe80::5054:ff:febe:1 (what iPXE uses on MAC 52:54:00:be:00:01)
constexpr ipv6_address ipxe_ll{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x50, 0x54, 0, 0xff, 0xfe, 0xbe, 0, 1};
constexpr ipv6_address our_ll{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

// A Router Solicitation with a Source Link-Layer Address option, as iPXE sends it
// (RFC 4861 §4.1). The checksum is for fe80::5054:ff:febe:1 -> ff02::2 (checked with scapy).
const bytes ipxe_rs = from_hex("8500d907000000000101525400be0001");

TEST(NdpSolicitation, AcceptsIpxeShape) {
  auto rs = parse_solicitation(ipxe_rs, 255, ipxe_ll);
  ASSERT_TRUE(rs) << rs.error_message();
  ASSERT_TRUE(rs->source_lla);
  EXPECT_EQ(rs->source_lla->str(), "52:54:00:be:00:01");
  EXPECT_EQ(checksum(ipxe_ll, all_routers, ipxe_rs), 0xd907);
}

TEST(NdpSolicitation, AcceptsNoOptionsAndUnknownOptions) {
  auto bare = from_hex("8500000000000000");
  auto rs = parse_solicitation(bare, 255, unspecified);
  ASSERT_TRUE(rs) << rs.error_message();
  EXPECT_FALSE(rs->source_lla);
  // An unknown option (type 200, one unit) is skipped (§4.6).
  auto unknown = from_hex(
      "8500000000000000c801000000000000"
      "0101525400be0001");
  rs = parse_solicitation(unknown, 255, ipxe_ll);
  ASSERT_TRUE(rs) << rs.error_message();
  EXPECT_EQ(rs->source_lla->str(), "52:54:00:be:00:01");
}

TEST(NdpSolicitation, RejectsWhatSection611Rejects) {
  // Forwarded by a router: hop limit below 255.
  EXPECT_FALSE(parse_solicitation(ipxe_rs, 254, ipxe_ll));
  EXPECT_FALSE(parse_solicitation(ipxe_rs, 64, ipxe_ll));
  // Shorter than 8 octets.
  EXPECT_FALSE(parse_solicitation(from_hex("85000000000000"), 255, ipxe_ll));
  EXPECT_FALSE(parse_solicitation({}, 255, ipxe_ll));
  // Code not 0.
  EXPECT_FALSE(parse_solicitation(from_hex("8501000000000000"), 255, ipxe_ll));
  // Another ICMPv6 type (an RA, a neighbor solicitation).
  EXPECT_FALSE(parse_solicitation(from_hex("8600000000000000"), 255, ipxe_ll));
  EXPECT_FALSE(parse_solicitation(from_hex("8700000000000000"), 255, ipxe_ll));
  // An option of length 0 (would loop forever).
  EXPECT_FALSE(parse_solicitation(from_hex("85000000000000000100525400be0001"), 255, ipxe_ll));
  // An option running past the end.
  EXPECT_FALSE(parse_solicitation(from_hex("85000000000000000102525400be0001"), 255, ipxe_ll));
  // A lone option type octet.
  EXPECT_FALSE(parse_solicitation(from_hex("850000000000000001"), 255, ipxe_ll));
  // A source link-layer address from the unspecified address.
  EXPECT_FALSE(parse_solicitation(ipxe_rs, 255, unspecified));
}

TEST(NdpSolicitation, OddLengthLinkLayerOptionIsNotAnEthernetAddress) {
  auto rs = parse_solicitation(from_hex("85000000000000000102525400be000100000000000000000000"),
                               255, ipxe_ll);
  // 8 + a 16-octet option + 2 stray octets (an option of length 0)
  EXPECT_FALSE(rs);
  rs = parse_solicitation(from_hex("85000000000000000102525400be00010000000000000000"), 255,
                          ipxe_ll);
  ASSERT_TRUE(rs) << rs.error_message();
  EXPECT_FALSE(rs->source_lla);
}

TEST(NdpAdvertisement, DefaultIsNoRouterWithOurAddress) {
  advertisement a;
  a.source_lla = mac_address::parse("02:00:00:00:00:01");
  auto b = build_advertisement(a);
  // RFC 4861 §4.2: type 134, code 0, checksum, hop limit 0, M=O=0, lifetime 0, reachable 0,
  // retrans 0, then the source link-layer address option.
  EXPECT_EQ(to_hex(b), "860000000000000000000000000000000101020000000001");
  set_checksum(b, our_ll, all_nodes);
  EXPECT_EQ(to_hex(b), "860079250000000000000000000000000101020000000001");  // as scapy
  auto back = parse_advertisement(b);
  ASSERT_TRUE(back) << back.error_message();
  EXPECT_EQ(back->router_lifetime, 0);
  EXPECT_FALSE(back->managed);
  EXPECT_FALSE(back->other);
  EXPECT_EQ(back->source_lla->str(), "02:00:00:00:00:01");
}

TEST(NdpAdvertisement, FieldsRoundTrip) {
  advertisement a;
  a.cur_hop_limit = 64;
  a.managed = true;
  a.other = true;
  a.router_lifetime = 1800;
  a.reachable_time = 30000;
  a.retrans_timer = 1000;
  a.mtu = 1500;
  auto b = build_advertisement(a);
  EXPECT_EQ(to_hex(b), "8600000040c0070800007530000003e805010000000005dc");
  auto back = parse_advertisement(b);
  ASSERT_TRUE(back) << back.error_message();
  EXPECT_EQ(back->cur_hop_limit, 64);
  EXPECT_TRUE(back->managed);
  EXPECT_TRUE(back->other);
  EXPECT_EQ(back->router_lifetime, 1800);
  EXPECT_EQ(back->reachable_time, 30000u);
  EXPECT_EQ(back->retrans_timer, 1000u);
  EXPECT_EQ(back->mtu, 1500u);
  EXPECT_FALSE(back->source_lla);
  EXPECT_FALSE(parse_advertisement(from_hex("86000000")));
  EXPECT_FALSE(parse_advertisement(from_hex("860000000000000000000000000000000100")));
}

TEST(NdpText, Rfc5952) {
  EXPECT_EQ(to_string(ipxe_ll), "fe80::5054:ff:febe:1");
  EXPECT_EQ(to_string(all_nodes), "ff02::1");
  EXPECT_EQ(to_string(unspecified), "::");
  EXPECT_TRUE(is_link_local(ipxe_ll));
  EXPECT_FALSE(is_link_local(all_nodes));
}

struct fixed_random {
  std::chrono::milliseconds value;
  std::chrono::milliseconds operator()(std::chrono::milliseconds max) const {
    return std::min(value, max);
  }
};

// The time every scheduler test starts its scheduler at.
const scheduler::clock::time_point t0 = scheduler::clock::time_point{} + 1000s;

// Starts `s` at t0 and takes its first multicast advertisement, which is due at once.
void start_past_first_multicast(scheduler& s) {
  s.start(t0);
  (void)s.due(t0);
}

TEST(NdpScheduler, UnsolicitedFirstThreeWithin16sThenMinToMax) {
  scheduler s(fixed_random{100'000ms});
  EXPECT_EQ(s.next(), scheduler::clock::time_point::max());
  s.start(t0);
  EXPECT_EQ(s.next(), t0);
  auto out = s.due(t0);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], all_nodes);
  EXPECT_EQ(s.next(), t0 + 16s);
  EXPECT_TRUE(s.due(t0 + 15s).empty());
  EXPECT_EQ(s.due(t0 + 16s).size(), 1u);
  EXPECT_EQ(s.next(), t0 + 32s);
  EXPECT_EQ(s.due(t0 + 32s).size(), 1u);
  // Three sent: now MinRtrAdvInterval (200 s) + the random part (100 s).
  EXPECT_EQ(s.next(), t0 + 32s + 300s);
}

TEST(NdpScheduler, SolicitationIsAnsweredByMulticastAfterTheRandomDelay) {
  scheduler s(fixed_random{200ms});
  start_past_first_multicast(s);
  s.solicited(t0 + 10s, ipxe_ll);
  s.solicited(t0 + 10s + 100ms, ipxe_ll);  // a repeat: answered by the same one
  EXPECT_EQ(s.next(), t0 + 10s + 200ms);
  auto out = s.due(t0 + 10s + 200ms);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], all_nodes);
  EXPECT_EQ(s.next(), t0 + 10s + 200ms + 16s);  // the second initial one
}

TEST(NdpScheduler, SolicitationFromAHostIsAnsweredByUnicastWhileMulticastIsRateLimited) {
  scheduler s(fixed_random{200ms});
  start_past_first_multicast(s);
  // Right after a multicast: no rate limit for unicast answers.
  s.solicited(t0 + 1s, ipxe_ll);
  s.solicited(t0 + 1s + 100ms, ipxe_ll);  // a repeat before the answer: one answer
  EXPECT_EQ(s.next(), t0 + 1s + 200ms);
  EXPECT_TRUE(s.due(t0 + 1s + 199ms).empty());
  auto out = s.due(t0 + 1s + 200ms);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], ipxe_ll);
  EXPECT_EQ(s.next(), t0 + 16s);
}

TEST(NdpScheduler, SolicitationFromUnspecifiedIsMulticastAndRateLimited) {
  scheduler s(fixed_random{300ms});
  start_past_first_multicast(s);
  s.solicited(t0 + 1s, unspecified);
  // MIN_DELAY_BETWEEN_RAS (3 s) after the last multicast, plus the random delay.
  EXPECT_EQ(s.next(), t0 + 3s + 300ms);
  auto out = s.due(t0 + 3s + 300ms);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], all_nodes);
  // Long after: only the random delay.
  s.solicited(t0 + 10s, unspecified);
  EXPECT_EQ(s.next(), t0 + 10s + 300ms);
}

TEST(NdpScheduler, FloodOfHostsIsCappedAndFoldedIntoOneMulticast) {
  scheduler s(fixed_random{0ms});
  start_past_first_multicast(s);
  for (int i = 0; i < 200; ++i) {
    auto a = ipxe_ll;
    a[14] = static_cast<std::uint8_t>(i >> 8);
    a[15] = static_cast<std::uint8_t>(i);
    s.solicited(t0 + 1s, a);  // within MIN_DELAY_BETWEEN_RAS of the first multicast
  }
  EXPECT_EQ(s.due(t0 + 1s).size(), scheduler::max_pending_unicast);
  auto out = s.due(t0 + 3s);  // the rest: one rate-limited multicast
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out.back(), all_nodes);
}

TEST(NdpScheduler, FailedSendsAreRetried) {
  scheduler s(fixed_random{0ms});
  s.start(t0);
  ASSERT_EQ(s.due(t0).size(), 1u);
  s.retry(t0, all_nodes);  // the link-local address was still tentative
  EXPECT_EQ(s.next(), t0 + scheduler::retry_delay);
  ASSERT_EQ(s.due(t0 + scheduler::retry_delay).size(), 1u);
  // Still counts as the first of the three initial ones.
  EXPECT_EQ(s.next(), t0 + scheduler::retry_delay + 16s);
  s.solicited(t0 + 1s, ipxe_ll);
  ASSERT_EQ(s.due(t0 + 1s).size(), 1u);
  s.retry(t0 + 1s, ipxe_ll);
  auto out = s.due(t0 + 1s + scheduler::retry_delay);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], ipxe_ll);
}

TEST(NdpScheduler, NothingBeforeStart) {
  scheduler s(fixed_random{0ms});
  s.solicited(scheduler::clock::time_point{} + 1s, ipxe_ll);
  EXPECT_TRUE(s.due(scheduler::clock::time_point{} + 2s).empty());
}

}  // namespace
}  // namespace diskless::ra::ndp
