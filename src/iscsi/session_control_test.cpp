// Session control: NOP, task management, logout, text/SendTargets, rejects, other LUNs.
#include <gtest/gtest.h>

#include "iscsi/session_rig.hpp"

namespace diskless::iscsi {
namespace {
using namespace test;

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
