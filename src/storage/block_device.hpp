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
  // When bytes [offset, offset + length) of the disk are bytes [offset, offset + length) of one
  // file (a raw image), that file's descriptor, for zero-copy sends (sendfile); it stays open as
  // long as this device lives. -1 otherwise (the default; overlays, memory devices). Never
  // blocks. Callers must still only read the descriptor where blocking is allowed (the pool).
  virtual int file_for(std::uint64_t offset, std::uint64_t length) const {
    (void)offset;
    (void)length;
    return -1;
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
