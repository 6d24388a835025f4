#include "iscsi/session.hpp"

#include <gtest/gtest.h>

#include <deque>

#include "iscsi/test_util.hpp"
#include "scsi/sense.hpp"

namespace diskless::iscsi {
namespace {

using namespace testing;

// A fake logical unit: 64 KiB of memory, READ(10)/WRITE(10)/TEST UNIT READY; completions are
// held until release() so tests can observe in-flight behaviour.
class fake_lu : public scsi::logical_unit {
 public:
  bytes disk = bytes(65536);
  std::deque<std::pair<scsi::task, scsi::completion>> pending;
  int resets = 0;
  bool hold = false;

  void execute(scsi::task t, scsi::completion done) override {
    if (hold) {
      pending.emplace_back(std::move(t), std::move(done));
      return;
    }
    run(std::move(t), std::move(done));
  }
  void release() {
    while (!pending.empty()) {
      auto [t, d] = std::move(pending.front());
      pending.pop_front();
      run(std::move(t), std::move(d));
    }
  }
  void lun_reset(scsi::nexus_id) override { ++resets; }
  void nexus_lost(scsi::nexus_id) override {}
  std::uint32_t block_size() const override { return 512; }

 private:
  void run(scsi::task t, scsi::completion done) {
    scsi::task_result r;
    auto op = std::to_integer<int>(t.cdb[0]);
    std::uint32_t lba = load_u32(t.cdb, 2), n = load_u16(t.cdb, 7) * 512u;
    if (op == 0x28) {
      r.data_in = bytes(disk.begin() + lba * 512, disk.begin() + lba * 512 + n);
    } else if (op == 0x2a) {
      std::copy(t.data_out.begin(), t.data_out.begin() + n, disk.begin() + lba * 512);
    } else if (op != 0x00) {
      r = scsi::invalid_opcode();
    }
    done(std::move(r));
  }
};

struct rig {
  std::shared_ptr<fake_lu> lu = std::make_shared<fake_lu>();
  std::vector<pdu> out;
  std::unique_ptr<session> s;
  std::uint32_t cmd_sn = 100;

  explicit rig(session_params p = {}, bool discovery = false) {
    session_config c;
    c.params = p;
    c.discovery = discovery;
    c.exp_cmd_sn = cmd_sn;
    c.stat_sn = 5;
    c.inv = make_inventory();
    c.initiator_name = initiator("pc1");
    c.target_name = target("pc1");
    c.portal = "10.0.0.1:3260,1";
    s = std::make_unique<session>(c, lu, [this](out_pdu o) {
      // Through the real wire format and framer, split at every offset for good measure.
      out.push_back(to_pdu(o));
    });
  }

