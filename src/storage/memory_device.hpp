#pragma once
// An in-memory block_device for unit tests (everyone's): a byte vector behind a mutex.
//
// Contract: same as block_device. Extras for tests: counters of flushes, FUA writes and discards,
// a way to make the next I/O calls fail, and direct access to the contents.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <span>
#include <system_error>
#include <vector>

#include "storage/block_device.hpp"

namespace diskless::storage {

class memory_device final : public block_device {
 public:
  explicit memory_device(std::uint64_t size_bytes, bool read_only = false);

  std::uint64_t size() const override { return data_.size(); }
  bool read_only() const override { return read_only_; }
  std::error_code read(std::uint64_t offset, std::span<std::byte> out) override;
  std::error_code write(std::uint64_t offset, std::span<const std::byte> in,
                        bool fua = false) override;
  std::error_code flush() override;
  std::error_code discard(std::uint64_t offset, std::uint64_t length) override;

  // Test helpers (thread-safe).
  std::vector<std::byte> contents() const;
  void fill(std::uint64_t offset, std::span<const std::byte> in);  // ignores read_only
  unsigned flushes() const { return flushes_; }
  unsigned fua_writes() const { return fua_writes_; }
  unsigned discards() const { return discards_; }
  // The next n calls of read/write/flush/discard fail with EIO.
  void fail_next(unsigned n) { fail_next_ = n; }

 private:
  bool should_fail();
  mutable std::mutex mutex_;
  std::vector<std::byte> data_;
  bool read_only_;
  std::atomic<unsigned> flushes_{0};
  std::atomic<unsigned> fua_writes_{0};
  std::atomic<unsigned> discards_{0};
  std::atomic<unsigned> fail_next_{0};
};

}  // namespace diskless::storage
