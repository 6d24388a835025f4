#include "disks/overlay.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "storage/qcow2.hpp"

namespace diskless::disks {

std::filesystem::path overlays_dir(const inventory::inventory& inv) {
  return inv.resolve(inv.server.state_dir) / "overlays";
}

std::filesystem::path overlay_path(const inventory::inventory& inv, const inventory::host& h) {
  return overlays_dir(inv) / (h.mac.dashed() + ".qcow2");
}

std::filesystem::path legacy_overlay_path(const inventory::inventory& inv,
                                          const inventory::host& h) {
  return overlays_dir(inv) / (h.name + ".qcow2");
}

bool has_overlay(const inventory::host& h) {
  return h.overlay == inventory::overlay_mode::persistent ||
         h.overlay == inventory::overlay_mode::volatile_;
}

namespace {

void sync_dir(const std::filesystem::path& dir) {
  if (int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace

result<std::optional<std::string>> migrate_legacy_overlay(const inventory::inventory& inv,
                                                          const inventory::host& h) {
  using none = std::optional<std::string>;
  if (!has_overlay(h)) return none();
  const auto to = overlay_path(inv, h), from = legacy_overlay_path(inv, h);
  std::error_code ec;
  if (std::filesystem::exists(to, ec) || !std::filesystem::exists(from, ec)) return none();
  // An exclusive lock we can take: no server (of any version) has it open. Held across the
  // rename so no login opens it meanwhile.
  int fd = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return none();  // another thread or process moved it first
  if (fd < 0) return error{from.string() + ": " + std::strerror(errno)};
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return error{from.string() + ": in use; it moves to " + to.filename().string() +
                 " once the host is logged out"};
  }
  // Under the lock, again: whoever held it before us may have moved the file.
  if (std::filesystem::exists(to, ec) || !std::filesystem::exists(from, ec)) {
    ::close(fd);
    return none();
  }
  std::filesystem::rename(from, to, ec);
  ::close(fd);
  if (ec) return error{from.string() + ": cannot rename to " + to.string() + ": " + ec.message()};
  sync_dir(to.parent_path());
  return none("host " + h.name + ": overlay " + from.filename().string() + " renamed to " +
              to.filename().string() + " (overlays are named by MAC, so they follow renames)");
}

result<void> remove_unused_overlay(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return {};  // nothing to remove: the next login starts afresh
  if (fd < 0) return error{path.string() + ": " + std::strerror(errno)};
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return error{path.string() + ": in use (a host is logged in on it)"};
  }
  std::error_code ec;
  std::filesystem::remove(path, ec);  // under the lock: nobody opens it meanwhile
  ::close(fd);
  if (ec) return error{path.string() + ": " + ec.message()};
  sync_dir(path.parent_path());
  return {};
}

void migrate_legacy_overlays(const inventory::inventory& inv,
                             const std::function<void(bool warning, const std::string&)>& report) {
  for (const auto& h : inv.hosts) {
    auto m = migrate_legacy_overlay(inv, h);
    if (!m)
      report(true, "host " + h.name + ": " + m.error_message());
    else if (*m)
      report(false, **m);
  }
}

std::vector<overlay_file> overlay_files(const inventory::inventory& inv) {
  std::map<std::filesystem::path, const inventory::host*> owners;
  for (const auto& h : inv.hosts)
    if (has_overlay(h)) owners[overlay_path(inv, h)] = &h;
  std::vector<overlay_file> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(overlays_dir(inv), ec)) {
    if (e.path().extension() != ".qcow2") continue;
    auto it = owners.find(e.path());
    out.push_back({e.path(), it == owners.end() ? nullptr : it->second});
  }
  std::sort(out.begin(), out.end(),
            [](const overlay_file& a, const overlay_file& b) { return a.path < b.path; });
  return out;
}

result<void> create_fresh(const overlay_recipe& r) {
  storage::qcow2_create_options c;
  c.size = r.size;
  c.backing_file = r.backing;
  c.backing_format = r.backing_format;
  // 4 KiB clusters up to 1 TiB: a guest's 4 KiB write then allocates a whole cluster with no
  // copy-on-write read, where 64 KiB clusters copy 60 KiB from the golden image first (measured
  // in-process: ~97k vs ~16k allocating writes/s). The metadata is held in memory anyway.
  c.cluster_bits = c.size <= (1ull << 40) ? 12 : 16;
  auto tmp = r.path;
  tmp += ".new";
  if (auto res = storage::create_qcow2(tmp, c); !res) return res;
  std::error_code ec;
  std::filesystem::rename(tmp, r.path, ec);
  if (ec) return error{r.path.string() + ": " + ec.message()};
  sync_dir(r.path.parent_path());
  return {};
}

storage::block_device::file_extent overlay_device::file_for(std::uint64_t offset,
                                                            std::uint64_t length) {
  auto d = target();
  if (!d) return {};
  auto fe = d->file_for(offset, length);
  if (fe.fd >= 0) fe.keep = std::move(d);
  return fe;
}

void overlay_device::revoke() {
  std::shared_ptr<storage::block_device> old;  // released after the lock: closing is disk I/O
  {
    std::lock_guard lock(mutex_);
    old = std::move(dev_);
  }
}

std::shared_ptr<storage::block_device> overlay_device::target() {
  std::lock_guard lock(mutex_);
  return dev_;
}

}  // namespace diskless::disks
