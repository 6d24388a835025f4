#include "disks/rbd_disks.hpp"

#include "util/log.hpp"

namespace diskless::disks {

using storage::block_device;

namespace {
// A crashed diskless (or a killed client) leaves its watch on the clone for ~30 s
// (osd_client_watch_timeout): removing the clone at a new boot waits that long at most.
constexpr std::chrono::seconds busy_wait{40};
}  // namespace

std::string rbd_clone_name(const inventory::rbd_source& src, const inventory::host& h) {
  // Keyed by the MAC like overlay_path's file name, so renaming the host keeps its clone.
  return src.image + "." + h.mac.dashed();
}

result<std::shared_ptr<storage::rbd_cluster>> rbd_disks::cluster(const inventory::rbd_source& src) {
  auto key = src.conf.string() + "\n" + src.user;
  if (auto it = clusters_.find(key); it != clusters_.end()) return it->second;
  auto c = storage::rbd_connect({src.conf.string(), src.user, std::chrono::seconds(10)});
  if (!c) return c;
  log::storage().info("connected to Ceph ({} as {})",
                      src.conf.empty() ? std::string("default ceph.conf") : src.conf.string(),
                      src.user.empty() ? std::string("client.admin") : src.user);
  clusters_.emplace(key, *c);
  return c;
}

result<std::shared_ptr<block_device>> rbd_disks::shared(const inventory::rbd_source& src,
                                                        bool at_snapshot) {
  auto key = at_snapshot ? src.spec() : src.pool + "/" + src.image + "!rw";
  if (auto it = shared_.find(key); it != shared_.end())
    if (auto d = it->second.lock()) return d;
  auto c = cluster(src);
  if (!c) return error{c.error_message()};
  auto d = storage::rbd_open(*c, src.pool, src.image, at_snapshot ? src.snapshot : "", at_snapshot);
  if (!d) return d;
  log::storage().info("opened rbd {} ({} bytes, {})",
                      at_snapshot ? src.spec() : src.pool + "/" + src.image, (*d)->size(),
                      at_snapshot ? "read-only, shared" : "read-write");
  shared_[key] = *d;
  return d;
}

result<std::shared_ptr<block_device>> rbd_disks::clone_for(const inventory::rbd_source& src,
                                                           const inventory::host& h, bool fresh) {
  const auto name = rbd_clone_name(src, h);
  const auto spec = src.pool + "/" + name;
  if (!fresh) {
    if (auto it = clones_.find(h.name); it != clones_.end())
      if (auto d = it->second.lock()) return std::shared_ptr<block_device>(d);
  }
  auto c = cluster(src);
  if (!c) return error{c.error_message()};
  // The previous boot's device lets go of the clone first: a removal waits for its watch.
  if (auto it = clones_.find(h.name); it != clones_.end()) {
    if (auto d = it->second.lock()) d->revoke();
    clones_.erase(it);
  }
  bool reused = false;
  if (fresh) {
    if (auto r = storage::rbd_remove(*c, src.pool, name, busy_wait); !r)
      return error{r.error_message()};
  } else {
    auto parent = storage::rbd_parent(*c, src.pool, name);
    if (parent && !parent->empty() && *parent != src.spec())
      return error{"rbd clone " + spec + " was made from " + *parent + ", the image is now " +
                   src.spec() + "; remove the clone (rbd rm " + spec + ") to start from it"};
    if (parent && parent->empty())
      return error{"rbd " + spec + " exists but is not a clone of " + src.spec() +
                   "; remove or rename it"};
    reused = parent.ok();
  }
  if (!reused) {
    if (auto r = storage::rbd_clone(*c, src.pool, src.image, src.snapshot, name); !r)
      return error{r.error_message()};
  }
  auto d = storage::rbd_open(*c, src.pool, name, "", false);
  if (!d) return d;
  // overlay_device as the revocable wrapper; the recipe only names the clone (reset_host's
  // file recreation is for qcow2 overlays, which this is not).
  auto dev = std::make_shared<overlay_device>(
      *d, h.name, overlay_recipe{"rbd:" + spec, src.spec(), "rbd", (*d)->size()});
  clones_[h.name] = dev;
  if (reused)
    log::storage().info("host {}: rbd clone {} reused", h.name, spec);
  else if (fresh)
    log::storage().info("host {}: new boot: volatile rbd clone {} made again from {}", h.name, spec,
                        src.spec());
  else
    log::storage().info("host {}: new rbd clone {} of {}", h.name, spec, src.spec());
  return std::shared_ptr<block_device>(dev);
}

result<std::shared_ptr<block_device>> rbd_disks::open(const inventory::rbd_source& src,
                                                      const inventory::host& h, bool fresh) {
  std::lock_guard lock(mutex_);
  result<std::shared_ptr<block_device>> r = error{""};
  switch (h.overlay) {
    case inventory::overlay_mode::none:
      r = shared(src, false);
      break;
    case inventory::overlay_mode::readonly:
      r = shared(src, true);
      break;
    case inventory::overlay_mode::persistent:
      r = clone_for(src, h, false);
      break;
    case inventory::overlay_mode::volatile_:
      r = clone_for(src, h, fresh);
      break;
  }
  if (!r) return error{"host " + h.name + ": " + r.error_message()};
  return r;
}

}  // namespace diskless::disks
