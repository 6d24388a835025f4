#include "iscsi/session.hpp"

#include <gtest/gtest.h>

#include <deque>

#include "iscsi/session_rig.hpp"
#include "iscsi/test_util.hpp"
#include "scsi/sense.hpp"

namespace diskless::iscsi {
namespace {
using namespace test;

TEST(session, read_split_at_mrdsl_with_status_in_last) {
  session_params p;
  p.initiator_mrdsl = 1024;
  rig r(p);
  auto pat = pattern(4096, 1);
  std::copy(pat.begin(), pat.end(), r.lu->disk.begin());
  ASSERT_TRUE(r.s->on_pdu(r.read10(0, 8, 7)));
  ASSERT_EQ(r.out.size(), 4u);
  bytes got;
  for (std::size_t i = 0; i < 4; ++i) {
    auto& d = r.out[i];
    EXPECT_EQ(d.op(), opcode::data_in);
    EXPECT_EQ(d.u32(36), i);         // DataSN
    EXPECT_EQ(d.u32(40), i * 1024);  // BufferOffset
    EXPECT_EQ(d.data_length(), 1024u);
    got.insert(got.end(), d.data.begin(), d.data.end());
    bool last = i == 3;
    EXPECT_EQ((d.flags() & 0x01) != 0, last);  // S only on the last
    EXPECT_EQ((d.flags() & 0x80) != 0, last);
  }
  EXPECT_EQ(got, pat);
  EXPECT_EQ(r.out[3].u32(24), 5u);    // StatSN
  EXPECT_EQ(r.out[3].u32(28), 101u);  // ExpCmdSN advanced
}

TEST(session, read_residuals) {
  rig r;
  // EDTL larger than the command's 512 bytes: underflow.
  r.s->on_pdu(rig::cmd(0x28, 0, 1, true, false, 2048, 1, r.cmd_sn++));
  ASSERT_EQ(r.out.size(), 1u);
  EXPECT_EQ(r.out[0].flags() & 0x07, 0x03);  // U + S
  EXPECT_EQ(r.out[0].u32(44), 1536u);
  // EDTL smaller: overflow, data truncated.
  r.out.clear();
  r.s->on_pdu(rig::cmd(0x28, 0, 2, true, false, 512, 2, r.cmd_sn++));
  ASSERT_EQ(r.out.size(), 1u);
  EXPECT_EQ(r.out[0].flags() & 0x07, 0x05);  // O + S
  EXPECT_EQ(r.out[0].u32(44), 512u);
  EXPECT_EQ(r.out[0].data.size(), 512u);
}

TEST(session, check_condition_carries_sense) {
  rig r;
  r.s->on_pdu(rig::cmd(0x99, 0, 0, false, false, 0, 1, r.cmd_sn++));
  ASSERT_EQ(r.out.size(), 1u);
  auto& resp = r.out[0];
  EXPECT_EQ(resp.op(), opcode::scsi_response);
  EXPECT_EQ(resp.u8(3), 0x02);
  ASSERT_EQ(resp.data.size(), 20u);
  EXPECT_EQ(load_u16(resp.data, 0), 18u);
  EXPECT_EQ(resp.data[2 + 2], std::byte{5});
}

TEST(session, write_immediate_unsolicited_and_r2t) {
  session_params p;
  p.initial_r2t = false;
  p.first_burst_length = 2048;
  p.max_burst_length = 1024;
  p.max_outstanding_r2t = 2;
  rig r(p);
  auto pat = pattern(8192, 3);
  auto imm = bytes(pat.begin(), pat.begin() + 512);
  ASSERT_TRUE(r.s->on_pdu(rig::cmd(0x2a, 4, 16, false, true, 8192, 9, r.cmd_sn++, imm)));
  // Two R2Ts (MaxOutstandingR2T) for [2048, 3072) and [3072, 4096).
  ASSERT_EQ(r.out.size(), 2u);
  EXPECT_EQ(r.out[0].op(), opcode::r2t);
  EXPECT_EQ(r.out[0].u32(40), 2048u);
  EXPECT_EQ(r.out[0].u32(44), 1024u);
  EXPECT_EQ(r.out[1].u32(36), 1u);  // R2TSN
  std::vector<std::uint32_t> ttts = {r.out[0].u32(20), r.out[1].u32(20)};
  r.out.clear();
  // Unsolicited data [512, 2048).
  ASSERT_TRUE(r.s->on_pdu(
      rig::data_out(9, reserved_tag, 0, 512, bytes(pat.begin() + 512, pat.begin() + 2048), true)));
  // Answer the R2Ts in two PDUs each; more R2Ts follow as earlier ones complete.
  std::size_t answered = 0;
  std::deque<std::pair<std::uint32_t, std::uint32_t>> todo = {{ttts[0], 2048}, {ttts[1], 3072}};
  while (!todo.empty()) {
    auto [ttt, off] = todo.front();
    todo.pop_front();
    ASSERT_TRUE(r.s->on_pdu(
        rig::data_out(9, ttt, 0, off, bytes(pat.begin() + off, pat.begin() + off + 512), false)));
    ASSERT_TRUE(r.s->on_pdu(rig::data_out(
        9, ttt, 1, off + 512, bytes(pat.begin() + off + 512, pat.begin() + off + 1024), true)));
    ++answered;
    for (auto& o : r.out)
      if (o.op() == opcode::r2t) todo.emplace_back(o.u32(20), o.u32(40));
    std::erase_if(r.out, [](const pdu& o) { return o.op() == opcode::r2t; });
  }
  EXPECT_EQ(answered, 6u);
  ASSERT_EQ(r.out.size(), 1u);
  EXPECT_EQ(r.out[0].op(), opcode::scsi_response);
  EXPECT_EQ(r.out[0].u8(3), 0);
  EXPECT_EQ(r.out[0].u32(36), 6u);  // ExpDataSN: R2Ts sent
  EXPECT_TRUE(std::equal(pat.begin(), pat.end(), r.lu->disk.begin() + 2048));
}

// Sense bytes of a SCSI Response: SenseLength (2), then fixed format 70h ... key at [4], ASC/ASCQ
// at [14]/[15].
void expect_check_condition(const pdu& o, int key, int asc, int ascq) {
  ASSERT_EQ(o.op(), opcode::scsi_response);
  EXPECT_EQ(o.u8(3), 0x02);
  ASSERT_GE(o.data.size(), 16u);
  EXPECT_EQ(std::to_integer<int>(o.data[2]), 0x70);
  EXPECT_EQ(std::to_integer<int>(o.data[4]) & 0x0f, key);
  EXPECT_EQ(std::to_integer<int>(o.data[14]), asc);
  EXPECT_EQ(std::to_integer<int>(o.data[15]), ascq);
}

// At ERL 0 a Data-Out out of sequence ends its task with CHECK CONDITION, ABORTED COMMAND and
// the session goes on (RFC 7143 §7.1.4.1); later Data-Out PDUs of that task are dropped.
TEST(session, data_out_out_of_sequence_ends_the_task) {
  struct bad {
    std::uint32_t sn, off, len;
    bool use_ttt;
    int asc, ascq;
  };
  for (auto b : {bad{1, 0, 512, true, 0x4b, 0x00},  // DataSN 1 first
                 bad{0xffffffff, 0, 512, true, 0x4b, 0x00},
                 bad{0, 512, 512, true, 0x4b, 0x05},    // offset gap
                 bad{0, 0, 1536, true, 0x4b, 0x02},     // more than the R2T asked for
                 bad{0, 0, 512, false, 0x4b, 0x01}}) {  // a TTT we never gave
    rig r;
    ASSERT_TRUE(r.s->on_pdu(rig::cmd(0x2a, 0, 2, false, true, 1024, 3, r.cmd_sn++)));
    ASSERT_EQ(r.out.size(), 1u);
    auto ttt = b.use_ttt ? r.out[0].u32(20) : 0x1234u;
    r.out.clear();
    EXPECT_TRUE(r.s->on_pdu(rig::data_out(3, ttt, b.sn, b.off, bytes(b.len), false)));
    ASSERT_EQ(r.out.size(), 1u);
    expect_check_condition(r.out[0], 0x0b, b.asc, b.ascq);
    EXPECT_EQ(r.s->tasks_in_flight(), 0u);
    // The rest of its data is dropped; the session still works.
    EXPECT_TRUE(r.s->on_pdu(rig::data_out(3, ttt, 1, 512, bytes(512), true)));
    r.out.clear();
    ASSERT_TRUE(r.s->on_pdu(r.read10(0, 1, 4)));
    ASSERT_FALSE(r.out.empty());
    EXPECT_EQ(r.out.back().op(), opcode::data_in);
  }
}

// Unsolicited Data-Out (InitialR2T=No) with DataSN 0 twice, as libiscsi's iSCSIDataSnInvalid
// sends it: the second PDU ends the task.
TEST(session, unsolicited_data_sn_repeated_ends_the_task) {
  session_params p;
  p.initial_r2t = false;
  rig r(p);
  ASSERT_TRUE(r.s->on_pdu(rig::cmd(0x2a, 0, 2, false, true, 1024, 3, r.cmd_sn++)));
  EXPECT_TRUE(r.out.empty());
  EXPECT_TRUE(r.s->on_pdu(rig::data_out(3, reserved_tag, 0, 0, bytes(512), false)));
  EXPECT_TRUE(r.out.empty());
  EXPECT_TRUE(r.s->on_pdu(rig::data_out(3, reserved_tag, 0, 512, bytes(512), true)));
  ASSERT_EQ(r.out.size(), 1u);
  expect_check_condition(r.out[0], 0x0b, 0x4b, 0x00);
  // Data for a read command is unexpected unsolicited data (§11.4.7.2: 0Ch/0Ch).
  r.lu->hold = true;
  r.out.clear();
  ASSERT_TRUE(r.s->on_pdu(rig::cmd(0x28, 0, 1, true, false, 512, 5, r.cmd_sn + 1)));
  EXPECT_TRUE(r.s->on_pdu(rig::data_out(5, reserved_tag, 0, 0, bytes(512), true)));
  ASSERT_EQ(r.out.size(), 1u);
  expect_check_condition(r.out[0], 0x0b, 0x0c, 0x0c);
  // Its CmdSN still counts: the next command runs once the gap before it is filled.
  r.lu->hold = false;
  r.out.clear();
  ASSERT_TRUE(r.s->on_pdu(rig::cmd(0x28, 0, 1, true, false, 512, 5, r.cmd_sn++)));
  ASSERT_FALSE(r.out.empty());
  EXPECT_EQ(r.out.back().op(), opcode::data_in);
}

TEST(session, write_bound_matches_maximum_transfer_length) {
  rig r;
  ASSERT_TRUE(r.s->on_pdu(rig::cmd(0x2a, 0, 0, false, true, 32u << 20, 3, r.cmd_sn++)));
  ASSERT_FALSE(r.out.empty());
  EXPECT_EQ(r.out[0].op(), opcode::r2t);
  r.out.clear();
  ASSERT_TRUE(r.s->on_pdu(rig::cmd(0x2a, 0, 0, false, true, (32u << 20) + 512, 4, r.cmd_sn++)));
  ASSERT_EQ(r.out.size(), 1u);
  EXPECT_EQ(r.out[0].op(), opcode::scsi_response);
  EXPECT_EQ(r.out[0].u8(3), 0x02);  // CHECK CONDITION
  // Sense data: 2-byte length, fixed format 70h, key 05h, ASC/ASCQ 24h/00h.
  ASSERT_GE(r.out[0].data.size(), 16u);
  EXPECT_EQ(std::to_integer<int>(r.out[0].data[2]), 0x70);
  EXPECT_EQ(std::to_integer<int>(r.out[0].data[4]) & 0x0f, 0x05);
  EXPECT_EQ(std::to_integer<int>(r.out[0].data[14]), 0x24);
  EXPECT_EQ(std::to_integer<int>(r.out[0].data[15]), 0x00);
}

TEST(session, immediate_data_refused_when_not_negotiated) {
  session_params p;
  p.immediate_data = false;
  rig r(p);
  r.s->on_pdu(rig::cmd(0x2a, 0, 1, false, true, 512, 3, r.cmd_sn++, bytes(512)));
  ASSERT_EQ(r.out.size(), 1u);
  EXPECT_EQ(r.out[0].op(), opcode::reject);
  EXPECT_EQ(r.out[0].u8(2), 0x04);
}

TEST(session, cmdsn_window_and_ordering) {
  rig r;
  r.lu->hold = false;
  // Too low and too high: silently ignored (§4.2.2.1).
  r.s->on_pdu(rig::cmd(0x00, 0, 0, false, false, 0, 1, 99));
  r.s->on_pdu(rig::cmd(0x00, 0, 0, false, false, 0, 2, 100 + 128));
  EXPECT_TRUE(r.out.empty());
  // 101 before 100: held until 100 arrives, then both run in order.
  r.s->on_pdu(rig::cmd(0x00, 0, 0, false, false, 0, 3, 101));
  EXPECT_TRUE(r.out.empty());
  r.s->on_pdu(rig::cmd(0x00, 0, 0, false, false, 0, 4, 100));
  ASSERT_EQ(r.out.size(), 2u);
  EXPECT_EQ(r.out[0].itt(), 4u);
  EXPECT_EQ(r.out[1].itt(), 3u);
  EXPECT_EQ(r.out[1].u32(28), 102u);
  EXPECT_EQ(r.out[1].u32(32), 102u + 127);
}

// MaxCmdSN advances when tasks complete, not when they are dispatched: an initiator that keeps
// its window full while nothing completes can never have more than cmd_window tasks.
TEST(session, window_advances_on_completion_not_dispatch) {
  rig r;
  r.lu->hold = true;
  for (std::uint32_t i = 0; i < 128; ++i) r.s->on_pdu(r.read10(0, 1, 1000 + i));
  EXPECT_EQ(r.s->tasks_in_flight(), 128u);
  // Beyond the advertised window (100 + 127): ignored, whatever the initiator does.
  for (std::uint32_t i = 0; i < 1000; ++i) r.s->on_pdu(r.read10(0, 1, 5000 + i));
  EXPECT_EQ(r.s->tasks_in_flight(), 128u);
  EXPECT_EQ(r.s->advertised_max_cmd_sn(), 100u + 127);
  r.lu->release();
  EXPECT_EQ(r.s->tasks_in_flight(), 0u);
  ASSERT_FALSE(r.out.empty());
  // The last status frees every slot: MaxCmdSN = ExpCmdSN (228) + 127.
  EXPECT_EQ(r.out.back().u32(32), 228u + 127);
}

// Immediate commands bypass CmdSN ordering; past max_tasks they get TASK SET FULL.
TEST(session, immediate_commands_bounded) {
  rig r;
  r.lu->hold = true;
  for (std::uint32_t i = 0; i < 300; ++i) {
    auto p = r.read10(0, 1, 1 + i);
    p.bhs[0] |= std::byte{0x40};  // immediate
    r.s->on_pdu(std::move(p));
  }
  EXPECT_EQ(r.s->tasks_in_flight(), 256u);
  ASSERT_EQ(r.out.size(), 300u - 256u);
  EXPECT_EQ(std::to_integer<int>(r.out[0].bhs[3]), 0x28);  // TASK SET FULL
}

// While the connection's queued output is over budget, READs wait and the window stays; once it
// drains they run and a NOP-In announces the new window.
TEST(session, output_budget_holds_reads_and_window) {
  std::size_t queued = 0;
  rig r;
  session_config c = r.s->config();
  c.output_budget = 4096;
  c.queued_output = [&] { return queued; };
  r.s = std::make_unique<session>(c, r.lu, [&](out_pdu o) {
    queued += o.length + 48;
    r.out.push_back(to_pdu(o));
  });
  for (std::uint32_t i = 0; i < 64; ++i) r.s->on_pdu(r.read10(0, 8, 1 + i));  // 4 KiB each
  // The first READ runs (nothing queued yet) and fills the budget; the rest wait.
  EXPECT_EQ(r.out.size(), 1u);
  EXPECT_EQ(r.s->tasks_in_flight(), 63u);
  // The first READ's slot was free before its status filled the budget: 101 + 127.
  EXPECT_EQ(r.out[0].u32(32), 101u + 127);
  EXPECT_EQ(r.s->advertised_max_cmd_sn(), 101u + 127);
  queued = 0;  // the connection wrote it out
  r.s->output_drained();
  EXPECT_EQ(r.s->tasks_in_flight(), 62u);  // one more READ ran, the budget is full again
  for (int i = 0; i < 100 && r.s->tasks_in_flight(); ++i) {
    queued = 0;
    r.s->output_drained();
  }
  EXPECT_EQ(r.s->tasks_in_flight(), 0u);
  EXPECT_EQ(r.out.back().u32(32), 164u + 127);  // every slot free again
}

// A status built while the output is over budget does not advance MaxCmdSN; when the output
// drains, a NOP-In (ITT and TTT reserved, §11.19) tells the initiator the new window.
TEST(session, window_reopened_by_nop_in) {
  std::size_t queued = 1u << 30;
  rig r;
  session_config c = r.s->config();
  c.queued_output = [&] { return queued; };
  r.s = std::make_unique<session>(c, r.lu, [&](out_pdu o) { r.out.push_back(to_pdu(o)); });
  r.s->on_pdu(rig::cmd(0x00, 0, 0, false, false, 0, 7, 100));  // TEST UNIT READY
  ASSERT_EQ(r.out.size(), 1u);
  EXPECT_EQ(r.out[0].u32(32), 100u + 127);  // stalled: not 101 + 127
  r.s->output_drained();
  EXPECT_EQ(r.out.size(), 1u);  // still over budget: nothing to announce
  queued = 0;
  r.s->output_drained();
  ASSERT_EQ(r.out.size(), 2u);
  EXPECT_EQ(r.out[1].op(), opcode::nop_in);
  EXPECT_EQ(r.out[1].itt(), reserved_tag);
  EXPECT_EQ(r.out[1].u32(32), 101u + 127);
  r.s->output_drained();
  EXPECT_EQ(r.out.size(), 2u);  // announced once
}

}  // namespace
}  // namespace diskless::iscsi

