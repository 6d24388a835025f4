#include "storage/host_disk.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "storage/raw_file.hpp"
#include "util/log.hpp"

namespace diskless::storage {

namespace {

class read_only_view final : public block_device {
 public:
  explicit read_only_view(std::shared_ptr<block_device> dev) : dev_(std::move(dev)) {}
  std::uint64_t size() const override { return dev_->size(); }
  bool read_only() const override { return true; }
  std::error_code read(std::uint64_t offset, std::span<std::byte> out) override {
    return dev_->read(offset, out);
  }
  std::error_code write(std::uint64_t, std::span<const std::byte>, bool) override {
    return std::make_error_code(std::errc::read_only_file_system);
  }
  std::error_code flush() override { return {}; }
  std::error_code discard(std::uint64_t, std::uint64_t) override {
    return std::make_error_code(std::errc::read_only_file_system);
  }

 private:
  std::shared_ptr<block_device> dev_;
};

std::string key_of(const std::filesystem::path& p) {
  std::error_code ec;
  auto c = std::filesystem::weakly_canonical(p, ec);
  return ec ? p.lexically_normal().string() : c.string();
}

}  // namespace

result<image_format> detect_format(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return error{path.string() + ": " + std::strerror(errno)};
  std::array<unsigned char, 4> magic{};
  ssize_t n;
  do {
    n = ::pread(fd, magic.data(), magic.size(), 0);
  } while (n < 0 && errno == EINTR);
  int e = errno;
  ::close(fd);
  if (n < 0) return error{path.string() + ": " + std::strerror(e)};
  if (n == 4 && magic[0] == 'Q' && magic[1] == 'F' && magic[2] == 'I' && magic[3] == 0xfb)
    return image_format::qcow2;
  return image_format::raw;
}

result<std::shared_ptr<block_device>> open_image(const std::filesystem::path& path,
                                                 bool writable) {
  auto fmt = detect_format(path);
  if (!fmt) return error{fmt.error_message()};
  if (*fmt == image_format::qcow2) return error{path.string() + ": qcow2 images: not yet"};
  return open_raw(path, !writable);
}

std::filesystem::path overlays_dir(const inventory::inventory& inv) {
  return inv.resolve(inv.server.state_dir) / "overlays";
}

std::filesystem::path overlay_path(const inventory::inventory& inv, const inventory::host& h) {
  return overlays_dir(inv) / (h.name + ".qcow2");
}

std::shared_ptr<block_device> make_read_only_view(std::shared_ptr<block_device> dev) {
  return std::make_shared<read_only_view>(std::move(dev));
}

result<std::shared_ptr<block_device>> disk_catalog::golden(const std::filesystem::path& p) {
  // Called with mutex_ held.
  auto key = key_of(p);
  if (auto it = golden_.find(key); it != golden_.end()) {
    if (auto dev = it->second.lock()) return dev;
  }
  auto dev = open_image(p, false);
  if (!dev) return dev;
  golden_[key] = *dev;
  log::storage().info("opened golden image {} ({} bytes, read-only, shared)", p.string(),
                      (*dev)->size());
  return dev;
}

result<std::shared_ptr<block_device>> disk_catalog::open_host_disk(const inventory::inventory& inv,
                                                                   const inventory::host& h,
                                                                   bool new_boot) {
  const auto* img = inv.find_image(h.image);
  if (!img || !img->has_disk())
    return error{"host " + h.name + ": image '" + h.image + "' has no disk"};
  auto path = inv.resolve(img->disk);
  std::lock_guard lock(mutex_);
  switch (h.overlay) {
    case inventory::overlay_mode::none: {
      auto key = key_of(path);
      if (auto it = writable_.find(key); it != writable_.end()) {
        if (auto dev = it->second.lock()) return dev;
      }
      auto dev = open_image(path, true);
      if (!dev) return dev;
      writable_[key] = *dev;
      return dev;
    }
    case inventory::overlay_mode::readonly: {
      auto g = golden(path);
      if (!g) return g;
      return make_read_only_view(*g);
    }
    case inventory::overlay_mode::persistent:
    case inventory::overlay_mode::volatile_:
      (void)new_boot;
      return error{"host " + h.name + ": qcow2 overlays: not yet"};
  }
  return error{"host " + h.name + ": unknown overlay mode"};
}

std::vector<std::string> disk_catalog::take_reset_requests(const inventory::inventory& inv) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(overlays_dir(inv), ec)) {
    if (e.path().extension() != ".reset") continue;
    out.push_back(e.path().stem().string());
    std::filesystem::remove(e.path(), ec);
  }
  return out;
}

}  // namespace diskless::storage
