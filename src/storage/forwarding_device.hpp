#pragma once
// Devices that stand in front of another block_device (src/storage/README.md): a read-only view,
// a device holding a lock while alive, a revocable overlay. They derive from forwarding_device and
// override only what they change.
#include <memory>

#include "storage/block_device.hpp"

namespace diskless::storage {

// Forwards every call to the device target() returns. size() and read_only() are the wrapped
// device's, taken at construction. When target() returns null (a subclass revoked its device),
// I/O fails with EIO, try_read_cached declines and file_for has no run.
class forwarding_device : public block_device {
 public:
  std::uint64_t size() const override { return size_; }
  bool read_only() const override { return read_only_; }
  std::error_code read(std::uint64_t offset, std::span<std::byte> out) override {
    auto d = target();
    return d ? d->read(offset, out) : gone();
  }
  bool try_read_cached(std::uint64_t offset, std::span<std::byte> out) override {
    auto d = target();
    return d && d->try_read_cached(offset, out);
  }
  file_extent file_for(std::uint64_t offset, std::uint64_t length) override {
    auto d = target();
    return d ? d->file_for(offset, length) : file_extent{};
  }
  std::error_code write(std::uint64_t offset, std::span<const std::byte> in, bool fua) override {
    auto d = target();
    return d ? d->write(offset, in, fua) : gone();
  }
  std::error_code flush() override {
    auto d = target();
    return d ? d->flush() : gone();
  }
  std::error_code discard(std::uint64_t offset, std::uint64_t length) override {
    auto d = target();
    return d ? d->discard(offset, length) : gone();
  }

 protected:
  explicit forwarding_device(std::shared_ptr<block_device> dev)
      : size_(dev->size()), read_only_(dev->read_only()), dev_(std::move(dev)) {}
  // The device calls go to: dev_ unless a subclass guards or drops it.
  virtual std::shared_ptr<block_device> target() { return dev_; }
  static std::error_code gone() { return std::make_error_code(std::errc::io_error); }

  const std::uint64_t size_;
  const bool read_only_;
  std::shared_ptr<block_device> dev_;
};

// A read-only view over another device: read_only() is true, write/discard fail with EROFS,
// flush succeeds (there is nothing of ours to make durable).
std::shared_ptr<block_device> make_read_only_view(std::shared_ptr<block_device> dev);

}  // namespace diskless::storage