namespace diskless::iscsi {
namespace {

TEST(session, write_residuals_follow_the_smaller_length) {
  rig r;
  // CDB: 1 block, EDTL 2 blocks → underflow 512, only one block written.
  auto pat = pattern(1024, 9);
  r.s->on_pdu(rig::cmd(0x2a, 0, 1, false, true, 1024, 1, r.cmd_sn++, pat));
  ASSERT_EQ(r.out.back().op(), opcode::scsi_response);
  EXPECT_EQ(r.out.back().flags() & 0x06, 0x02);
  EXPECT_EQ(r.out.back().u32(44), 512u);
  EXPECT_TRUE(std::equal(pat.begin(), pat.begin() + 512, r.lu->disk.begin()));
  EXPECT_EQ(r.lu->disk[512], std::byte{0});
  // CDB: 2 blocks, EDTL 1 block → overflow 512, the first block written.
  auto pat2 = pattern(512, 4);
  r.s->on_pdu(rig::cmd(0x2a, 8, 2, false, true, 512, 2, r.cmd_sn++, pat2));
  EXPECT_EQ(r.out.back().flags() & 0x06, 0x04);
  EXPECT_EQ(r.out.back().u32(44), 512u);
  EXPECT_TRUE(std::equal(pat2.begin(), pat2.end(), r.lu->disk.begin() + 8 * 512));
  // EDTL 0: nothing written, GOOD, overflow one block.
  r.s->on_pdu(rig::cmd(0x2a, 0, 1, false, true, 0, 3, r.cmd_sn++));
  EXPECT_EQ(r.out.back().u8(3), 0);
  EXPECT_EQ(r.out.back().flags() & 0x06, 0x04);
  EXPECT_EQ(r.out.back().u32(44), 512u);
}

}  // namespace
}  // namespace diskless::iscsi
