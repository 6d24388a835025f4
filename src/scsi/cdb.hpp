#pragma once
// CDB decoding (SPC-4 §4.2, SBC-3 §5): the table of supported commands (operation code, service
// action, CDB length, CDB usage data for REPORT SUPPORTED OPERATION CODES) and pure decoders for
// the block-access CDB families. Nothing here touches a device.
#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "scsi/task.hpp"

namespace diskless::scsi {

namespace op {
inline constexpr std::uint8_t test_unit_ready = 0x00;
inline constexpr std::uint8_t request_sense = 0x03;
inline constexpr std::uint8_t read6 = 0x08;
inline constexpr std::uint8_t write6 = 0x0a;
inline constexpr std::uint8_t inquiry = 0x12;
inline constexpr std::uint8_t mode_select6 = 0x15;
inline constexpr std::uint8_t reserve6 = 0x16;
inline constexpr std::uint8_t release6 = 0x17;
inline constexpr std::uint8_t mode_sense6 = 0x1a;
inline constexpr std::uint8_t start_stop_unit = 0x1b;
inline constexpr std::uint8_t prevent_allow = 0x1e;
inline constexpr std::uint8_t read_capacity10 = 0x25;
inline constexpr std::uint8_t read10 = 0x28;
inline constexpr std::uint8_t write10 = 0x2a;
inline constexpr std::uint8_t write_verify10 = 0x2e;
inline constexpr std::uint8_t verify10 = 0x2f;
inline constexpr std::uint8_t prefetch10 = 0x34;
inline constexpr std::uint8_t sync_cache10 = 0x35;
inline constexpr std::uint8_t read_defect_data10 = 0x37;
inline constexpr std::uint8_t write_same10 = 0x41;
inline constexpr std::uint8_t unmap = 0x42;
inline constexpr std::uint8_t mode_select10 = 0x55;
inline constexpr std::uint8_t mode_sense10 = 0x5a;
inline constexpr std::uint8_t pr_in = 0x5e;
inline constexpr std::uint8_t pr_out = 0x5f;
inline constexpr std::uint8_t read16 = 0x88;
inline constexpr std::uint8_t compare_and_write = 0x89;
inline constexpr std::uint8_t orwrite16 = 0x8b;
inline constexpr std::uint8_t write16 = 0x8a;
inline constexpr std::uint8_t write_verify16 = 0x8e;
inline constexpr std::uint8_t verify16 = 0x8f;
inline constexpr std::uint8_t prefetch16 = 0x90;
inline constexpr std::uint8_t sync_cache16 = 0x91;
inline constexpr std::uint8_t write_same16 = 0x93;
inline constexpr std::uint8_t service_action_in16 = 0x9e;
inline constexpr std::uint8_t report_luns = 0xa0;
inline constexpr std::uint8_t maintenance_in = 0xa3;
inline constexpr std::uint8_t read12 = 0xa8;
inline constexpr std::uint8_t write12 = 0xaa;
inline constexpr std::uint8_t write_verify12 = 0xae;
inline constexpr std::uint8_t verify12 = 0xaf;
inline constexpr std::uint8_t read_defect_data12 = 0xb7;
}  // namespace op

namespace sa {
inline constexpr std::uint8_t read_capacity16 = 0x10;            // SERVICE ACTION IN(16)
inline constexpr std::uint8_t get_lba_status = 0x12;             // SERVICE ACTION IN(16)
inline constexpr std::uint8_t report_target_port_groups = 0x0a;  // MAINTENANCE IN
inline constexpr std::uint8_t report_supported_opcodes = 0x0c;   // MAINTENANCE IN
inline constexpr std::uint8_t report_supported_tmfs = 0x0d;      // MAINTENANCE IN
}  // namespace sa

// How a command interacts with reservations (SPC-4 §5.9.1 table 46, SBC-3 §4.17 table 13):
// `always` commands are allowed under any reservation, `read` ones conflict only under the
// exclusive-access types, `write` ones under every type, for nexuses that do not hold it.
enum class access : std::uint8_t { always, read, write };

struct command_info {
  std::uint8_t opcode;
  bool has_service_action;
  std::uint8_t service_action;
  std::uint8_t cdb_length;
  access acc;
  const char* name;
  // CDB usage data (SPC-4 §6.35.3): bit set = the device server evaluates that CDB bit.
  std::array<std::uint8_t, 16> usage;
};

// Every supported command, in opcode order.
std::span<const command_info> supported_commands();
// Whether opcode takes a service action in CDB byte 1 bits 4..0.
bool uses_service_action(std::uint8_t opcode);
// The entry for a CDB (looking at the service action where the opcode has them); nullptr when
// unsupported or when the CDB is shorter than the command's length.
const command_info* find_command(byte_span cdb);
const command_info* find_command(std::uint8_t opcode, std::uint8_t service_action);

// A decoded READ/WRITE/VERIFY/WRITE AND VERIFY/WRITE SAME/COMPARE AND WRITE/SYNCHRONIZE CACHE/
// PRE-FETCH CDB (SBC-3 §5).
struct block_cdb {
  std::uint64_t lba = 0;
  std::uint32_t blocks = 0;  // 0 means "no blocks" except where SBC says otherwise (READ(6))
  std::uint8_t protect = 0;  // RDPROTECT/WRPROTECT/VRPROTECT
  bool dpo = false;
  bool fua = false;
  std::uint8_t bytchk = 0;  // VERIFY / WRITE AND VERIFY
  bool unmap = false;       // WRITE SAME
  bool anchor = false;      // WRITE SAME
  bool ndob = false;        // WRITE SAME(16)
  bool immed = false;       // SYNCHRONIZE CACHE / PRE-FETCH
  bool lbdata = false;      // WRITE SAME obsolete LBDATA/PBDATA bits
};

// Decodes the LBA/length/flags of any block command in the table. Returns nullopt for opcodes that
// are not block commands. Field validation (reserved bits, protection) is the handler's job.
std::optional<block_cdb> decode_block_cdb(byte_span cdb);

// The number of data-out bytes a CDB describes (SAM-5's transfer length in bytes), for write
// residuals; 0 for commands without data-out. Saturates at 2^32 - 1.
std::uint32_t data_out_length(byte_span cdb, std::uint32_t block_size);

// The allocation length of commands that return data (INQUIRY, MODE SENSE, REPORT LUNS, ...).
std::uint32_t allocation_length(byte_span cdb);

}  // namespace diskless::scsi
