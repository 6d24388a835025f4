#include "storage/host_disk.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "storage/qcow2.hpp"
#include "storage/raw_file.hpp"
#include "util/file.hpp"
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
  bool try_read_cached(std::uint64_t offset, std::span<std::byte> out) override {
    return dev_->try_read_cached(offset, out);
  }
  file_extent file_for(std::uint64_t offset, std::uint64_t length) override {
    return dev_->file_for(offset, length);
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

// Forwards to a device and holds a shared flock on its image file while alive: `overlay commit`
// takes an exclusive one to know that no host uses the image.
class locked_device final : public block_device {
 public:
  locked_device(std::shared_ptr<block_device> dev, int fd) : dev_(std::move(dev)), fd_(fd) {}
  ~locked_device() override { ::close(fd_); }
  std::uint64_t size() const override { return dev_->size(); }
  bool read_only() const override { return dev_->read_only(); }
  std::error_code read(std::uint64_t offset, std::span<std::byte> out) override {
    return dev_->read(offset, out);
  }
  bool try_read_cached(std::uint64_t offset, std::span<std::byte> out) override {
    return dev_->try_read_cached(offset, out);
  }
  file_extent file_for(std::uint64_t offset, std::uint64_t length) override {
    return dev_->file_for(offset, length);
  }
  std::error_code write(std::uint64_t offset, std::span<const std::byte> in, bool fua) override {
    return dev_->write(offset, in, fua);
  }
  std::error_code flush() override { return dev_->flush(); }
  std::error_code discard(std::uint64_t offset, std::uint64_t length) override {
    return dev_->discard(offset, length);
  }

 private:
  std::shared_ptr<block_device> dev_;
  int fd_;
};

result<std::shared_ptr<block_device>> hold_shared_lock(const std::filesystem::path& p,
                                                       std::shared_ptr<block_device> dev) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return error{p.string() + ": " + std::strerror(errno)};
  if (::flock(fd, LOCK_SH | LOCK_NB) != 0) {
    int e = errno;
    ::close(fd);
    if (e == EWOULDBLOCK) return error{p.string() + ": locked by `diskless overlay commit`"};
    return error{p.string() + ": " + std::strerror(e)};
  }
  return std::shared_ptr<block_device>(std::make_shared<locked_device>(std::move(dev), fd));
}

std::string key_of(const std::filesystem::path& p) {
  std::error_code ec;
  auto c = std::filesystem::weakly_canonical(p, ec);
  return ec ? p.lexically_normal().string() : c.string();
}

}  // namespace

// What an overlay file is made from: enough to recreate it empty without the inventory.
struct overlay_recipe {
  std::filesystem::path path;  // <state dir>/overlays/<host>.qcow2
  std::string backing;         // absolute path of the golden image, as stored in the header
  std::string backing_format;  // "raw" or "qcow2"
  std::uint64_t size = 0;      // the golden image's size
};