  static pdu cmd(std::uint8_t op, std::uint32_t lba, std::uint16_t blocks, bool read, bool write,
                 std::uint32_t edtl, std::uint32_t itt, std::uint32_t sn, bytes imm = {}) {
    pdu p;
    p.bhs[0] = std::byte{0x01};
    p.bhs[1] = std::byte(0x80 | (read ? 0x40 : 0) | (write ? 0x20 : 0) | 1);
    store_u32(p.bhs, 16, itt);
    store_u32(p.bhs, 20, edtl);
    store_u32(p.bhs, 24, sn);
    p.bhs[32] = std::byte{op};
    store_u32(p.bhs, 34, lba);
    store_u16(p.bhs, 39, blocks);
    p.data = std::move(imm);
    store_u24(p.bhs, 5, static_cast<std::uint32_t>(p.data.size()));
    return p;
  }
  pdu read10(std::uint32_t lba, std::uint16_t blocks, std::uint32_t itt) {
    return cmd(0x28, lba, blocks, true, false, blocks * 512u, itt, cmd_sn++);
  }
  static pdu data_out(std::uint32_t itt, std::uint32_t ttt, std::uint32_t sn, std::uint32_t off,
                      bytes d, bool final) {
    pdu p;
    p.bhs[0] = std::byte{0x05};
    p.bhs[1] = std::byte(final ? 0x80 : 0);
    store_u32(p.bhs, 16, itt);
    store_u32(p.bhs, 20, ttt);
    store_u32(p.bhs, 36, sn);
    store_u32(p.bhs, 40, off);
    p.data = std::move(d);
    store_u24(p.bhs, 5, static_cast<std::uint32_t>(p.data.size()));
    return p;
  }
};

bytes pattern(std::size_t n, int seed) {
  bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = std::byte((i * 31 + seed) & 0xff);
  return b;
}

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

TEST(session, nop_out_echo_and_ping) {
  rig r;
  pdu nop;
  nop.bhs[0] = std::byte{0x40};
  nop.bhs[1] = std::byte{0x80};
  store_u32(nop.bhs, 16, 0x55);
  store_u32(nop.bhs, 20, reserved_tag);
  nop.data = to_bytes("ping!");
  store_u24(nop.bhs, 5, 5);
  r.s->on_pdu(nop);
  ASSERT_EQ(r.out.size(), 1u);
  EXPECT_EQ(r.out[0].op(), opcode::nop_in);
  EXPECT_EQ(r.out[0].itt(), 0x55u);
  EXPECT_EQ(to_string(r.out[0].data), "ping!");
  r.s->ping();
  ASSERT_EQ(r.out.size(), 2u);
  EXPECT_EQ(r.out[1].itt(), reserved_tag);
  EXPECT_NE(r.out[1].u32(20), reserved_tag);
  EXPECT_EQ(r.out[1].u32(24), r.out[0].u32(24) + 1);  // StatSN not advanced by a ping
  r.s->ping();                                        // unanswered pings never end the session
  EXPECT_FALSE(r.s->closing());
}

pdu tmf(std::uint8_t function, std::uint32_t itt, std::uint32_t ref, std::uint32_t sn,
        std::uint32_t ref_sn = 0) {
  pdu p;
  p.bhs[0] = std::byte{0x42};
  p.bhs[1] = std::byte(0x80 | function);
  store_u32(p.bhs, 16, itt);
  store_u32(p.bhs, 20, ref);
  store_u32(p.bhs, 24, sn);
  store_u32(p.bhs, 32, ref_sn);
  return p;
}

TEST(session, abort_task_suppresses_response) {
  rig r;
  r.lu->hold = true;
  r.s->on_pdu(r.read10(0, 1, 1));
  r.s->on_pdu(tmf(1, 2, 1, r.cmd_sn));
  ASSERT_EQ(r.out.size(), 1u);
  EXPECT_EQ(r.out[0].op(), opcode::task_mgmt_response);
  EXPECT_EQ(r.out[0].u8(2), 0);
  r.lu->release();
  EXPECT_EQ(r.out.size(), 1u);  // no response for the aborted READ
  EXPECT_EQ(r.s->tasks_in_flight(), 0u);
  // Unknown task, RefCmdSN outside the window: task does not exist.
  r.s->on_pdu(tmf(1, 3, 77, r.cmd_sn, 5));
  EXPECT_EQ(r.out.back().u8(2), 1);
}

TEST(session, lun_reset_and_cold_reset) {
  rig r;
  r.lu->hold = true;
  r.s->on_pdu(r.read10(0, 1, 1));
  r.s->on_pdu(r.read10(1, 1, 2));
  EXPECT_TRUE(r.s->on_pdu(tmf(5, 3, 0, r.cmd_sn)));
  EXPECT_EQ(r.lu->resets, 1);
  r.lu->release();
  ASSERT_EQ(r.out.size(), 1u);
  EXPECT_EQ(r.out[0].u8(2), 0);
  EXPECT_FALSE(r.s->on_pdu(tmf(7, 4, 0, r.cmd_sn)));  // cold reset drops the connection
  EXPECT_EQ(r.out.back().op(), opcode::task_mgmt_response);
  rig r2;
  r2.s->on_pdu(tmf(8, 4, 0, r2.cmd_sn));
  EXPECT_EQ(r2.out.back().u8(2), 4);  // no task reassignment at ERL 0
}

TEST(session, logout_waits_for_tasks) {
  rig r;
  r.lu->hold = true;
  r.s->on_pdu(r.read10(0, 1, 1));
  pdu lo;
  lo.bhs[0] = std::byte{0x46};
  lo.bhs[1] = std::byte{0x80};
  store_u32(lo.bhs, 16, 9);
  store_u32(lo.bhs, 24, r.cmd_sn);
  EXPECT_TRUE(r.s->on_pdu(lo));
  EXPECT_TRUE(r.out.empty());
  r.lu->release();
  ASSERT_EQ(r.out.size(), 2u);
  EXPECT_EQ(r.out[0].op(), opcode::data_in);
  EXPECT_EQ(r.out[1].op(), opcode::logout_response);
  EXPECT_TRUE(r.s->closing());
}

pdu text_req(std::string_view body, std::uint32_t itt, std::uint32_t ttt = reserved_tag) {
  pdu p;
  p.bhs[0] = std::byte{0x44};
  p.bhs[1] = std::byte{0x80};
  store_u32(p.bhs, 16, itt);
  store_u32(p.bhs, 20, ttt);
  p.data = to_bytes(body);
  store_u24(p.bhs, 5, static_cast<std::uint32_t>(p.data.size()));
  return p;
}

TEST(session, send_targets_lists_only_allowed) {
  rig r({}, true);
  r.s->on_pdu(text_req(std::string_view("SendTargets=All\0", 16), 1));
  ASSERT_EQ(r.out.size(), 1u);
  out_pdu reply;
  reply.bhs = r.out[0].bhs;
  reply.attach(r.out[0].data);
  auto kv = keys_of(reply);
  // pc1's own target and the open "lab" one; never pc2/pc3.
  ASSERT_EQ(kv.size(), 4u);
  EXPECT_EQ(kv[0].second, target("pc1"));
  EXPECT_EQ(kv[1].second, "10.0.0.1:3260,1");
  EXPECT_EQ(kv[2].second, target("lab"));
  EXPECT_EQ(r.out[0].flags(), 0x80);
}

TEST(session, long_text_response_continues) {
  session_params p;
  p.initiator_mrdsl = 512;  // smallest legal; the list is longer
  rig r(p, true);
  auto inv = std::const_pointer_cast<inventory::inventory>(make_inventory());
  for (int i = 0; i < 20; ++i) {
    inventory::host h;
    h.name = "many" + std::to_string(i);
    h.image = "img";
    h.allow_any_initiator = true;
    inv->hosts.push_back(h);
  }
  r.s->set_inventory(inv);
  r.s->on_pdu(text_req(std::string_view("SendTargets=All\0", 16), 1));
  bytes all;
  for (int guard = 0; guard < 50; ++guard) {
    auto last = r.out.back();
    all.insert(all.end(), last.data.begin(), last.data.end());
    if (last.flags() & 0x80) break;
    EXPECT_EQ(last.flags(), 0x40);
    r.s->on_pdu(text_req("", 2, last.u32(20)));
  }
  EXPECT_GT(r.out.size(), 2u);
  auto kv = parse_text(all);
  ASSERT_TRUE(kv);
  EXPECT_EQ(kv->size(), 44u);
}

TEST(session, rejects_and_digest_error) {
  rig r;
  pdu snack;
  snack.bhs[0] = std::byte{0x10};
  r.s->on_pdu(snack);
  EXPECT_EQ(r.out.back().op(), opcode::reject);
  pdu odd;
  odd.bhs[0] = std::byte{0x1c};
  r.s->on_pdu(odd);
  EXPECT_EQ(r.out.back().u8(2), 0x05);
  EXPECT_EQ(r.out.back().data.size(), 48u);
  EXPECT_FALSE(r.s->on_pdu(r.read10(0, 1, 1), true));
  EXPECT_EQ(r.out.back().u8(2), 0x02);
}

TEST(session, other_luns) {
  rig r;
  auto inq = rig::cmd(0x12, 0, 0, true, false, 96, 1, r.cmd_sn++);
  store_u64(inq.bhs, 8, encode_lun(3));
  inq.bhs[32] = std::byte{0x12};
  store_u16(inq.bhs, 35, 96);
  r.s->on_pdu(inq);
  ASSERT_EQ(r.out.size(), 1u);
  EXPECT_EQ(r.out[0].data[0], std::byte{0x7f});
  auto tur = rig::cmd(0x00, 0, 0, false, false, 0, 2, r.cmd_sn++);
  store_u64(tur.bhs, 8, encode_lun(3));
  r.s->on_pdu(tur);
  EXPECT_EQ(r.out.back().u8(3), 0x02);
}

TEST(session, late_completion_after_destruction_is_dropped) {
  auto r = std::make_unique<rig>();
  r->lu->hold = true;
  r->s->on_pdu(r->read10(0, 1, 1));
  auto lu = r->lu;
  r->s.reset();
  lu->release();  // must not touch the dead session
  SUCCEED();
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
