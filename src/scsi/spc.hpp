#pragma once
// SPC-4 / SBC-3 data-in builders that need no disk I/O: INQUIRY (standard + VPD), READ CAPACITY,
// MODE SENSE / MODE SELECT, REPORT LUNS, REPORT SUPPORTED OPERATION CODES / TMFs, REPORT TARGET
// PORT GROUPS, REQUEST SENSE.
// Pure functions: CDB (+ parameter data) and the unit's description in, task_result out.
#include <algorithm>
#include <cstdint>
#include <string>

#include "scsi/sense.hpp"
#include "scsi/task.hpp"

namespace diskless::scsi {

// Every unit is reached through one target port, alone in one target port group (VPD 83h,
// REPORT TARGET PORT GROUPS, READ FULL STATUS).
inline constexpr std::uint16_t relative_target_port = 1;
inline constexpr std::uint16_t target_port_group = 1;

// What the command set reports about a logical unit.
struct unit_info {
  std::string vendor = "DISKLESS";  // T10 vendor identification, 8 ASCII characters
  std::string product = "VIRTUAL DISK";
  std::string revision = "0001";
  std::string serial;     // VPD 80h (ASCII)
  std::uint64_t naa = 0;  // NAA 3 (locally assigned) designator, VPD 83h
  std::uint32_t block_size = 512;
  std::uint64_t blocks = 0;  // capacity in logical blocks
  bool read_only = false;
  bool write_cache = true;                // WCE: writes are volatile until SYNCHRONIZE CACHE / FUA
  bool thin = true;                       // logical block provisioning (UNMAP, WRITE SAME UNMAP)
  std::uint32_t max_transfer_blocks = 0;  // VPD B0h MAXIMUM TRANSFER LENGTH
  std::uint32_t max_unmap_blocks = 0;     // MAXIMUM UNMAP LBA COUNT
  std::uint32_t max_unmap_descriptors = 0;  // MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT
  std::uint64_t max_write_same_blocks = 0;  // MAXIMUM WRITE SAME LENGTH
  std::uint8_t max_compare_and_write_blocks = 0;
  // READ CAPACITY(16) LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT (SBC-3 §4.6). A file-backed
  // disk has no sector larger than its logical block: a write of one logical block is never
  // torn into a larger unit, so the physical block is the logical block (exponent 0).
  std::uint32_t physical_block_size = 512;
  // The file system and page cache work in 4 KiB pages and holes are punched in them: said as
  // OPTIMAL TRANSFER LENGTH GRANULARITY and OPTIMAL UNMAP GRANULARITY in VPD B0h (Linux takes
  // io_min from the former and the discard granularity from the latter).
  std::uint32_t preferred_granularity = 4096;
  std::uint32_t blocks_per_granule() const {
    return std::max<std::uint32_t>(1, preferred_granularity / block_size);
  }

  // log2(physical / logical block size), 0 when the physical block is not larger.
  std::uint8_t physical_exponent() const {
    std::uint8_t e = 0;
    while ((std::uint64_t{block_size} << (e + 1)) <= physical_block_size && e < 15) ++e;
    return e;
  }
};

task_result inquiry(const unit_info& u, byte_span cdb);
task_result read_capacity10(const unit_info& u, byte_span cdb);
task_result read_capacity16(const unit_info& u, byte_span cdb);
task_result mode_sense(const unit_info& u, byte_span cdb);
// Accepts a parameter list that changes nothing (SPC-4 §6.11: pages equal to the current values).
task_result mode_select(const unit_info& u, byte_span cdb, byte_span params);
task_result report_luns(byte_span cdb);
task_result report_supported_opcodes(byte_span cdb);
task_result report_supported_tmfs(byte_span cdb);
task_result report_target_port_groups(byte_span cdb);
// REQUEST SENSE data: `pending` is the unit attention (or other deferred condition) being reported,
// or NO SENSE when absent.
task_result request_sense(byte_span cdb, const sense_data* pending);

}  // namespace diskless::scsi
