#include "storage/memory_device.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace diskless::storage {

namespace {
bool in_range(std::uint64_t offset, std::uint64_t length, std::uint64_t size) {
  return offset <= size && length <= size - offset;
}
}  // namespace

memory_device::memory_device(std::uint64_t size_bytes, bool read_only)
    : data_(size_bytes), read_only_(read_only) {}

bool memory_device::should_fail() {
  unsigned n = fail_next_.load();
  while (n > 0) {
    if (fail_next_.compare_exchange_weak(n, n - 1)) return true;
  }
  return false;
}

std::error_code memory_device::read(std::uint64_t offset, std::span<std::byte> out) {
  if (should_fail()) return std::error_code(EIO, std::generic_category());
  std::lock_guard lock(mutex_);
  if (!in_range(offset, out.size(), data_.size()))
    return std::error_code(EINVAL, std::generic_category());
  if (!out.empty()) std::memcpy(out.data(), data_.data() + offset, out.size());
  return {};
}

std::error_code memory_device::write(std::uint64_t offset, std::span<const std::byte> in,
                                     bool fua) {
  if (read_only_) return std::error_code(EROFS, std::generic_category());
  if (should_fail()) return std::error_code(EIO, std::generic_category());
  std::lock_guard lock(mutex_);
  if (!in_range(offset, in.size(), data_.size()))
    return std::error_code(EINVAL, std::generic_category());
  if (!in.empty()) std::memcpy(data_.data() + offset, in.data(), in.size());
  if (fua) ++fua_writes_;
  return {};
}

std::error_code memory_device::flush() {
  if (should_fail()) return std::error_code(EIO, std::generic_category());
  ++flushes_;
  return {};
}

std::error_code memory_device::discard(std::uint64_t offset, std::uint64_t length) {
  if (read_only_) return std::error_code(EROFS, std::generic_category());
  if (should_fail()) return std::error_code(EIO, std::generic_category());
  std::lock_guard lock(mutex_);
  if (!in_range(offset, length, data_.size()))
    return std::error_code(EINVAL, std::generic_category());
  std::fill_n(data_.begin() + static_cast<std::ptrdiff_t>(offset), length, std::byte{0});
  ++discards_;
  return {};
}

std::vector<std::byte> memory_device::contents() const {
  std::lock_guard lock(mutex_);
  return data_;
}

void memory_device::fill(std::uint64_t offset, std::span<const std::byte> in) {
  std::lock_guard lock(mutex_);
  if (!in_range(offset, in.size(), data_.size())) return;
  if (!in.empty()) std::memcpy(data_.data() + offset, in.data(), in.size());
}

}  // namespace diskless::storage
