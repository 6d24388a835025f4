// Each builder against a byte vector laid out by hand from RFC 7143 §11, each view against bytes
// placed at the RFC's positions.
#include "iscsi/pdu_types.hpp"

#include <gtest/gtest.h>

namespace diskless::iscsi::bhs {
namespace {

// 48 BHS bytes from hex (spaces ignored), zero-padded.
bhs_bytes make(std::string_view hex) {
  auto v = from_hex(hex);
  bhs_bytes b{};
  std::copy_n(v.begin(), std::min(v.size(), b.size()), b.begin());
  return b;
}

std::string hex_of(const out_pdu& o) {
  return to_hex(o.bhs);
}
std::string hex_of(const bhs_bytes& b) {
  return to_hex(b);
}

constexpr status_sns sns{0x01020304, 0x05060708, 0x090a0b0c};
constexpr std::string_view sn_hex = "01020304 05060708 090a0b0c";

TEST(pdu_types, sn_lt_wraps) {
  EXPECT_TRUE(sn_lt(1, 2));
  EXPECT_FALSE(sn_lt(2, 2));
  EXPECT_FALSE(sn_lt(3, 2));
  EXPECT_TRUE(sn_lt(0xfffffff0u, 5));  // RFC 1982 §3.2: 5 is ahead across the wrap
  EXPECT_FALSE(sn_lt(5, 0xfffffff0u));
}

TEST(pdu_types, scsi_command_view) {
  // §11.3: I|01, F R . ATTR=1, AHS 0, DSL 512, LUN 1, ITT, EDTL 4096, CmdSN, ExpStatSN, CDB.
  auto b = make(
      "41 c1 0000 00 000200 0001000000000000 aabbccdd 00001000 00000007 00000009 "
      "28000000001000000800000000000000");
  scsi_command_view v{b};
  EXPECT_EQ(v.op(), opcode::scsi_command);
  EXPECT_TRUE(v.immediate());
  EXPECT_TRUE(v.final_bit());
  EXPECT_TRUE(v.read());
  EXPECT_FALSE(v.write());
  EXPECT_EQ(v.task_attr(), 1);
  EXPECT_EQ(v.data_length(), 512u);
  EXPECT_EQ(decode_lun(v.lun_field()), 1u);
  EXPECT_EQ(v.itt(), 0xaabbccddu);
  EXPECT_EQ(v.expected_length(), 4096u);
  EXPECT_EQ(v.cmd_sn(), 7u);
  EXPECT_EQ(request_cmd_sn(b), 7u);
  EXPECT_EQ(v.exp_stat_sn(), 9u);
  EXPECT_EQ(v.cdb()[0], std::byte{0x28});
  EXPECT_EQ(v.cdb()[8], std::byte{0x08});
  auto w = make("01 a0");
  EXPECT_TRUE(scsi_command_view{w}.write());
  EXPECT_FALSE(scsi_command_view{w}.immediate());
}

// §11.2.2.3: a 32-byte CDB carries bytes 16..31 in an Extended CDB AHS of AHSLength 17 (the
// reserved byte + 16), 20 bytes on the wire; the padding of a 20-byte CDB (AHSLength 5) is
// dropped; other AHS types and a truncated or zero-length AHS add nothing.
TEST(pdu_types, full_cdb_appends_extended_cdb_ahs) {
  auto b = make(
      "01 80 0000 00 000000 0000000000000000 00000001 00000000 00000001 00000001 "
      "7f000000000000000000000000000018");
  scsi_command_view v{b};
  auto ahs32 = from_hex("0011 01 00 101112131415161718191a1b1c1d1e1f");
  auto cdb = v.full_cdb(ahs32);
  ASSERT_EQ(cdb.size(), 32u);
  EXPECT_EQ(cdb[0], std::byte{0x7f});
  EXPECT_EQ(cdb[16], std::byte{0x10});
  EXPECT_EQ(cdb[31], std::byte{0x1f});
  EXPECT_EQ(v.full_cdb(from_hex("0005 01 00 a0a1a2a3 00000000")).size(), 20u);  // + padding
  EXPECT_EQ(v.full_cdb(from_hex("0005 02 00 a0a1a2a3 00000000")).size(), 16u);  // type 2
  EXPECT_EQ(v.full_cdb(from_hex("0011 01 00 1011")).size(), 16u);               // truncated
  EXPECT_EQ(v.full_cdb(from_hex("0000 01 00 00000000")).size(), 16u);           // zero length
  EXPECT_EQ(v.full_cdb({}).size(), 16u);
}

TEST(pdu_types, data_out_view) {
  // §11.7: F, ITT 16, TTT 20, ExpStatSN 28, DataSN 36, Buffer Offset 40.
  auto b = make(
      "05 80 0000 00 000400 0000000000000000 00000011 00000022 00000000 00000033 00000000 "
      "00000044 00000055");
  data_out_view v{b};
  EXPECT_EQ(v.op(), opcode::data_out);
  EXPECT_TRUE(v.final_bit());
  EXPECT_EQ(v.data_length(), 1024u);
  EXPECT_EQ(v.itt(), 0x11u);
  EXPECT_EQ(v.ttt(), 0x22u);
  EXPECT_EQ(v.exp_stat_sn(), 0x33u);
  EXPECT_EQ(v.data_sn(), 0x44u);
  EXPECT_EQ(v.buffer_offset(), 0x55u);
}

TEST(pdu_types, task_mgmt_view) {
  // §11.5: function 1 (ABORT TASK), RTT 20, CmdSN 24, ExpStatSN 28, RefCmdSN 32, ExpDataSN 36.
  auto b = make(
      "42 81 0000 00 000000 0000000000000000 00000001 00000002 00000003 00000004 00000005 "
      "00000006");
  task_mgmt_view v{b};
  EXPECT_EQ(v.function(), 1);
  EXPECT_EQ(v.itt(), 1u);
  EXPECT_EQ(v.referenced_task_tag(), 2u);
  EXPECT_EQ(v.cmd_sn(), 3u);
  EXPECT_EQ(v.exp_stat_sn(), 4u);
  EXPECT_EQ(v.ref_cmd_sn(), 5u);
  EXPECT_EQ(v.exp_data_sn(), 6u);
}

TEST(pdu_types, login_request_view) {
  // §11.12: T, CSG 1, NSG 3; Version-max 0, -min 0; ISID, TSIH 0x0102, ITT, CID 7, CmdSN,
  // ExpStatSN.
  auto b = make("43 87 0000 00 000000 400001370000 0102 00001000 0007 0000 0000000a 0000000b");
  login_request_view v{b};
  EXPECT_TRUE(v.transit());
  EXPECT_FALSE(v.continue_());
  EXPECT_EQ(v.csg(), 1);
  EXPECT_EQ(v.nsg(), 3);
  EXPECT_EQ(v.version_max(), 0);
  EXPECT_EQ(v.version_min(), 0);
  auto isid = v.isid();
  EXPECT_EQ(to_hex(isid), to_hex(from_hex("400001370000")));
  EXPECT_EQ(v.tsih(), 0x0102);
  EXPECT_EQ(v.itt(), 0x1000u);
  EXPECT_EQ(v.cid(), 7);
  EXPECT_EQ(v.cmd_sn(), 10u);
  EXPECT_EQ(v.exp_stat_sn(), 11u);
  auto c = make("43 41 0001");
  EXPECT_TRUE(login_request_view{c}.continue_());
  EXPECT_EQ(login_request_view{c}.version_min(), 1);
}

TEST(pdu_types, text_nop_logout_views) {
  auto t = make("04 40 0000 00 000000 0000000000000000 00000001 00000002 00000003 00000004");
  text_request_view tv{t};
  EXPECT_TRUE(tv.continue_());
  EXPECT_FALSE(tv.final_bit());
  EXPECT_EQ(tv.ttt(), 2u);
  EXPECT_EQ(tv.cmd_sn(), 3u);
  EXPECT_EQ(tv.exp_stat_sn(), 4u);
  auto n = make("40 80 0000 00 000000 0000000000000000 ffffffff 00000012 00000013 00000014");
  nop_out_view nv{n};
  EXPECT_EQ(nv.itt(), reserved_tag);
  EXPECT_EQ(nv.ttt(), 0x12u);
  EXPECT_EQ(nv.cmd_sn(), 0x13u);
  EXPECT_EQ(nv.exp_stat_sn(), 0x14u);
  auto l = make("46 82 0000 00 000000 0000000000000000 00000021 0005 0000 00000022 00000023");
  logout_request_view lv{l};
  EXPECT_EQ(lv.reason(), 2);
  EXPECT_EQ(lv.itt(), 0x21u);
  EXPECT_EQ(lv.cid(), 5);
  EXPECT_EQ(lv.cmd_sn(), 0x22u);
  EXPECT_EQ(lv.exp_stat_sn(), 0x23u);
}

TEST(pdu_types, scsi_response) {
  auto o = scsi_response{.residual_flags = flag_underflow,
                         .status = 0x02,
                         .itt = 0x11,
                         .sns = sns,
                         .exp_data_sn = 3,
                         .bidi_residual = 4,
                         .residual = 5}
               .encode();
  EXPECT_EQ(hex_of(o), hex_of(make(std::string("21 82 00 02 00 000000 0000000000000000 00000011 "
                                               "00000000 ") +
                                   std::string(sn_hex) + " 00000003 00000004 00000005")));
}

TEST(pdu_types, data_in_with_and_without_status) {
  auto d = data_in{.final = true,
                   .status_present = true,
                   .residual_flags = flag_overflow,
                   .status = 0,
                   .lun_field = encode_lun(2),
                   .itt = 0x11,
                   .sns = sns,
                   .data_sn = 6,
                   .buffer_offset = 0x2000,
                   .residual = 9};
  EXPECT_EQ(hex_of(d.encode()),
            hex_of(make(std::string("25 85 00 00 00 000000 0002000000000000 00000011 ffffffff ") +
                        std::string(sn_hex) + " 00000006 00002000 00000009")));
  d.status_present = false;
  d.final = false;
  // Without S: no status, StatSN and residual 0, residual flags clear (§11.7.3-11.7.5).
  EXPECT_EQ(hex_of(d.encode()),
            hex_of(make("25 00 00 00 00 000000 0002000000000000 00000011 ffffffff 00000000 "
                        "05060708 090a0b0c 00000006 00002000 00000000")));
}

TEST(pdu_types, r2t) {
  auto o = r2t{.lun_field = encode_lun(0),
               .itt = 0x11,
               .ttt = 0x22,
               .sns = sns,
               .r2t_sn = 1,
               .buffer_offset = 0x100,
               .desired_length = 0x2000}
               .encode();
  EXPECT_EQ(hex_of(o), hex_of(make(std::string("31 80 0000 00 000000 0000000000000000 00000011 "
                                               "00000022 ") +
                                   std::string(sn_hex) + " 00000001 00000100 00002000")));
}

TEST(pdu_types, login_response_and_tsih) {
  auto o = login_response{.transit = true,
                          .csg = 1,
                          .nsg = 3,
                          .isid = {std::byte{0x40}, std::byte{0}, std::byte{1}, std::byte{0x37},
                                   std::byte{0}, std::byte{0}},
                          .tsih = 0,
                          .itt = 0x1000,
                          .sns = sns,
                          .status = 0x0201}
               .encode();
  set_login_tsih(o, 0x0abc);
  EXPECT_EQ(hex_of(o), hex_of(make(std::string("23 87 00 00 00 000000 400001370000 0abc 00001000 "
                                               "00000000 ") +
                                   std::string(sn_hex) + " 0201")));
  login_response cont;
  cont.continue_ = true;
  auto c = cont.encode();
  EXPECT_EQ(std::to_integer<int>(c.bhs[1]), 0x40);
}

TEST(pdu_types, text_response_flags) {
  auto last = text_response{.itt = 1, .sns = sns}.encode();
  EXPECT_EQ(hex_of(last), hex_of(make(std::string("24 80 0000 00 000000 0000000000000000 00000001 "
                                                  "ffffffff ") +
                                      std::string(sn_hex))));
  text_response mid;
  mid.final = false;
  mid.continue_ = true;
  mid.ttt = 7;
  auto more = mid.encode();
  EXPECT_EQ(std::to_integer<int>(more.bhs[1]), 0x40);
  EXPECT_EQ(load_u32(more.bhs, 20), 7u);
}

TEST(pdu_types, nop_in_tmf_logout_reject_async) {
  EXPECT_EQ(hex_of(nop_in{.lun_field = encode_lun(1), .itt = 3, .sns = sns}.encode()),
            hex_of(make(std::string("20 80 0000 00 000000 0001000000000000 00000003 ffffffff ") +
                        std::string(sn_hex))));
  EXPECT_EQ(hex_of(task_mgmt_response{.response = 5, .itt = 4, .sns = sns}.encode()),
            hex_of(make(std::string("22 80 05 00 00 000000 0000000000000000 00000004 00000000 ") +
                        std::string(sn_hex))));
  EXPECT_EQ(
      hex_of(logout_response{.response = 2, .itt = 5, .sns = sns, .time2wait = 1, .time2retain = 2}
                 .encode()),
      hex_of(make(std::string("26 80 02 00 00 000000 0000000000000000 00000005 00000000 ") +
                  std::string(sn_hex) + " 00000000 0001 0002")));
  EXPECT_EQ(hex_of(reject{.reason = reject_protocol, .sns = sns, .data_sn = 8}.encode()),
            hex_of(make(std::string("3f 80 04 00 00 000000 0000000000000000 ffffffff 00000000 ") +
                        std::string(sn_hex) + " 00000008")));
  EXPECT_EQ(hex_of(async_message{.lun_field = encode_lun(0),
                                 .sns = sns,
                                 .event = 1,
                                 .vendor_code = 2,
                                 .parameter1 = 3,
                                 .parameter2 = 4,
                                 .parameter3 = 5}
                       .encode()),
            hex_of(make(std::string("32 80 0000 00 000000 0000000000000000 ffffffff 00000000 ") +
                        std::string(sn_hex) + " 01 02 0003 0004 0005")));
}

TEST(pdu_types, attach_after_encode_sets_data_length) {
  reject r;
  r.reason = reject_protocol;
  auto o = r.encode();
  o.attach(bytes(48));
  EXPECT_EQ(load_u24(o.bhs, 5), 48u);
}

}  // namespace
}  // namespace diskless::iscsi::bhs
