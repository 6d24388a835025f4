#include "disks/catalog.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "storage/forwarding_device.hpp"
#include "storage/image.hpp"
#include "storage/qcow2.hpp"
#include "util/file.hpp"
#include "util/log.hpp"

namespace diskless::disks {

using storage::block_device;

namespace {

// Forwards to a device and holds a shared flock on its image file while alive: `overlay commit`
// takes an exclusive one to know that no host uses the image.
class locked_device final : public storage::forwarding_device {
 public:
  locked_device(std::shared_ptr<block_device> dev, int fd)
      : forwarding_device(std::move(dev)), fd_(fd) {}
  ~locked_device() override { ::close(fd_); }

 private:
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

// The device `cache` holds for image p while anyone uses it, else p opened (read-only or
// writable) under a shared image lock and remembered; `opened` tells the two apart. Images are
// keyed by canonical path, so two spellings of one file share one device.
result<std::shared_ptr<block_device>> open_shared(
    std::map<std::string, std::weak_ptr<block_device>>& cache, const std::filesystem::path& p,
    bool writable, bool& opened) {
  auto key = key_of(p);
  if (auto it = cache.find(key); it != cache.end()) {
    if (auto dev = it->second.lock()) return dev;
  }
  auto dev = storage::open_image(p, writable);
  if (!dev) return dev;
  dev = hold_shared_lock(p, *dev);
  if (!dev) return dev;
  cache[key] = *dev;
  opened = true;
  return dev;
}

}  // namespace

result<std::shared_ptr<block_device>> disk_catalog::golden(const std::filesystem::path& p) {
  // Called with mutex_ held.
  bool opened = false;
  auto dev = open_shared(golden_, p, false, opened);
  if (dev && opened)
    log::storage().info("opened golden image {} ({} bytes, read-only, shared)", p.string(),
                        (*dev)->size());
  return dev;
}

result<std::shared_ptr<block_device>> disk_catalog::open_host_disk(const inventory::inventory& inv,
                                                                   const inventory::host& h,
                                                                   login_kind k) {
  const auto* img = inv.find_image(h.image);
  if (!img || !img->has_disk())
    return error{"host " + h.name + ": image '" + h.image + "' has no disk"};
  if (img->rbd) {
    // The new boot's first login (begin_new_boot) clones a volatile host's disk afresh.
    return rbd_.open(*img->rbd, h,
                     h.overlay == inventory::overlay_mode::volatile_ && k == login_kind::new_boot);
  }
  auto path = inv.resolve(img->disk);
  std::lock_guard lock(mutex_);
  switch (h.overlay) {
    case inventory::overlay_mode::none: {
      bool opened = false;
      return open_shared(writable_, path, true, opened);
    }
    case inventory::overlay_mode::readonly: {
      auto g = golden(path);
      if (!g) return g;
      return storage::make_read_only_view(*g);
    }
    case inventory::overlay_mode::persistent:
    case inventory::overlay_mode::volatile_:
      return open_overlay(
          inv, h, path,
          h.overlay == inventory::overlay_mode::volatile_ && k == login_kind::new_boot);
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
  // An overlay under its legacy name (the host's name) moves to its MAC name once: serve's
  // start and reloads do it, and so does this login (a file put back by hand meanwhile).
  if (auto m = migrate_legacy_overlay(inv, h); !m)
    log::storage().warn("host {}: {}", h.name, m.error_message());
  else if (*m)
    log::storage().info("{}", **m);
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
  auto fmt = storage::detect_format(base);
  if (!fmt) return error{fmt.error_message()};
  overlay_recipe recipe{ov, base.string(), std::string(storage::format_name(*fmt)), (*g)->size()};

  storage::qcow2_open_options o;
  o.writable = true;
  o.backing = *g;
  o.lock = true;
  const bool reuse = !fresh && std::filesystem::exists(ov);
  std::shared_ptr<storage::qcow2_image> q;
  if (reuse) {
    auto r = storage::open_qcow2(ov, o);
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
    auto r = storage::open_qcow2(ov, o);
    if (!r) return error{"host " + h.name + ": " + r.error_message()};
    q = *r;
  }
  auto dev = std::make_shared<overlay_device>(q, h.name, std::move(recipe));
  overlays_[key] = dev;
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

std::vector<std::shared_ptr<overlay_device>> disk_catalog::take_live(const std::string& host) {
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

result<void> disk_catalog::reset_host(const std::string& host) {
  {
    std::lock_guard lock(mutex_);
    auto victims = take_live(host);
    if (victims.empty()) return error{"host " + host + " has no overlay open in the server"};
    if (auto r = recreate_live(host, victims); !r) return r;
  }
  end_sessions(host);
  return {};
}

result<void> disk_catalog::reset_overlay(const inventory::inventory& inv,
                                         const inventory::host& h) {
  const auto* img = inv.find_image(h.image);
  if (!has_overlay(h) || !img || !img->has_disk())
    return error{"host " + h.name + " has no overlay to reset"};
  if (img->rbd)
    return error{"host " + h.name +
                 ": an RBD clone starts afresh at the host's new boot; it has "
                 "no overlay file to reset"};
  {
    std::lock_guard lock(mutex_);
    auto victims = take_live(h.name);
    if (victims.empty()) {
      // Not open here (the lock keeps a login out meanwhile): the file goes, the next login
      // creates it from the image.
      auto r = remove_unused_overlay(overlay_path(inv, h));
      if (r) log::storage().warn("host {}: overlay reset: removed (not in use)", h.name);
      return r;
    }
    if (auto r = recreate_live(h.name, victims); !r) return r;
  }
  end_sessions(h.name);
  return {};
}

result<void> disk_catalog::recreate_live(
    const std::string& host, const std::vector<std::shared_ptr<overlay_device>>& victims) {
  // Called with mutex_ held.
  for (auto& d : victims) d->revoke();
  // Under the lock: a login racing with us (libiscsi reconnects at once) waits here and then
  // opens the new file; the revoked device is out of overlays_ and never handed out again.
  if (auto r = create_fresh(victims.front()->recipe()); !r) {
    log::storage().error("host {}: overlay reset: {}", host, r.error_message());
    end_sessions(host);  // they only get EIO now
    return r;
  }
  log::storage().warn("host {}: overlay reset: revoked and recreated empty", host);
  return {};
}

void disk_catalog::mark_new_boot(const mac_address& mac) {
  // Only a mark: sessions that are live now (the running OS, if this was not the PC itself) go
  // on untouched. The login that consumes the mark does the rest (begin_new_boot).
  {
    std::lock_guard lock(boot_mutex_);
    new_boot_.insert(mac);
  }
  log::storage().debug("{}: boot script fetched: a new boot is pending", mac.str());
}

bool disk_catalog::begin_new_boot(const inventory::host& h) {
  bool marked;
  {
    std::lock_guard lock(boot_mutex_);
    marked = new_boot_.erase(h.mac) > 0;  // the first login after the mark consumes it
  }
  if (!marked || h.overlay != inventory::overlay_mode::volatile_) return false;
  log::storage().info("host {}: first login of a new boot: its volatile overlay starts afresh",
                      h.name);
  return true;
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

}  // namespace diskless::disks
