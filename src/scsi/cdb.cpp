#include "scsi/cdb.hpp"

#include <algorithm>

namespace diskless::scsi {

namespace {

using a = access;
constexpr std::uint8_t ff = 0xff;
constexpr std::uint8_t ctl = 0x07;  // control byte: NACA (rejected when set) + obsolete bits

// The CDB usage data follows the field layouts of SPC-4 §6 and SBC-3 §5; bits that are reserved
// or unsupported are zero so initiators can tell which options we evaluate.
constexpr command_info commands[] = {
    {op::test_unit_ready, false, 0, 6, a::always, "TEST UNIT READY", {0x00, 0, 0, 0, 0, ctl}},
    {op::request_sense, false, 0, 6, a::always, "REQUEST SENSE", {0x03, 0x01, 0, 0, ff, ctl}},
    {op::read6, false, 0, 6, a::read, "READ(6)", {0x08, 0x1f, ff, ff, ff, ctl}},
    {op::write6, false, 0, 6, a::write, "WRITE(6)", {0x0a, 0x1f, ff, ff, ff, ctl}},
    {op::inquiry, false, 0, 6, a::always, "INQUIRY", {0x12, 0x01, ff, ff, ff, ctl}},
    {op::mode_select6, false, 0, 6, a::write, "MODE SELECT(6)", {0x15, 0x11, 0, 0, ff, ctl}},
    {op::reserve6, false, 0, 6, a::always, "RESERVE(6)", {0x16, 0, 0, 0, 0, ctl}},
    {op::release6, false, 0, 6, a::always, "RELEASE(6)", {0x17, 0, 0, 0, 0, ctl}},
    {op::mode_sense6, false, 0, 6, a::read, "MODE SENSE(6)", {0x1a, 0x08, ff, ff, ff, ctl}},
    {op::start_stop_unit,
     false,
     0,
     6,
     a::write,
     "START STOP UNIT",
     {0x1b, 0x01, 0, 0x0f, 0xf7, ctl}},
    {op::prevent_allow,
     false,
     0,
     6,
     a::read,
     "PREVENT ALLOW MEDIUM REMOVAL",
     {0x1e, 0, 0, 0, 0x03, ctl}},
    {op::read_capacity10,
     false,
     0,
     10,
     a::always,
     "READ CAPACITY(10)",
     {0x25, 0, ff, ff, ff, ff, 0, 0, 0x01, ctl}},
    {op::read10,
     false,
     0,
     10,
     a::read,
     "READ(10)",
     {0x28, 0xf8, ff, ff, ff, ff, 0x1f, ff, ff, ctl}},
    {op::write10,
     false,
     0,
     10,
     a::write,
     "WRITE(10)",
     {0x2a, 0xf8, ff, ff, ff, ff, 0x1f, ff, ff, ctl}},
    {op::write_verify10,
     false,
     0,
     10,
     a::write,
     "WRITE AND VERIFY(10)",
     {0x2e, 0xf2, ff, ff, ff, ff, 0x1f, ff, ff, ctl}},
    {op::verify10,
     false,
     0,
     10,
     a::read,
     "VERIFY(10)",
     {0x2f, 0xf6, ff, ff, ff, ff, 0x1f, ff, ff, ctl}},
    {op::prefetch10,
     false,
     0,
     10,
     a::read,
     "PRE-FETCH(10)",
     {0x34, 0x02, ff, ff, ff, ff, 0x1f, ff, ff, ctl}},
    {op::sync_cache10,
     false,
     0,
     10,
     a::write,
     "SYNCHRONIZE CACHE(10)",
     {0x35, 0x06, ff, ff, ff, ff, 0x1f, ff, ff, ctl}},
    {op::read_defect_data10,
     false,
     0,
     10,
     a::read,
     "READ DEFECT DATA(10)",
     {0x37, 0, 0x1f, 0, 0, 0, 0, ff, ff, ctl}},
    {op::write_same10,
     false,
     0,
     10,
     a::write,
     "WRITE SAME(10)",
     {0x41, 0xfe, ff, ff, ff, ff, 0x1f, ff, ff, ctl}},
    {op::unmap, false, 0, 10, a::write, "UNMAP", {0x42, 0x01, 0, 0, 0, 0, 0x1f, ff, ff, ctl}},
    {op::mode_select10,
     false,
     0,
     10,
     a::write,
     "MODE SELECT(10)",
     {0x55, 0x11, 0, 0, 0, 0, 0, ff, ff, ctl}},
    {op::mode_sense10,
     false,
     0,
     10,
     a::read,
     "MODE SENSE(10)",
     {0x5a, 0x18, ff, ff, 0, 0, 0, ff, ff, ctl}},
    {op::pr_in,
     true,
     0x00,
     10,
     a::always,
     "PERSISTENT RESERVE IN (READ KEYS)",
     {0x5e, 0x1f, 0, 0, 0, 0, 0, ff, ff, ctl}},
    {op::pr_in,
     true,
     0x01,
     10,
     a::always,
     "PERSISTENT RESERVE IN (READ RESERVATION)",
     {0x5e, 0x1f, 0, 0, 0, 0, 0, ff, ff, ctl}},
    {op::pr_in,
     true,
     0x02,
     10,
     a::always,
     "PERSISTENT RESERVE IN (REPORT CAPABILITIES)",
     {0x5e, 0x1f, 0, 0, 0, 0, 0, ff, ff, ctl}},
    {op::pr_in,
     true,
     0x03,
     10,
     a::always,
     "PERSISTENT RESERVE IN (READ FULL STATUS)",
     {0x5e, 0x1f, 0, 0, 0, 0, 0, ff, ff, ctl}},
    {op::pr_out,
     true,
     0x00,
     10,
     a::always,
     "PERSISTENT RESERVE OUT (REGISTER)",
     {0x5f, 0x1f, ff, 0, 0, ff, ff, ff, ff, ctl}},
    {op::pr_out,
     true,
     0x01,
     10,
     a::always,
     "PERSISTENT RESERVE OUT (RESERVE)",
     {0x5f, 0x1f, ff, 0, 0, ff, ff, ff, ff, ctl}},
    {op::pr_out,
     true,
     0x02,
     10,
     a::always,
     "PERSISTENT RESERVE OUT (RELEASE)",
     {0x5f, 0x1f, ff, 0, 0, ff, ff, ff, ff, ctl}},
    {op::pr_out,
     true,
     0x03,
     10,
     a::always,
     "PERSISTENT RESERVE OUT (CLEAR)",
     {0x5f, 0x1f, ff, 0, 0, ff, ff, ff, ff, ctl}},
    {op::pr_out,
     true,
     0x04,
     10,
     a::always,
     "PERSISTENT RESERVE OUT (PREEMPT)",
     {0x5f, 0x1f, ff, 0, 0, ff, ff, ff, ff, ctl}},
    {op::pr_out,
     true,
     0x05,
     10,
     a::always,
     "PERSISTENT RESERVE OUT (PREEMPT AND ABORT)",
     {0x5f, 0x1f, ff, 0, 0, ff, ff, ff, ff, ctl}},
    {op::pr_out,
     true,
     0x06,
     10,
     a::always,
     "PERSISTENT RESERVE OUT (REGISTER AND IGNORE)",
     {0x5f, 0x1f, ff, 0, 0, ff, ff, ff, ff, ctl}},
    {op::read16,
     false,
     0,
     16,
     a::read,
     "READ(16)",
     {0x88, 0xf8, ff, ff, ff, ff, ff, ff, ff, ff, ff, ff, ff, ff, 0x1f, ctl}},
    {op::compare_and_write,
     false,
     0,
     16,
     a::write,
     "COMPARE AND WRITE",
     {0x89, 0xf8, ff, ff, ff, ff, ff, ff, ff, ff, 0, 0, 0, ff, 0x1f, ctl}},
    {op::orwrite16,
     false,
     0,
     16,
     a::write,
     "ORWRITE(16)",
     {0x8b, 0xf8, ff, ff, ff, ff, ff, ff, ff, ff, ff, ff, ff, ff, 0x1f, ctl}},
    {op::write16,
     false,
     0,
     16,
     a::write,
     "WRITE(16)",
     {0x8a, 0xf8, ff, ff, ff, ff, ff, ff, ff, ff, ff, ff, ff, ff, 0x1f, ctl}},
    {op::write_verify16,
     false,
     0,
     16,
     a::write,
     "WRITE AND VERIFY(16)",
     {0x8e, 0xf2, ff, ff, ff, ff, ff, ff, ff, ff, ff, ff, ff, ff, 0x1f, ctl}},
    {op::verify16,
     false,
     0,
     16,
     a::read,
     "VERIFY(16)",
     {0x8f, 0xf6, ff, ff, ff, ff, ff, ff, ff, ff, ff, ff, ff, ff, 0x1f, ctl}},
    {op::prefetch16,
     false,
     0,
     16,
     a::read,
     "PRE-FETCH(16)",
     {0x90, 0x02, ff, ff, ff, ff, ff, ff, ff, ff, ff, ff, ff, ff, 0x1f, ctl}},
    {op::sync_cache16,
     false,
     0,
     16,
     a::write,
     "SYNCHRONIZE CACHE(16)",
     {0x91, 0x06, ff, ff, ff, ff, ff, ff, ff, ff, ff, ff, ff, ff, 0x1f, ctl}},
    {op::write_same16,
     false,
     0,
     16,
     a::write,
     "WRITE SAME(16)",
     {0x93, 0xff, ff, ff, ff, ff, ff, ff, ff, ff, ff, ff, ff, ff, 0x1f, ctl}},
    {op::service_action_in16,
     true,
     sa::read_capacity16,
     16,
     a::always,
     "READ CAPACITY(16)",
     {0x9e, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0, ff, ff, ff, ff, 0x01, ctl}},
    {op::service_action_in16,
     true,
     sa::get_lba_status,
     16,
     a::read,
     "GET LBA STATUS",
     {0x9e, 0x1f, ff, ff, ff, ff, ff, ff, ff, ff, ff, ff, ff, ff, 0, ctl}},
    {op::report_luns,
     false,
     0,
     12,
     a::always,
     "REPORT LUNS",
     {0xa0, 0, ff, 0, 0, 0, ff, ff, ff, ff, 0, ctl}},
    {op::maintenance_in,
     true,
     sa::report_target_port_groups,
     12,
     a::always,
     "REPORT TARGET PORT GROUPS",
     {0xa3, 0x3f, 0, 0, 0, 0, ff, ff, ff, ff, 0, ctl}},
    {op::maintenance_in,
     true,
     sa::report_supported_opcodes,
     12,
     a::always,
     "REPORT SUPPORTED OPERATION CODES",
     {0xa3, 0x1f, 0x87, ff, ff, ff, ff, ff, ff, ff, 0, ctl}},
    {op::maintenance_in,
     true,
     sa::report_supported_tmfs,
     12,
     a::always,
     "REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS",
     {0xa3, 0x1f, 0x80, 0, 0, 0, ff, ff, ff, ff, 0, ctl}},
    {op::read12,
     false,
     0,
     12,
     a::read,
     "READ(12)",
     {0xa8, 0xf8, ff, ff, ff, ff, ff, ff, ff, ff, 0x1f, ctl}},
    {op::write12,
     false,
     0,
     12,
     a::write,
     "WRITE(12)",
     {0xaa, 0xf8, ff, ff, ff, ff, ff, ff, ff, ff, 0x1f, ctl}},
    {op::write_verify12,
     false,
     0,
     12,
     a::write,
     "WRITE AND VERIFY(12)",
     {0xae, 0xf2, ff, ff, ff, ff, ff, ff, ff, ff, 0x1f, ctl}},
    {op::verify12,
     false,
     0,
     12,
     a::read,
     "VERIFY(12)",
     {0xaf, 0xf6, ff, ff, ff, ff, ff, ff, ff, ff, 0x1f, ctl}},
    {op::read_defect_data12,
     false,
     0,
     12,
     a::read,
     "READ DEFECT DATA(12)",
     {0xb7, 0x1f, 0, 0, 0, 0, ff, ff, ff, ff, 0, ctl}},
};

std::uint8_t at(byte_span cdb, std::size_t i) {
  return i < cdb.size() ? std::to_integer<std::uint8_t>(cdb[i]) : 0;
}

}  // namespace

std::span<const command_info> supported_commands() {
  return commands;
}

bool uses_service_action(std::uint8_t opcode) {
  return opcode == op::pr_in || opcode == op::pr_out || opcode == op::service_action_in16 ||
         opcode == op::maintenance_in;
}

const command_info* find_command(std::uint8_t opcode, std::uint8_t service_action) {
  bool with_sa = uses_service_action(opcode);
  for (const auto& c : commands) {
    if (c.opcode == opcode && (!with_sa || c.service_action == service_action)) return &c;
  }
  return nullptr;
}

const command_info* find_command(byte_span cdb) {
  if (cdb.empty()) return nullptr;
  const command_info* c = find_command(at(cdb, 0), at(cdb, 1) & 0x1f);
  if (c == nullptr || cdb.size() < c->cdb_length) return nullptr;
  return c;
}

std::optional<block_cdb> decode_block_cdb(byte_span cdb) {
  block_cdb b;
  std::uint8_t f = at(cdb, 1);
  auto flags = [&] {
    b.protect = f >> 5;
    b.dpo = (f & 0x10) != 0;
    b.fua = (f & 0x08) != 0;
  };
  switch (at(cdb, 0)) {
    case op::read6:
    case op::write6:
      // SBC-3 §5.15: 21-bit LBA; a TRANSFER LENGTH of zero means 256 blocks.
      b.lba = (static_cast<std::uint64_t>(f & 0x1f) << 16) | load_u16(cdb, 2);
      b.blocks = at(cdb, 4) == 0 ? 256 : at(cdb, 4);
      return b;
    case op::read10:
    case op::write10:
    case op::write_verify10:
    case op::verify10:
    case op::compare_and_write:
    case op::orwrite16:
    case op::read16:
    case op::write16:
    case op::write_verify16:
    case op::verify16:
    case op::read12:
    case op::write12:
    case op::write_verify12:
    case op::verify12:
      flags();
      b.bytchk = (f >> 1) & 0x03;  // SBC-3 §5.24/5.30: BYTCHK (bit 1 only in WRITE AND VERIFY)
      break;
    case op::write_same10:
    case op::write_same16:
      b.protect = f >> 5;
      b.anchor = (f & 0x10) != 0;
      b.unmap = (f & 0x08) != 0;
      b.lbdata = (f & 0x06) != 0;
      b.ndob = at(cdb, 0) == op::write_same16 && (f & 0x01) != 0;
      break;
    case op::sync_cache10:
    case op::sync_cache16:
    case op::prefetch10:
    case op::prefetch16:
      b.immed = (f & 0x02) != 0;
      break;
    default:
      return std::nullopt;
  }
  switch (at(cdb, 0) >> 5) {  // group code gives the layout (SPC-4 §4.2.5.1)
    case 1:
    case 2:  // 10-byte: LBA 2..5, length 7..8
      b.lba = load_u32(cdb, 2);
      b.blocks = load_u16(cdb, 7);
      break;
    case 5:  // 12-byte: LBA 2..5, length 6..9
      b.lba = load_u32(cdb, 2);
      b.blocks = load_u32(cdb, 6);
      break;
    case 4:  // 16-byte: LBA 2..9, length 10..13 (COMPARE AND WRITE: NUMBER OF BLOCKS in byte 13)
      b.lba = load_u64(cdb, 2);
      b.blocks = at(cdb, 0) == op::compare_and_write ? at(cdb, 13) : load_u32(cdb, 10);
      break;
    default:
      return std::nullopt;
  }
  return b;
}

std::uint32_t data_out_length(byte_span cdb, std::uint32_t block_size) {
  auto bytes_of = [](std::uint64_t n) {
    return static_cast<std::uint32_t>(std::min<std::uint64_t>(n, 0xffffffffULL));
  };
  switch (at(cdb, 0)) {
    case op::write6:
    case op::write10:
    case op::write12:
    case op::write16:
    case op::write_verify10:
    case op::write_verify12:
    case op::write_verify16:
    case op::orwrite16: {
      auto b = decode_block_cdb(cdb);
      return b ? bytes_of(std::uint64_t{b->blocks} * block_size) : 0;
    }
    case op::verify10:
    case op::verify12:
    case op::verify16: {
      auto b = decode_block_cdb(cdb);
      if (!b) return 0;
      if (b->bytchk == 1) return bytes_of(std::uint64_t{b->blocks} * block_size);
      return b->bytchk == 3 ? block_size : 0;
    }
    case op::write_same10:
    case op::write_same16: {
      auto b = decode_block_cdb(cdb);
      return b && !b->ndob ? block_size : 0;
    }
    case op::compare_and_write:
      return bytes_of(std::uint64_t{at(cdb, 13)} * 2 * block_size);
    case op::unmap:
    case op::mode_select10:
      return load_u16(cdb, 7);
    case op::mode_select6:
      return at(cdb, 4);
    case op::pr_out:
      return load_u32(cdb, 5);
    default:
      return 0;
  }
}

std::uint32_t allocation_length(byte_span cdb) {
  switch (at(cdb, 0)) {
    case op::inquiry:
      return load_u16(cdb, 3);  // SPC-4 §6.4.1: 16-bit since SPC-3
    case op::request_sense:
    case op::mode_sense6:
      return at(cdb, 4);
    case op::mode_sense10:
    case op::pr_in:
    case op::read_defect_data10:
      return load_u16(cdb, 7);
    case op::report_luns:
    case op::maintenance_in:
    case op::read_defect_data12:
      return load_u32(cdb, 6);
    case op::service_action_in16:
      return load_u32(cdb, 10);
    case op::read_capacity10:
      return 8;
    default:
      return 0;
  }
}

}  // namespace diskless::scsi
