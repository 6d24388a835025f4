#pragma once
// A byte-addressed disk: raw file, block device, or qcow2 overlay over a backing disk.
//
// Contract: every method is synchronous and blocking, and is only ever called from io_pool
// threads (never from the event loop) — except try_read_cached(), which never blocks and is meant
// for the loop. Implementations are thread-safe: reads and writes to
// different ranges may run concurrently. A write that returned success and was followed by a
// successful flush() (or was made with fua = true) is on stable storage.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <system_error>

namespace diskless::storage {

class block_device {
 public:
  virtual ~block_device() = default;

  virtual std::uint64_t size() const = 0;  // bytes
  virtual bool read_only() const = 0;

  // Short reads past the end are errors; callers check ranges first.
  virtual std::error_code read(std::uint64_t offset, std::span<std::byte> out) = 0;
  // The same read, but only if it can complete without waiting for the disk (every byte already
  // in memory: page cache, or an in-memory device). Returns true with `out` filled, or false
  // (nothing to conclude about the data; `out` may be partly written) when the caller must fall
  // back to read() on the pool. Never blocks on I/O, so the event loop may call it: a page-cache
  // hit then costs one syscall instead of two thread hand-offs. The default declines.
  virtual bool try_read_cached(std::uint64_t offset, std::span<std::byte> out) {
    (void)offset;
    (void)out;
    return false;
  }
  // Where bytes [offset, offset + length) of the disk lie as one run of bytes in one file (a raw
  // image; a qcow2 data run; a range an overlay has not written, in its raw backing file): that
  // file's descriptor and the run's offset in it, for zero-copy sends (sendfile). `keep` holds
  // whatever must stay alive for the descriptor to stay open beyond this device's own lifetime
  // (an overlay that can be revoked); hold it until the send is over. fd = -1 when there is no
  // such run or finding out would wait (the default; memory devices). Never blocks: the loop
  // calls it. The caller must still only read the descriptor where blocking is allowed (the
  // pool), and keeps [offset, offset + length) from being discarded meanwhile (a qcow2 cluster
  // freed by a discard may be reused for other data).
  struct file_extent {
    int fd = -1;
    std::uint64_t offset = 0;
    std::shared_ptr<const void> keep;
  };
  virtual file_extent file_for(std::uint64_t offset, std::uint64_t length) {
    (void)offset;
    (void)length;
    return {};
  }
  virtual std::error_code write(std::uint64_t offset, std::span<const std::byte> in,
                                bool fua = false) = 0;
  // Makes every completed write durable (fdatasync for files).
  virtual std::error_code flush() = 0;
  // The range reads as zeros afterwards; space is released where the format can (punch hole,
  // qcow2 zero clusters).
  virtual std::error_code discard(std::uint64_t offset, std::uint64_t length) = 0;
};

}  // namespace diskless::storage
