#pragma once
// The seam between a SCSI transport (iSCSI) and the SCSI command set. `scsi` knows nothing of
// iSCSI: a transport gathers a command and all of its data-out into a task, and gets back status,
// data-in and sense data. Transports compute residuals themselves: data_in may be longer than the
// initiator's expected transfer length (the command's allocation length rules), never shorter
// than what the command produced.
#include <cstdint>
#include <memory>
#include <vector>

#include "util/byte_buffer.hpp"
#include "util/bytes.hpp"
#include "util/unique_function.hpp"

namespace diskless::scsi {

// SAM-5 status codes.
enum class status : std::uint8_t {
  good = 0x00,
  check_condition = 0x02,
  condition_met = 0x04,
  busy = 0x08,
  reservation_conflict = 0x18,
  task_set_full = 0x28,
  task_aborted = 0x40,
};

// Identifies an I_T nexus (one initiator port on one target port): reservations and unit
// attentions are kept per nexus. The transport picks the value (e.g. a hash of initiator name +
// ISID) and keeps it stable across session reinstatement.
using nexus_id = std::uint64_t;

// Data-in that stays in a file: the transport sends bytes [offset, offset + length) of fd itself
// (sendfile: no copy through user space). `hold` keeps fd open and the command's LBA range locked
// (so no overlapping write can change the bytes before they are sent); the transport drops it
// once the bytes are on the wire, and must only read fd where blocking is allowed (the pool).
struct file_data {
  std::shared_ptr<const void> hold;
  int fd = -1;
  std::uint64_t offset = 0;
  std::size_t length = 0;
};

struct task {
  nexus_id nexus = 0;
  std::uint64_t lun = 0;              // LUN number (0 for LUN 0), already decoded by the transport
  std::uint32_t tag = 0;              // initiator task tag (for ABORT TASK)
  bytes cdb;                          // 6..16 bytes
  std::uint32_t expected_length = 0;  // the transport's expected data transfer length
  bool data_out_expected = false;     // W bit
  bool data_in_expected = false;      // R bit
  bytes data_out;                     // all write data, gathered by the transport
  bool file_data_ok = false;          // the transport can send a task_result::file_in
  // Optional: the initiator port's TransportID (SPC-4 §7.6.4; for iSCSI format 01b: the iSCSI
  // name + ",i,0x" + ISID), reported by PERSISTENT RESERVE IN / READ FULL STATUS. When empty, a
  // TransportID with PROTOCOL IDENTIFIER Fh (no specific protocol) carrying the nexus id is used.
  bytes transport_id;
};

struct task_result {
  status st = status::good;
  byte_buffer data_in;  // what the command produced (the transport truncates to expected_length)
  file_data file_in;    // instead of data_in (only when task::file_data_ok; fd < 0 when unused)
  bytes sense;          // fixed-format sense data (SPC-4 §4.5.3) when st == check_condition
  // For commands that take data-out: the number of bytes the CDB itself describes (the SCSI
  // transfer length, e.g. blocks * block size for WRITE), so the transport can report write
  // residuals (RFC 7143 §11.4.5.2: overflow when this exceeds the Expected Data Transfer Length,
  // underflow when it is smaller). 0 when the command takes no data-out or failed before its
  // transfer length was decoded. Only as many bytes as this are ever written.
  std::uint32_t data_out_length = 0;
};

using completion = unique_function<void(task_result)>;

// One logical unit (a host's disk at LUN 0). All methods are called on the loop thread;
// completions are also invoked on the loop thread (disk I/O runs on the io_pool in between).
class logical_unit {
 public:
  virtual ~logical_unit() = default;
  virtual void execute(task t, completion done) = 0;

  // Task management (SAM-5 §7). A LUN reset aborts nothing already in flight at the storage layer
  // but establishes a unit attention (29h/03h) for every other nexus.
  virtual void lun_reset(nexus_id by) = 0;
  // A nexus went away (logout or connection loss without reinstatement).
  virtual void nexus_lost(nexus_id nexus) = 0;
  // The logical block size in bytes (for transports that fit writes to their data, write_fit.hpp).
  virtual std::uint32_t block_size() const = 0;
};

}  // namespace diskless::scsi