namespace {

// Creates the overlay empty beside its path and renames it over, so a crash leaves the old
// overlay or the new one, and a device still holding the old file keeps its (unlinked) inode.
result<void> create_fresh(const overlay_recipe& r) {
  qcow2_create_options c;
  c.size = r.size;
  c.backing_file = r.backing;
  c.backing_format = r.backing_format;
  // 4 KiB clusters up to 1 TiB: a guest's 4 KiB write then allocates a whole cluster with no
  // copy-on-write read, where 64 KiB clusters copy 60 KiB from the golden image first (measured
  // in-process: ~97k vs ~16k allocating writes/s). The metadata is held in memory anyway.
  c.cluster_bits = c.size <= (1ull << 40) ? 12 : 16;
  auto tmp = r.path;
  tmp += ".new";
  if (auto res = create_qcow2(tmp, c); !res) return res;
  std::error_code ec;
  std::filesystem::rename(tmp, r.path, ec);
  if (ec) return error{r.path.string() + ": " + ec.message()};
  if (int dfd = ::open(r.path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

}  // namespace

// A host's overlay as handed to the iSCSI layer: forwards to the qcow2 image until revoked.
class disk_catalog::overlay_device final : public block_device {
 public:
  overlay_device(std::shared_ptr<block_device> dev, std::string host, overlay_recipe recipe)
      : host_(std::move(host)),
        recipe_(std::move(recipe)),
        size_(dev->size()),
        dev_(std::move(dev)) {}
  std::uint64_t size() const override { return size_; }
  bool read_only() const override { return false; }
  std::error_code read(std::uint64_t offset, std::span<std::byte> out) override {
    auto d = get();
    return d ? d->read(offset, out) : revoked();
  }
  bool try_read_cached(std::uint64_t offset, std::span<std::byte> out) override {
    auto d = get();
    return d && d->try_read_cached(offset, out);
  }
  // The image stays open while the caller holds `keep`, even if it is revoked meanwhile (a reset
  // closes it): the descriptor is never reused under a send in flight.
  file_extent file_for(std::uint64_t offset, std::uint64_t length) override {
    auto d = get();
    if (!d) return {};
    auto fe = d->file_for(offset, length);
    if (fe.fd >= 0) fe.keep = std::move(d);
    return fe;
  }
  std::error_code write(std::uint64_t offset, std::span<const std::byte> in, bool fua) override {
    auto d = get();
    return d ? d->write(offset, in, fua) : revoked();
  }
  std::error_code flush() override {
    auto d = get();
    return d ? d->flush() : revoked();
  }
  std::error_code discard(std::uint64_t offset, std::uint64_t length) override {
    auto d = get();
    return d ? d->discard(offset, length) : revoked();
  }
  // Drops the image; it closes (metadata written back, lock released) when in-flight I/O ends.
  void revoke() {
    std::shared_ptr<block_device> old;
    {
      std::lock_guard lock(mutex_);
      old = std::move(dev_);
    }
  }
  const std::string& host() const { return host_; }
  const overlay_recipe& recipe() const { return recipe_; }

 private:
  std::shared_ptr<block_device> get() {
    std::lock_guard lock(mutex_);
    return dev_;
  }
  static std::error_code revoked() { return std::make_error_code(std::errc::io_error); }

  std::string host_;
  overlay_recipe recipe_;
  std::uint64_t size_;
  std::mutex mutex_;
  std::shared_ptr<block_device> dev_;
};

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

result<std::shared_ptr<block_device>> open_image(const std::filesystem::path& path, bool writable) {
  auto fmt = detect_format(path);
  if (!fmt) return error{fmt.error_message()};
  if (*fmt == image_format::qcow2) {
    qcow2_open_options o;
    o.writable = writable;
    auto q = open_qcow2(path, o);
    if (!q) return error{q.error_message()};
    return std::shared_ptr<block_device>(*q);
  }
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
  dev = hold_shared_lock(p, *dev);
  if (!dev) return dev;
  golden_[key] = *dev;
  log::storage().info("opened golden image {} ({} bytes, read-only, shared)", p.string(),
                      (*dev)->size());
  return dev;
}

result<std::shared_ptr<block_device>> disk_catalog::open_host_disk(const inventory::inventory& inv,
                                                                   const inventory::host& h,
                                                                   login_kind k) {
  bool marked;
  {
    std::lock_guard lock(boot_mutex_);
    marked = new_boot_.erase(h.mac) > 0;  // the first login after the mark consumes it
  }
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
      dev = hold_shared_lock(path, *dev);
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
      return open_overlay(inv, h, path,
                          h.overlay == inventory::overlay_mode::volatile_ && marked &&
                              k == login_kind::new_session);
  }
  return error{"host " + h.name + ": unknown overlay mode"};
}

result<std::shared_ptr<block_device>> disk_catalog::open_overlay(const inventory::inventory& inv,
                                                                 const inventory::host& h,
                                                                 const std::filesystem::path& image,
                                                                 bool fresh) {
  // Called with mutex_ held.
  auto ov = overlay_path(inv, h);
  auto key = ov.string();
  watch(ov.parent_path());
  if (!fresh) {
    if (auto it = overlays_.find(key); it != overlays_.end()) {
      if (auto dev = it->second.lock()) return std::shared_ptr<block_device>(dev);
    }
  }
  auto g = golden(image);
  if (!g) return g;
  std::error_code ec;
  auto base = std::filesystem::absolute(image, ec).lexically_normal();
  std::filesystem::create_directories(ov.parent_path(), ec);
  if (ec) return error{ov.parent_path().string() + ": " + ec.message()};
  auto fmt = detect_format(base);
  if (!fmt) return error{fmt.error_message()};
  overlay_recipe recipe{ov, base.string(), *fmt == image_format::qcow2 ? "qcow2" : "raw",
                        (*g)->size()};

  qcow2_open_options o;
  o.writable = true;
  o.backing = *g;
  o.lock = true;
  const bool reuse = !fresh && std::filesystem::exists(ov);
  std::shared_ptr<qcow2_image> q;
  if (reuse) {
    auto r = open_qcow2(ov, o);
    if (!r) return error{"host " + h.name + ": " + r.error_message()};
    const auto& hd = (*r)->header();
    if (hd.backing_file != base.string() || hd.size != ((*g)->size() + 511) / 512 * 512)
      return error{
          "host " + h.name + ": overlay " + ov.string() + " was made over " + hd.backing_file +
          " (" + std::to_string(hd.size) + " bytes), the host now uses " + base.string() + " (" +
          std::to_string((*g)->size()) + " bytes); run `diskless overlay reset " + h.name + "`"};
    q = *r;
  } else {
    // New, or a volatile host's new boot: devices of the previous boot (stale sessions) fail
    // from now on rather than keep serving the old file.
    for (auto& old : take_live(h.name)) old->revoke();
    if (auto r = create_fresh(recipe); !r)
      return error{"host " + h.name + ": " + r.error_message()};
    auto r = open_qcow2(ov, o);
    if (!r) return error{"host " + h.name + ": " + r.error_message()};
    q = *r;
  }
  auto dev = std::make_shared<overlay_device>(q, h.name, std::move(recipe));
  overlays_[key] = dev;
  if (h.overlay == inventory::overlay_mode::volatile_) {
    std::lock_guard lock(boot_mutex_);
    volatile_by_mac_[h.mac] = dev;
  }
  if (reuse)
    log::storage().info("host {}: overlay {} reused", h.name, ov.string());
  else if (fresh)
    log::storage().info("host {}: new boot: volatile overlay {} recreated empty over {}", h.name,
                        ov.string(), base.string());
  else
    log::storage().info("host {}: new overlay {} over {}", h.name, ov.string(), base.string());
  return std::shared_ptr<block_device>(dev);
}

disk_catalog::~disk_catalog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

std::vector<std::shared_ptr<disk_catalog::overlay_device>> disk_catalog::take_live(
    const std::string& host) {
  std::vector<std::shared_ptr<overlay_device>> out;
  for (auto it = overlays_.begin(); it != overlays_.end();) {
    auto d = it->second.lock();
    if (!d) {
      it = overlays_.erase(it);
    } else if (d->host() == host) {
      out.push_back(std::move(d));
      it = overlays_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

bool disk_catalog::revoke(const std::string& host) {
  std::vector<std::shared_ptr<overlay_device>> victims;
  {
    std::lock_guard lock(mutex_);
    victims = take_live(host);
  }
  for (auto& d : victims) {
    log::storage().warn("host {}: overlay revoked", host);
    d->revoke();
  }
  return !victims.empty();
}

result<void> disk_catalog::reset_host(const std::string& host) {
  {
    std::lock_guard lock(mutex_);
    auto victims = take_live(host);
    if (victims.empty()) return error{"host " + host + " has no overlay open in the server"};
    for (auto& d : victims) d->revoke();
    // Under the lock: a login racing with us (libiscsi reconnects at once) waits here and then
    // opens the new file; the revoked device is out of overlays_ and never handed out again.
    if (auto r = create_fresh(victims.front()->recipe()); !r) {
      log::storage().error("host {}: overlay reset: {}", host, r.error_message());
      end_sessions(host);  // they only get EIO now
      return r;
    }
    log::storage().warn("host {}: overlay reset (--force): revoked and recreated empty", host);
  }
  end_sessions(host);
  return {};
}

void disk_catalog::mark_new_boot(const mac_address& mac) {
  std::shared_ptr<overlay_device> live;
  {
    std::lock_guard lock(boot_mutex_);
    new_boot_.insert(mac);
    if (auto it = volatile_by_mac_.find(mac); it != volatile_by_mac_.end()) {
      live = it->second.lock();
      if (!live) volatile_by_mac_.erase(it);
    }
  }
  log::storage().debug("{}: boot script fetched: new boot", mac.str());
  if (!live) return;
  // Sessions of the previous boot are stale (the PC is in its firmware now). Ending them makes
  // the coming login the host's first again; the stale device is revoked when that login
  // recreates the overlay (not here: the last reference may close the image, which is disk I/O).
  log::storage().info("host {}: new boot while sessions of its previous boot are open: ending them",
                      live->host());
  end_sessions(live->host());
}

void disk_catalog::on_end_sessions(host_callback f) {
  std::lock_guard lock(callback_mutex_);
  end_sessions_ = std::move(f);
}

void disk_catalog::end_sessions(const std::string& host) {
  std::lock_guard lock(callback_mutex_);
  if (end_sessions_) end_sessions_(host);
}

void disk_catalog::watch(const std::filesystem::path& dir) {
  watched_.insert(dir);
  if (!watcher_.joinable()) watcher_ = std::thread([this] { watcher(); });
}

void disk_catalog::watcher() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::milliseconds(200));
    if (stopping_) break;
    auto dirs = watched_;
    lock.unlock();
    for (const auto& dir : dirs) {
      std::error_code ec;
      std::vector<std::filesystem::path> requests;
      for (const auto& e : std::filesystem::directory_iterator(dir, ec))
        if (e.path().extension() == ".reset") requests.push_back(e.path());
      for (const auto& req : requests) {
        auto token = read_file(req);
        std::filesystem::remove(req, ec);
        auto host = req.stem().string();
        auto r = reset_host(host);
        auto done = req;
        done += ".done";
        auto answer = (token ? *token : std::string()) + "\n" +
                      (r ? std::string("ok") : "error: " + r.error_message()) + "\n";
        if (auto w = write_file_atomic(done, answer); !w)
          log::storage().error("overlay reset of {}: {}", host, w.error_message());
      }
    }
    lock.lock();
  }
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
