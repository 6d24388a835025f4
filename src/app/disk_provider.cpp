#include "app/disk_provider.hpp"

#include <utility>

#include "disks/catalog.hpp"
#include "scsi/disk_unit.hpp"
#include "util/log.hpp"

namespace diskless::app {
namespace {

using iscsi::lu_ptr;

class disk_provider final : public iscsi::lun_provider {
 public:
  disk_provider(io_pool& pool, std::shared_ptr<disks::disk_catalog> catalog)
      : pool_(pool),
        catalog_(catalog ? std::move(catalog) : std::make_shared<disks::disk_catalog>()) {}
  ~disk_provider() override { catalog_->on_end_sessions(nullptr); }

  void open(inventory::inventory_ptr inv, const inventory::host& h, iscsi::open_reason why,
            open_done done) override {
    std::string name = h.name;
    const inventory::host* hp = &h;
    const auto kind = why == iscsi::open_reason::reinstatement ? disks::login_kind::reinstatement
                      : why == iscsi::open_reason::new_boot    ? disks::login_kind::new_boot
                                                               : disks::login_kind::new_session;
    // Opening may touch the disk (qcow2 headers, creating overlays): never on the loop.
    pool_.submit(
        [catalog = catalog_, inv, hp, kind]() { return catalog->open_host_disk(*inv, *hp, kind); },
        // No `this`: the provider may be gone by the time the open completes (server stopping);
        // the pool outlives every service.
        [pool = &pool_, name,
         done = std::move(done)](result<std::shared_ptr<storage::block_device>> dev) mutable {
          if (!dev) {
            log::iscsi().error("cannot open the disk of {}: {}", name, dev.error_message());
            done(error{dev.error_message()});
            return;
          }
          log::iscsi().debug("{}: disk unit opened", name);
          auto opts = scsi::disk_unit::options::for_host(name, (*dev)->read_only());
          done(lu_ptr(std::make_shared<scsi::disk_unit>(std::move(*dev), *pool, opts)));
        });
  }

  bool begins_new_boot(const inventory::host& h) override { return catalog_->begin_new_boot(h); }

  // The catalog's watcher handles `overlay reset --force` requests itself (it must recreate
  // the overlay under its own lock) and ends the sessions through on_end_sessions.
  void on_end_sessions(std::function<void(const std::string&)> f) override {
    catalog_->on_end_sessions(std::move(f));
  }

 private:
  io_pool& pool_;
  std::shared_ptr<disks::disk_catalog> catalog_;
};

}  // namespace

std::unique_ptr<iscsi::lun_provider> make_disk_provider(
    io_pool& pool, std::shared_ptr<disks::disk_catalog> catalog) {
  return std::make_unique<disk_provider>(pool, std::move(catalog));
}

}  // namespace diskless::app
