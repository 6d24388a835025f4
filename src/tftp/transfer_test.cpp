#include "tftp/transfer.hpp"

#include <gtest/gtest.h>

namespace diskless::tftp {
namespace {

using namespace std::chrono_literals;
constexpr std::uint64_t all = ~std::uint64_t{0};  // everything readable

std::vector<option> opts(std::initializer_list<option> o) {
  return o;
}

std::string oack_value(const negotiation& n, std::string_view name) {
  for (const auto& o : n.oack)
    if (o.name == name) return o.value;
  return "<absent>";
}

TEST(TftpNegotiate, NoOptionsMeansNoOack) {
  auto n = negotiate({}, 1000, {});
  EXPECT_TRUE(n.oack.empty());
  EXPECT_EQ(n.blksize, 512);
  EXPECT_EQ(n.windowsize, 1);
}

TEST(TftpNegotiate, OnlyRequestedAcceptedOptionsInClientOrder) {
  auto n = negotiate(opts({{"windowsize", "8"},
                           {"frobnicate", "1"},
                           {"tsize", "0"},
                           {"blksize", "1024"},
                           {"timeout", "3"}}),
                     123456, {});
  ASSERT_EQ(n.oack.size(), 4u);
  EXPECT_EQ(n.oack[0], (option{"windowsize", "8"}));
  EXPECT_EQ(n.oack[1], (option{"tsize", "123456"}));
  EXPECT_EQ(n.oack[2], (option{"blksize", "1024"}));
  EXPECT_EQ(n.oack[3], (option{"timeout", "3"}));
  EXPECT_EQ(n.blksize, 1024);
  EXPECT_EQ(n.windowsize, 8);
  EXPECT_EQ(n.timeout, 3s);
}

TEST(TftpNegotiate, BlksizeClampedToMtuAndRange) {
  transfer_limits l;
  l.max_blksize = 1468;
  EXPECT_EQ(oack_value(negotiate(opts({{"blksize", "9000"}}), 0, l), "blksize"), "1468");
  EXPECT_EQ(oack_value(negotiate(opts({{"blksize", "8"}}), 0, l), "blksize"), "8");
  EXPECT_EQ(oack_value(negotiate(opts({{"blksize", "7"}}), 0, l), "blksize"), "<absent>");
  EXPECT_EQ(oack_value(negotiate(opts({{"blksize", "abc"}}), 0, l), "blksize"), "<absent>");
  l.max_blksize = 65535 - 32;  // loopback-sized MTU: RFC 2348's maximum applies
  EXPECT_EQ(oack_value(negotiate(opts({{"blksize", "65535"}}), 0, l), "blksize"), "65464");
  EXPECT_EQ(negotiate(opts({{"blksize", "7"}}), 0, l).blksize, 512);
}

TEST(TftpNegotiate, WindowsizeTimeoutTsizeEdges) {
  EXPECT_EQ(oack_value(negotiate(opts({{"windowsize", "65535"}}), 0, {}), "windowsize"), "64");
  EXPECT_EQ(oack_value(negotiate(opts({{"windowsize", "0"}}), 0, {}), "windowsize"), "<absent>");
  EXPECT_EQ(oack_value(negotiate(opts({{"windowsize", "65536"}}), 0, {}), "windowsize"),
            "<absent>");
  EXPECT_EQ(oack_value(negotiate(opts({{"timeout", "0"}}), 0, {}), "timeout"), "<absent>");
  EXPECT_EQ(oack_value(negotiate(opts({{"timeout", "256"}}), 0, {}), "timeout"), "<absent>");
  EXPECT_EQ(oack_value(negotiate(opts({{"timeout", "255"}}), 0, {}), "timeout"), "255");
  EXPECT_EQ(oack_value(negotiate(opts({{"tsize", "0"}}), 77, {}), "tsize"), "77");
  EXPECT_EQ(oack_value(negotiate(opts({{"tsize", "-1"}}), 77, {}), "tsize"), "<absent>");
}

struct harness {
  clock::time_point now = clock::time_point{} + 1000s;
  transfer t;
  harness(std::vector<option> o, std::uint64_t size, transfer_limits l = {})
      : t(negotiate(o, size, l), size, l, now) {}
};

void expect_range(const transfer_output& out, std::uint64_t first, std::uint64_t end) {
  EXPECT_EQ(out.first_block, first);
  EXPECT_EQ(out.end_block, end);
}

TEST(TftpTransfer, LockstepWithoutOptions) {
  harness h({}, 1100);  // blocks: 512, 512, 76
  EXPECT_EQ(h.t.block_count(), 3u);
  auto out = h.t.start(h.now, all);
  EXPECT_FALSE(out.send_oack);
  expect_range(out, 1, 2);
  EXPECT_EQ(h.t.deadline(), h.now + 1s);
  expect_range(h.t.on_ack(1, h.now, all), 2, 3);
  expect_range(h.t.on_ack(2, h.now, all), 3, 4);
  EXPECT_EQ(h.t.block_length(3), 76u);
  auto end = h.t.on_ack(3, h.now, all);
  EXPECT_TRUE(end.done);
  EXPECT_TRUE(end.success);
  EXPECT_FALSE(end.error);
}

TEST(TftpTransfer, ExactMultipleEndsWithEmptyBlock) {
  harness h({}, 1024);
  EXPECT_EQ(h.t.block_count(), 3u);
  EXPECT_EQ(h.t.block_length(3), 0u);
  h.t.start(h.now, all);
  h.t.on_ack(1, h.now, all);
  expect_range(h.t.on_ack(2, h.now, all), 3, 4);
  EXPECT_TRUE(h.t.on_ack(3, h.now, all).success);
}

TEST(TftpTransfer, EmptyFileIsOneEmptyBlock) {
  harness h({}, 0);
  expect_range(h.t.start(h.now, 0), 1, 2);
  EXPECT_TRUE(h.t.on_ack(1, h.now, 0).success);
}

TEST(TftpTransfer, OackWaitsForAckZeroAndIsRetransmitted) {
  harness h(opts({{"tsize", "0"}}), 100);
  auto out = h.t.start(h.now, all);
  EXPECT_TRUE(out.send_oack);
  expect_range(out, 0, 0);
  EXPECT_FALSE(h.t.on_ack(1, h.now, all).send_oack);  // not ACK 0: ignored
  EXPECT_EQ(h.t.on_ack(1, h.now, all).end_block, 0u);
  h.now += 1s;
  EXPECT_TRUE(h.t.on_timeout(h.now, all).send_oack);
  expect_range(h.t.on_ack(0, h.now, all), 1, 2);
  EXPECT_TRUE(h.t.on_ack(1, h.now, all).success);
}

TEST(TftpTransfer, DuplicateAckIsIgnored) {
  harness h({}, 2000);
  h.t.start(h.now, all);
  expect_range(h.t.on_ack(1, h.now, all), 2, 3);
  // The client's retransmitted ACK 1 must not trigger another DATA 2 (sorcerer's apprentice).
  auto dup = h.t.on_ack(1, h.now, all);
  EXPECT_EQ(dup.first_block, dup.end_block);
  EXPECT_FALSE(dup.done);
  // An ACK for a block never sent is ignored too.
  auto ahead = h.t.on_ack(7, h.now, all);
  EXPECT_EQ(ahead.first_block, ahead.end_block);
}

TEST(TftpTransfer, LostDataOrAckIsRetransmittedWithBackoffThenAbandoned) {
  transfer_limits l;
  l.give_up = 10s;
  harness h({}, 5000, l);
  h.t.start(h.now, all);
  h.t.on_ack(1, h.now, all);                                    // block 2 in flight
  EXPECT_EQ(h.t.on_timeout(h.now + 500ms, all).end_block, 0u);  // not due yet: nothing
  h.now += 1s;
  expect_range(h.t.on_timeout(h.now, all), 2, 3);
  EXPECT_EQ(h.t.deadline(), h.now + 2s);  // back-off doubled
  h.now += 2s;
  expect_range(h.t.on_timeout(h.now, all), 2, 3);
  EXPECT_EQ(h.t.deadline(), h.now + 4s);
  // Progress resets the back-off.
  expect_range(h.t.on_ack(2, h.now, all), 3, 4);
  EXPECT_EQ(h.t.deadline(), h.now + 1s);
  EXPECT_EQ(h.t.retransmissions(), 2u);
  // Nothing more from the client: after give_up without progress, ERROR 0 and done.
  transfer_output out;
  for (int i = 0; i < 20 && !out.done; ++i) {
    h.now = h.t.deadline();
    out = h.t.on_timeout(h.now, all);
  }
  ASSERT_TRUE(out.done);
  EXPECT_FALSE(out.success);
  ASSERT_TRUE(out.error);
  EXPECT_EQ(out.error->code, error_code::not_defined);
  EXPECT_EQ(h.t.deadline(), clock::time_point::max());
}

TEST(TftpTransfer, TimeoutOptionSetsRetransmissionTimeout) {
  harness h(opts({{"timeout", "3"}}), 100);
  h.t.start(h.now, all);
  EXPECT_EQ(h.t.deadline(), h.now + 3s);
}

TEST(TftpTransfer, WindowSendsWindowAndRestartsOnLateAck) {
  harness h(opts({{"windowsize", "4"}, {"blksize", "8"}}), 8 * 20);  // 21 blocks
  h.t.start(h.now, all);
  expect_range(h.t.on_ack(0, h.now, all), 1, 5);
  expect_range(h.t.on_ack(4, h.now, all), 5, 9);
  // The client got 5 and 6, lost 7: it acks 6 and the window restarts at 7.
  expect_range(h.t.on_ack(6, h.now, all), 7, 11);
  // A stale ACK from before (4, and 6 again) changes nothing.
  auto stale = h.t.on_ack(4, h.now, all);
  EXPECT_EQ(stale.first_block, stale.end_block);
  stale = h.t.on_ack(6, h.now, all);
  EXPECT_EQ(stale.first_block, stale.end_block);
  // Whole window lost: the timeout resends from the oldest unacknowledged block.
  h.now += 1s;
  expect_range(h.t.on_timeout(h.now, all), 7, 11);
  expect_range(h.t.on_ack(10, h.now, all), 11, 15);
  expect_range(h.t.on_ack(14, h.now, all), 15, 19);
  expect_range(h.t.on_ack(18, h.now, all), 19, 22);  // last window is short
  EXPECT_TRUE(h.t.on_ack(21, h.now, all).success);
}

TEST(TftpTransfer, BlockNumbersRollOverToZero) {
  // blksize 8: 70000 full blocks + a final empty one.
  std::uint64_t size = 8ull * 70000;
  harness h(opts({{"blksize", "8"}}), size);
  EXPECT_EQ(h.t.block_count(), 70001u);
  EXPECT_EQ(transfer::wire_block(65535), 65535);
  EXPECT_EQ(transfer::wire_block(65536), 0);
  EXPECT_EQ(transfer::wire_block(65537), 1);
  h.t.start(h.now, all);
  auto out = h.t.on_ack(0, h.now, all);
  for (std::uint64_t b = 1; b <= 70000; ++b) {
    ASSERT_EQ(out.first_block, b);
    out = h.t.on_ack(transfer::wire_block(b), h.now, all);
    ASSERT_FALSE(out.done) << b;
  }
  expect_range(out, 70001, 70002);
  EXPECT_EQ(h.t.block_offset(65536), 8ull * 65535);
  EXPECT_TRUE(h.t.on_ack(transfer::wire_block(70001), h.now, all).success);
}

TEST(TftpTransfer, RolloverInsideAWindow) {
  harness h(opts({{"blksize", "8"}, {"windowsize", "16"}}), 8ull * 65600);
  h.t.start(h.now, all);
  auto out = h.t.on_ack(0, h.now, all);
  std::uint64_t last = 0;
  while (out.end_block <= 65530) {
    last = out.end_block - 1;
    out = h.t.on_ack(transfer::wire_block(last), h.now, all);
  }
  // This window, [65521, 65537), spans 65535 → 0; a partial ACK for wire block 0 (absolute
  // 65536) restarts the window at 65537 (wire 1).
  expect_range(out, 65521, 65537);
  expect_range(h.t.on_ack(0, h.now, all), 65537, 65537 + 16);
}

TEST(TftpTransfer, SendsOnlyWhatIsReadableAndResumesWhenDataArrives) {
  harness h(opts({{"blksize", "100"}, {"windowsize", "8"}}), 1000);
  h.t.start(h.now, 250);
  auto out = h.t.on_ack(0, h.now, 250);
  expect_range(out, 1, 3);  // blocks 1, 2 fit in 250 bytes
  expect_range(h.t.on_data_ready(h.now, 250), 3, 3);
  // All in flight acked, nothing readable: no timer while waiting for the disk.
  expect_range(h.t.on_ack(2, h.now, 250), 3, 3);
  EXPECT_EQ(h.t.deadline(), clock::time_point::max());
  EXPECT_EQ(h.t.acked_offset(), 200u);
  EXPECT_EQ(h.t.window_end_offset(), 1000u);
  expect_range(h.t.on_data_ready(h.now, 1000), 3, 11);
  EXPECT_EQ(h.t.deadline(), h.now + 1s);
  // The final (empty) block 11 waits for the window to advance.
  expect_range(h.t.on_ack(10, h.now, 1000), 11, 12);
}

TEST(TftpTransfer, ClientErrorEndsWithoutReply) {
  harness h({}, 5000);
  h.t.start(h.now, all);
  auto out = h.t.on_error({0, "cancelled"});
  EXPECT_TRUE(out.done);
  EXPECT_FALSE(out.error);
  EXPECT_FALSE(out.success);
  // Nothing happens afterwards.
  EXPECT_EQ(h.t.on_ack(1, h.now, all).end_block, 0u);
}

TEST(TftpTransfer, IllegalPacketGetsError4) {
  harness h({}, 5000);
  h.t.start(h.now, all);
  auto out = h.t.on_illegal();
  EXPECT_TRUE(out.done);
  ASSERT_TRUE(out.error);
  EXPECT_EQ(out.error->code, error_code::illegal_operation);
}

TEST(TftpTransfer, OptionRefusedByClientEndsTransfer) {
  // RFC 2347 §5: the client answers an OACK it does not like with ERROR 8.
  harness h(opts({{"blksize", "1024"}}), 5000);
  EXPECT_TRUE(h.t.start(h.now, all).send_oack);
  auto out = h.t.on_error({8, "option refused"});
  EXPECT_TRUE(out.done);
  EXPECT_FALSE(out.error);
}

}  // namespace
}  // namespace diskless::tftp

