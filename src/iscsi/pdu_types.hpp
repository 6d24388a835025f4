#pragma once
// Per-opcode views and builders of the 48-byte Basic Header Segment (RFC 7143 §11). A view reads
// named fields from a received BHS; a builder is a plain struct of named fields that encodes into
// an out_pdu's BHS. Field positions live here and in pdu_types.cpp only. The data segment is
// attached afterwards (out_pdu::attach sets DataSegmentLength).
#include <array>
#include <cstdint>
#include <span>

#include "iscsi/pdu.hpp"

namespace diskless::iscsi {

// Serial number arithmetic (RFC 1982 §3.2, as RFC 7143 §4.2.2.1 requires for CmdSN and StatSN):
// a < b when b is "ahead" of a by less than 2^31.
constexpr bool sn_lt(std::uint32_t a, std::uint32_t b) {
  return a != b && static_cast<std::int32_t>(a - b) < 0;
}

namespace bhs {

using isid_bytes = std::array<std::byte, 6>;

// StatSN, ExpCmdSN, MaxCmdSN: bytes 24-35 of every target PDU that carries them (§11.2.1).
struct status_sns {
  std::uint32_t stat_sn = 0, exp_cmd_sn = 0, max_cmd_sn = 0;
};

// --- Initiator → target: read views -----------------------------------------------------------

// Fields every request shares (§11.2.1).
struct request_view {
  const bhs_bytes& b;
  opcode op() const;
  bool immediate() const;  // I bit
  bool final_bit() const;  // F bit
  std::uint32_t itt() const;
  std::uint64_t lun_field() const;  // bytes 8-15 as on the wire (decode_lun for the number)
  std::uint32_t data_length() const;
  std::uint8_t total_ahs_length() const;  // in 4-byte words
};

struct scsi_command_view : request_view {  // §11.3
  bool read() const;                       // R
  bool write() const;                      // W
  std::uint8_t task_attr() const;
  std::uint32_t expected_length() const;  // Expected Data Transfer Length
  std::uint32_t cmd_sn() const;
  std::uint32_t exp_stat_sn() const;
  std::span<const std::byte, 16> cdb() const;
  // The whole CDB: the 16 BHS bytes, then the bytes of an Extended CDB AHS (§11.2.1.4, §11.3.5)
  // found in `ahs` (the PDU's AHS segments); malformed or other AHS types add nothing.
  bytes full_cdb(byte_span ahs) const;
};

struct data_out_view : request_view {  // §11.7
  std::uint32_t ttt() const;
  std::uint32_t exp_stat_sn() const;
  std::uint32_t data_sn() const;
  std::uint32_t buffer_offset() const;
};

struct task_mgmt_view : request_view {  // §11.5
  std::uint8_t function() const;
  std::uint32_t referenced_task_tag() const;
  std::uint32_t cmd_sn() const;
  std::uint32_t exp_stat_sn() const;
  std::uint32_t ref_cmd_sn() const;
  std::uint32_t exp_data_sn() const;
};

struct login_request_view : request_view {  // §11.12
  bool transit() const;                     // T
  bool continue_() const;                   // C
  std::uint8_t csg() const;
  std::uint8_t nsg() const;
  std::uint8_t version_max() const;
  std::uint8_t version_min() const;
  isid_bytes isid() const;
  std::uint16_t tsih() const;
  std::uint16_t cid() const;
  std::uint32_t cmd_sn() const;
  std::uint32_t exp_stat_sn() const;
};

struct text_request_view : request_view {  // §11.10
  bool continue_() const;                  // C
  std::uint32_t ttt() const;
  std::uint32_t cmd_sn() const;
  std::uint32_t exp_stat_sn() const;
};

struct nop_out_view : request_view {  // §11.18
  std::uint32_t ttt() const;
  std::uint32_t cmd_sn() const;
  std::uint32_t exp_stat_sn() const;
};

struct logout_request_view : request_view {  // §11.14
  std::uint8_t reason() const;
  std::uint16_t cid() const;
  std::uint32_t cmd_sn() const;
  std::uint32_t exp_stat_sn() const;
};

// CmdSN of any request that carries one (SCSI Command, TMF, Text, NOP-Out, Logout, Login: byte 24).
std::uint32_t request_cmd_sn(const bhs_bytes& b);

// --- Target → initiator: builders ---------------------------------------------------------------

struct scsi_response {              // §11.4
  std::uint8_t residual_flags = 0;  // o (overflow) / u (underflow), see flag_* below
  std::uint8_t response = 0;        // 0: command completed at target
  std::uint8_t status = 0;          // SAM-5 status
  std::uint32_t itt = 0;
  status_sns sns;
  std::uint32_t exp_data_sn = 0;
  std::uint32_t bidi_residual = 0;
  std::uint32_t residual = 0;
  out_pdu encode() const;
};

struct data_in {  // §11.7
  bool final = false;
  bool status_present = false;      // S: status (and residual) in this PDU, phase collapse
  std::uint8_t residual_flags = 0;  // only with S
  std::uint8_t status = 0;          // only with S
  std::uint64_t lun_field = 0;
  std::uint32_t itt = 0;
  std::uint32_t ttt = reserved_tag;
  status_sns sns;  // StatSN only with S (0 otherwise)
  std::uint32_t data_sn = 0;
  std::uint32_t buffer_offset = 0;
  std::uint32_t residual = 0;  // only with S
  out_pdu encode() const;
};

struct r2t {  // §11.8
  std::uint64_t lun_field = 0;
  std::uint32_t itt = 0, ttt = 0;
  status_sns sns;
  std::uint32_t r2t_sn = 0, buffer_offset = 0, desired_length = 0;
  out_pdu encode() const;
};

struct login_response {  // §11.13
  bool transit = false;
  bool continue_ = false;
  std::uint8_t csg = 0, nsg = 0;
  std::uint8_t version_max = 0, version_active = 0;
  isid_bytes isid{};
  std::uint16_t tsih = 0;
  std::uint32_t itt = 0;
  status_sns sns;
  std::uint16_t status = 0;  // Status-Class << 8 | Status-Detail
  out_pdu encode() const;
};
// Sets the TSIH of an encoded Login Response (given when the session is made).
void set_login_tsih(out_pdu& o, std::uint16_t tsih);
// Status-Class << 8 | Status-Detail of an encoded Login Response (§11.13.5).
std::uint16_t login_response_status(const out_pdu& o);

struct text_response {  // §11.11
  bool final = true;
  bool continue_ = false;
  std::uint64_t lun_field = 0;
  std::uint32_t itt = 0, ttt = reserved_tag;
  status_sns sns;
  out_pdu encode() const;
};

struct nop_in {  // §11.19
  std::uint64_t lun_field = 0;
  std::uint32_t itt = reserved_tag, ttt = reserved_tag;
  status_sns sns;
  out_pdu encode() const;
};

struct task_mgmt_response {  // §11.6
  std::uint8_t response = 0;
  std::uint32_t itt = 0;
  status_sns sns;
  out_pdu encode() const;
};

struct logout_response {  // §11.15
  std::uint8_t response = 0;
  std::uint32_t itt = 0;
  status_sns sns;
  std::uint16_t time2wait = 0, time2retain = 0;
  out_pdu encode() const;
};

struct reject {  // §11.17; the data segment is the rejected PDU's header
  std::uint8_t reason = 0;
  status_sns sns;
  std::uint32_t data_sn = 0;  // DataSN/R2TSN when a data PDU was rejected
  out_pdu encode() const;
};

struct async_message {  // §11.9
  std::uint64_t lun_field = 0;
  status_sns sns;
  std::uint8_t event = 0, vendor_code = 0;
  std::uint16_t parameter1 = 0, parameter2 = 0, parameter3 = 0;
  out_pdu encode() const;
};

// SCSI Response / Data-In residual flags (§11.4.5, §11.7.5).
constexpr std::uint8_t flag_overflow = 0x04, flag_underflow = 0x02;

// Reject reasons (§11.17.1).
constexpr std::uint8_t reject_data_digest = 0x02, reject_protocol = 0x04,
                       reject_not_supported = 0x05, reject_invalid_field = 0x09;

}  // namespace bhs
}  // namespace diskless::iscsi
