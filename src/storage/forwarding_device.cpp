#include "storage/forwarding_device.hpp"

namespace diskless::storage {

namespace {

class read_only_view final : public forwarding_device {
 public:
  explicit read_only_view(std::shared_ptr<block_device> dev) : forwarding_device(std::move(dev)) {}
  bool read_only() const override { return true; }
  std::error_code write(std::uint64_t, std::span<const std::byte>, bool) override {
    return std::make_error_code(std::errc::read_only_file_system);
  }
  std::error_code flush() override { return {}; }
  std::error_code discard(std::uint64_t, std::uint64_t) override {
    return std::make_error_code(std::errc::read_only_file_system);
  }
};

}  // namespace

std::shared_ptr<block_device> make_read_only_view(std::shared_ptr<block_device> dev) {
  return std::make_shared<read_only_view>(std::move(dev));
}

}  // namespace diskless::storage
