#include "iscsi/pdu_types.hpp"

#include <algorithm>

namespace diskless::iscsi::bhs {
namespace {

// Byte positions shared by many PDUs (RFC 7143 §11.2.1 and the per-opcode layouts).
constexpr std::size_t at_flags = 1, at_ahs_len = 4, at_data_len = 5, at_lun = 8, at_itt = 16,
                      at_ttt = 20, at_sn = 24, at_exp_sn = 28, at_max_sn = 32;

std::uint8_t get8(const bhs_bytes& b, std::size_t at) {
  return std::to_integer<std::uint8_t>(b[at]);
}
void put8(bhs_bytes& b, std::size_t at, std::uint8_t v) {
  b[at] = std::byte{v};
}
bool bit(const bhs_bytes& b, std::size_t at, std::uint8_t mask) {
  return (get8(b, at) & mask) != 0;
}

out_pdu start(opcode op, std::uint8_t flags) {
  out_pdu o;
  put8(o.bhs, 0, static_cast<std::uint8_t>(op));
  put8(o.bhs, at_flags, flags);
  return o;
}

void put_sns(bhs_bytes& b, const status_sns& s) {
  store_u32(b, at_sn, s.stat_sn);
  store_u32(b, at_exp_sn, s.exp_cmd_sn);
  store_u32(b, at_max_sn, s.max_cmd_sn);
}

}  // namespace

// request_view: §11.2.1 (byte 0: I bit and opcode; byte 1 bit 7: F).
opcode request_view::op() const {
  return static_cast<opcode>(get8(b, 0) & 0x3f);
}
bool request_view::immediate() const {
  return bit(b, 0, 0x40);
}
bool request_view::final_bit() const {
  return bit(b, at_flags, 0x80);
}
std::uint32_t request_view::itt() const {
  return load_u32(b, at_itt);
}
std::uint64_t request_view::lun_field() const {
  return load_u64(b, at_lun);
}
std::uint32_t request_view::data_length() const {
  return load_u24(b, at_data_len);
}
std::uint8_t request_view::total_ahs_length() const {
  return get8(b, at_ahs_len);
}

std::uint32_t request_cmd_sn(const bhs_bytes& b) {
  return load_u32(b, at_sn);
}

// §11.3: flags F R W . . ATTR(3); EDTL 20, CmdSN 24, ExpStatSN 28, CDB 32-47.
bool scsi_command_view::read() const {
  return bit(b, at_flags, 0x40);
}
bool scsi_command_view::write() const {
  return bit(b, at_flags, 0x20);
}
std::uint8_t scsi_command_view::task_attr() const {
  return get8(b, at_flags) & 0x07;
}
std::uint32_t scsi_command_view::expected_length() const {
  return load_u32(b, 20);
}
std::uint32_t scsi_command_view::cmd_sn() const {
  return load_u32(b, at_sn);
}
std::uint32_t scsi_command_view::exp_stat_sn() const {
  return load_u32(b, at_exp_sn);
}
std::span<const std::byte, 16> scsi_command_view::cdb() const {
  return std::span<const std::byte, 16>(b.data() + 32, 16);
}
bytes scsi_command_view::full_cdb(byte_span ahs) const {
  bytes out(cdb().begin(), cdb().end());
  // §11.2.2: an AHS is AHSLength (2 bytes), AHSType (1), then AHSLength bytes counted from the
  // byte after the type (which for an Extended CDB AHS, §11.2.2.3, is reserved: AHSLength =
  // CDBLength - 15), padded to 4. So after the first 4 bytes come AHSLength - 1 bytes + padding.
  byte_reader r(ahs);
  while (r.remaining() >= 4) {
    const std::uint16_t len = r.u16();
    const std::uint8_t type = r.u8();
    r.skip(1);
    if (len == 0) break;  // not even the byte after the type: malformed
    auto body = r.take((len + 2u) & ~3u);
    if (!r.ok()) break;
    if (type == 1) out.insert(out.end(), body.begin(), body.begin() + (len - 1));
  }
  return out;
}

// §11.7: TTT 20, ExpStatSN 28, DataSN 36, Buffer Offset 40.
std::uint32_t data_out_view::ttt() const {
  return load_u32(b, at_ttt);
}
std::uint32_t data_out_view::exp_stat_sn() const {
  return load_u32(b, at_exp_sn);
}
std::uint32_t data_out_view::data_sn() const {
  return load_u32(b, 36);
}
std::uint32_t data_out_view::buffer_offset() const {
  return load_u32(b, 40);
}

// §11.5: function in byte 1 bits 0-6; RTT 20, CmdSN 24, ExpStatSN 28, RefCmdSN 32, ExpDataSN 36.
std::uint8_t task_mgmt_view::function() const {
  return get8(b, at_flags) & 0x7f;
}
std::uint32_t task_mgmt_view::referenced_task_tag() const {
  return load_u32(b, at_ttt);
}
std::uint32_t task_mgmt_view::cmd_sn() const {
  return load_u32(b, at_sn);
}
std::uint32_t task_mgmt_view::exp_stat_sn() const {
  return load_u32(b, at_exp_sn);
}
std::uint32_t task_mgmt_view::ref_cmd_sn() const {
  return load_u32(b, 32);
}
std::uint32_t task_mgmt_view::exp_data_sn() const {
  return load_u32(b, 36);
}

// §11.12: T C . . CSG(2) NSG(2); Version-max 2, -min 3; ISID 8-13, TSIH 14, CID 20, CmdSN 24.
bool login_request_view::transit() const {
  return bit(b, at_flags, 0x80);
}
bool login_request_view::continue_() const {
  return bit(b, at_flags, 0x40);
}
std::uint8_t login_request_view::csg() const {
  return (get8(b, at_flags) >> 2) & 3;
}
std::uint8_t login_request_view::nsg() const {
  return get8(b, at_flags) & 3;
}
std::uint8_t login_request_view::version_max() const {
  return get8(b, 2);
}
std::uint8_t login_request_view::version_min() const {
  return get8(b, 3);
}
isid_bytes login_request_view::isid() const {
  isid_bytes i;
  std::copy_n(b.begin() + at_lun, i.size(), i.begin());
  return i;
}
std::uint16_t login_request_view::tsih() const {
  return load_u16(b, 14);
}
std::uint16_t login_request_view::cid() const {
  return load_u16(b, 20);
}
std::uint32_t login_request_view::cmd_sn() const {
  return load_u32(b, at_sn);
}
std::uint32_t login_request_view::exp_stat_sn() const {
  return load_u32(b, at_exp_sn);
}

// §11.10: F C; TTT 20, CmdSN 24, ExpStatSN 28.
bool text_request_view::continue_() const {
  return bit(b, at_flags, 0x40);
}
std::uint32_t text_request_view::ttt() const {
  return load_u32(b, at_ttt);
}
std::uint32_t text_request_view::cmd_sn() const {
  return load_u32(b, at_sn);
}
std::uint32_t text_request_view::exp_stat_sn() const {
  return load_u32(b, at_exp_sn);
}

// §11.18: TTT 20, CmdSN 24, ExpStatSN 28.
std::uint32_t nop_out_view::ttt() const {
  return load_u32(b, at_ttt);
}
std::uint32_t nop_out_view::cmd_sn() const {
  return load_u32(b, at_sn);
}
std::uint32_t nop_out_view::exp_stat_sn() const {
  return load_u32(b, at_exp_sn);
}

// §11.14: reason code in byte 1 bits 0-6; CID 20, CmdSN 24, ExpStatSN 28.
std::uint8_t logout_request_view::reason() const {
  return get8(b, at_flags) & 0x7f;
}
std::uint16_t logout_request_view::cid() const {
  return load_u16(b, 20);
}
std::uint32_t logout_request_view::cmd_sn() const {
  return load_u32(b, at_sn);
}
std::uint32_t logout_request_view::exp_stat_sn() const {
  return load_u32(b, at_exp_sn);
}

// §11.4: 1 . . o u O U .; Response 2, Status 3; ExpDataSN 36, Bidi residual 40, residual 44.
out_pdu scsi_response::encode() const {
  auto o = start(opcode::scsi_response, static_cast<std::uint8_t>(0x80 | (residual_flags & 0x06)));
  put8(o.bhs, 2, response);
  put8(o.bhs, 3, status);
  store_u32(o.bhs, at_itt, itt);
  put_sns(o.bhs, sns);
  store_u32(o.bhs, 36, exp_data_sn);
  store_u32(o.bhs, 40, bidi_residual);
  store_u32(o.bhs, 44, residual);
  return o;
}

// §11.7: F A . . . O U S; Status 3 (with S); DataSN 36, Buffer Offset 40, Residual 44 (with S).
out_pdu data_in::encode() const {
  std::uint8_t f = final ? 0x80 : 0x00;
  if (status_present) f |= 0x01 | (residual_flags & 0x06);
  auto o = start(opcode::data_in, f);
  if (status_present) put8(o.bhs, 3, status);
  store_u64(o.bhs, at_lun, lun_field);
  store_u32(o.bhs, at_itt, itt);
  store_u32(o.bhs, at_ttt, ttt);
  put_sns(o.bhs, {status_present ? sns.stat_sn : 0, sns.exp_cmd_sn, sns.max_cmd_sn});
  store_u32(o.bhs, 36, data_sn);
  store_u32(o.bhs, 40, buffer_offset);
  if (status_present) store_u32(o.bhs, 44, residual);
  return o;
}

// §11.8: R2TSN 36, Buffer Offset 40, Desired Data Transfer Length 44.
out_pdu r2t::encode() const {
  auto o = start(opcode::r2t, 0x80);
  store_u64(o.bhs, at_lun, lun_field);
  store_u32(o.bhs, at_itt, itt);
  store_u32(o.bhs, at_ttt, ttt);
  put_sns(o.bhs, sns);
  store_u32(o.bhs, 36, r2t_sn);
  store_u32(o.bhs, 40, buffer_offset);
  store_u32(o.bhs, 44, desired_length);
  return o;
}

// §11.13: T C . . CSG NSG; Version-max 2, -active 3; ISID 8, TSIH 14; Status-Class 36, -Detail 37.
out_pdu login_response::encode() const {
  auto f = static_cast<std::uint8_t>((csg & 3) << 2);
  if (transit) f |= 0x80 | (nsg & 3);
  if (continue_) f |= 0x40;
  auto o = start(opcode::login_response, f);
  put8(o.bhs, 2, version_max);
  put8(o.bhs, 3, version_active);
  std::copy(isid.begin(), isid.end(), o.bhs.begin() + at_lun);
  store_u16(o.bhs, 14, tsih);
  store_u32(o.bhs, at_itt, itt);
  put_sns(o.bhs, sns);
  store_u16(o.bhs, 36, status);
  return o;
}

void set_login_tsih(out_pdu& o, std::uint16_t tsih) {
  store_u16(o.bhs, 14, tsih);
}

std::uint16_t login_response_status(const out_pdu& o) {
  return load_u16(o.bhs, 36);
}

// §11.11: F C; TTT 20.
out_pdu text_response::encode() const {
  auto o = start(opcode::text_response,
                 static_cast<std::uint8_t>((final ? 0x80 : 0) | (continue_ ? 0x40 : 0)));
  store_u64(o.bhs, at_lun, lun_field);
  store_u32(o.bhs, at_itt, itt);
  store_u32(o.bhs, at_ttt, ttt);
  put_sns(o.bhs, sns);
  return o;
}

// §11.19: LUN 8, ITT 16, TTT 20.
out_pdu nop_in::encode() const {
  auto o = start(opcode::nop_in, 0x80);
  store_u64(o.bhs, at_lun, lun_field);
  store_u32(o.bhs, at_itt, itt);
  store_u32(o.bhs, at_ttt, ttt);
  put_sns(o.bhs, sns);
  return o;
}

// §11.6: Response 2.
out_pdu task_mgmt_response::encode() const {
  auto o = start(opcode::task_mgmt_response, 0x80);
  put8(o.bhs, 2, response);
  store_u32(o.bhs, at_itt, itt);
  put_sns(o.bhs, sns);
  return o;
}

// §11.15: Response 2; Time2Wait 40, Time2Retain 42.
out_pdu logout_response::encode() const {
  auto o = start(opcode::logout_response, 0x80);
  put8(o.bhs, 2, response);
  store_u32(o.bhs, at_itt, itt);
  put_sns(o.bhs, sns);
  store_u16(o.bhs, 40, time2wait);
  store_u16(o.bhs, 42, time2retain);
  return o;
}

// §11.17: Reason 2; ITT is 0xffffffff; DataSN/R2TSN 36.
out_pdu reject::encode() const {
  auto o = start(opcode::reject, 0x80);
  put8(o.bhs, 2, reason);
  store_u32(o.bhs, at_itt, reserved_tag);
  put_sns(o.bhs, sns);
  store_u32(o.bhs, 36, data_sn);
  return o;
}

// §11.9: LUN 8, ITT 0xffffffff; AsyncEvent 36, AsyncVCode 37, Parameter1-3 at 38, 40, 42.
out_pdu async_message::encode() const {
  auto o = start(opcode::async_message, 0x80);
  store_u64(o.bhs, at_lun, lun_field);
  store_u32(o.bhs, at_itt, reserved_tag);
  put_sns(o.bhs, sns);
  put8(o.bhs, 36, event);
  put8(o.bhs, 37, vendor_code);
  store_u16(o.bhs, 38, parameter1);
  store_u16(o.bhs, 40, parameter2);
  store_u16(o.bhs, 42, parameter3);
  return o;
}

}  // namespace diskless::iscsi::bhs