namespace diskless::tftp {
namespace {

// Times out until the transfer gives up; the time from `from` when it did.
clock::duration give_up_after(transfer& t, clock::time_point from) {
  transfer_output out;
  auto now = from;
  for (int i = 0; i < 100 && !out.done; ++i) {
    now = t.deadline();
    out = t.on_timeout(now, all);
  }
  EXPECT_TRUE(out.done);
  return now - from;
}

// A request nobody acknowledges (flood, spoofed source) frees its slot after first_ack_give_up,
// not after the full give_up; once the client has acknowledged, give_up applies.
TEST(TftpTransfer, UnacknowledgedTransferGivesUpSooner) {
  transfer_limits l;  // defaults: give_up 30 s, first_ack_give_up 5 s
  auto t0 = clock::now();
  transfer never(negotiate({}, 5000, l), 5000, l, t0);
  never.start(t0, all);
  EXPECT_FALSE(never.confirmed());
  auto a = give_up_after(never, t0);
  EXPECT_GE(a, l.first_ack_give_up);
  EXPECT_LT(a, l.give_up);

  transfer oack(negotiate(opts({{"tsize", "0"}}), 5000, l), 5000, l, t0);
  oack.start(t0, all);
  EXPECT_LT(give_up_after(oack, t0), l.give_up);  // an OACK never acknowledged: the same

  transfer acked(negotiate({}, 5000, l), 5000, l, t0);
  acked.start(t0, all);
  acked.on_ack(1, t0, all);
  EXPECT_TRUE(acked.confirmed());
  EXPECT_GE(give_up_after(acked, t0), l.give_up);
}

}  // namespace
}  // namespace diskless::tftp
