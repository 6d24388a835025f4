#pragma once
// A host's block I/O as a small text file (`diskless serve --trace-io HOST=FILE`): what a PC
// reads and writes while it boots, for admins and for the boot-storm bench's replay
// (integration/bench/storm_pc.cpp). One record per line, '#' lines are comments:
//
//   MS OP LBA BLOCKS SESSION
//
// MS: milliseconds since the host's first traced command (3 decimals), taken when the command
// reached the unit; OP: R (READ), W (WRITE) or F (SYNCHRONIZE CACHE; LBA and BLOCKS as in the
// CDB); SESSION: 0 for the first I_T nexus that issued a command, 1 for the next, and so on (a
// new one marks, e.g., the OS's initiator taking over from the firmware's), at most 15.
//
// Lines are built on the loop into a buffer that is handed to the io_pool, which appends it to
// the file (never on the loop): when the buffer holds 64 KiB, when a traced unit is dropped (the
// host's last session ended) and when the log is destroyed. The file is truncated by the first
// write; after `limit` bytes of records a "# truncated" line ends it.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "scsi/task.hpp"
#include "util/io_pool.hpp"

namespace diskless::scsi {

struct io_op {
  char op = 'R';  // 'R', 'W' or 'F'
  std::uint64_t lba = 0;
  std::uint32_t blocks = 0;
};

// The traced view of a CDB: nullopt for anything but READ, WRITE and SYNCHRONIZE CACHE (6, 10,
// 12 and 16-byte forms) or a CDB too short for its command. READ(6)/WRITE(6) length 0 means 256
// blocks (SBC-3 §5.15, §5.33).
std::optional<io_op> trace_op(byte_span cdb);

class io_trace_log {
 public:
  static constexpr std::size_t default_limit = 8u << 20;
  static constexpr std::size_t flush_at = 64u << 10;

  io_trace_log(std::filesystem::path file, std::string host, io_pool& pool,
               std::size_t limit = default_limit);
  ~io_trace_log();  // flush()
  io_trace_log(const io_trace_log&) = delete;
  io_trace_log& operator=(const io_trace_log&) = delete;

  // Loop thread only.
  void record(std::chrono::steady_clock::time_point at, nexus_id nexus, const io_op& op);
  // Hands the buffered lines to the pool.
  void flush();
  std::size_t records() const { return records_; }

 private:
  struct sink;
  std::shared_ptr<sink> sink_;
  io_pool& pool_;
  std::size_t limit_;
  std::string buffer_;
  std::size_t written_ = 0;  // bytes of records so far (buffered or handed over)
  std::size_t records_ = 0;
  bool truncated_ = false;
  std::optional<std::chrono::steady_clock::time_point> origin_;
  std::vector<nexus_id> sessions_;
};

// A unit that forwards everything to `inner` and records its block commands in `log`; flushes
// the log when dropped.
std::shared_ptr<logical_unit> make_traced_unit(std::shared_ptr<logical_unit> inner,
                                               std::shared_ptr<io_trace_log> log);

}  // namespace diskless::scsi
