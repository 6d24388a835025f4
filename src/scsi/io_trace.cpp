#include "scsi/io_trace.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>
#include <utility>

#include "scsi/cdb.hpp"
#include "util/log.hpp"

namespace diskless::scsi {

std::optional<io_op> trace_op(byte_span cdb) {
  if (cdb.empty() || !find_command(cdb)) return std::nullopt;  // unknown or short
  char kind = 0;
  switch (std::to_integer<std::uint8_t>(cdb[0])) {
    case op::read6:
    case op::read10:
    case op::read12:
    case op::read16:
      kind = 'R';
      break;
    case op::write6:
    case op::write10:
    case op::write12:
    case op::write16:
      kind = 'W';
      break;
    case op::sync_cache10:
    case op::sync_cache16:
      kind = 'F';
      break;
    default:
      return std::nullopt;
  }
  auto b = decode_block_cdb(cdb);
  if (!b) return std::nullopt;
  return io_op{kind, b->lba, b->blocks};
}

// Shared with the pool jobs, so a job may still run after the log is gone. Jobs take every
// pending chunk under the mutex and write them in order: chunks reach the file in the order the
// loop handed them over, whichever pool thread runs which job.
struct io_trace_log::sink {
  std::filesystem::path file;
  std::mutex mutex;
  std::deque<std::string> pending;
  int fd = -1;
  bool failed = false;

  ~sink() {
    if (fd >= 0) ::close(fd);
  }

  void drain() {
    std::lock_guard lock(mutex);
    while (!pending.empty()) {
      std::string chunk = std::move(pending.front());
      pending.pop_front();
      if (failed) continue;
      if (fd < 0) fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0 || !write_all(chunk)) {
        failed = true;
        log::scsi().warn("I/O trace {}: {}", file.string(), std::strerror(errno));
      }
    }
  }

  bool write_all(const std::string& s) {
    std::size_t done = 0;
    while (done < s.size()) {
      ssize_t n = ::write(fd, s.data() + done, s.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      done += static_cast<std::size_t>(n);
    }
    return true;
  }
};

io_trace_log::io_trace_log(std::filesystem::path file, std::string host, io_pool& pool,
                           std::size_t limit)
    : sink_(std::make_shared<sink>()), pool_(pool), limit_(limit) {
  sink_->file = std::move(file);
  buffer_ = fmt::format(
      "# diskless I/O trace of host {}\n# ms op lba blocks session (op: R read, W write, F "
      "flush)\n",
      host);
}

io_trace_log::~io_trace_log() {
  flush();
}

void io_trace_log::record(std::chrono::steady_clock::time_point at, nexus_id nexus,
                          const io_op& op) {
  if (truncated_) return;
  if (!origin_) origin_ = at;
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(at - *origin_).count();
  auto it = std::find(sessions_.begin(), sessions_.end(), nexus);
  std::size_t session = static_cast<std::size_t>(it - sessions_.begin());
  if (it == sessions_.end()) {
    if (sessions_.size() < 16) sessions_.push_back(nexus);
    session = std::min<std::size_t>(session, 15);
  }
  std::string line = fmt::format("{}.{:03} {} {} {} {}\n", us / 1000, us % 1000, op.op, op.lba,
                                 op.blocks, session);
  if (written_ + line.size() > limit_) {
    truncated_ = true;
    buffer_ += fmt::format("# truncated: the trace reached its limit of {} bytes\n", limit_);
    flush();
    return;
  }
  written_ += line.size();
  ++records_;
  buffer_ += line;
  if (buffer_.size() >= flush_at) flush();
}

void io_trace_log::flush() {
  if (buffer_.empty()) return;
  {
    std::lock_guard lock(sink_->mutex);
    sink_->pending.push_back(std::move(buffer_));
  }
  buffer_.clear();
  pool_.run([s = sink_] { s->drain(); });
}

namespace {

class traced_unit final : public logical_unit {
 public:
  traced_unit(std::shared_ptr<logical_unit> inner, std::shared_ptr<io_trace_log> log)
      : inner_(std::move(inner)), log_(std::move(log)) {}
  ~traced_unit() override { log_->flush(); }

  void execute(task t, completion done) override {
    if (auto o = trace_op(t.cdb)) log_->record(std::chrono::steady_clock::now(), t.nexus, *o);
    inner_->execute(std::move(t), std::move(done));
  }
  void lun_reset(nexus_id by) override { inner_->lun_reset(by); }
  void nexus_lost(nexus_id nexus) override { inner_->nexus_lost(nexus); }
  std::uint32_t block_size() const override { return inner_->block_size(); }

 private:
  std::shared_ptr<logical_unit> inner_;
  std::shared_ptr<io_trace_log> log_;
};

}  // namespace

std::shared_ptr<logical_unit> make_traced_unit(std::shared_ptr<logical_unit> inner,
                                               std::shared_ptr<io_trace_log> log) {
  return std::make_shared<traced_unit>(std::move(inner), std::move(log));
}

}  // namespace diskless::scsi
