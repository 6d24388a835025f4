#include "app/disk_provider.hpp"

#include <utility>

#include "disks/catalog.hpp"
#include "scsi/disk_unit.hpp"
#include "scsi/io_trace.hpp"
#include "util/log.hpp"

namespace diskless::app {
namespace {

using iscsi::lu_ptr;

class disk_provider final : public iscsi::lun_provider {
 public:
  disk_provider(io_pool& pool, std::shared_ptr<disks::disk_catalog> catalog,
                std::map<std::string, std::filesystem::path> trace_io)
      : pool_(pool),
        catalog_(catalog ? std::move(catalog) : std::make_shared<disks::disk_catalog>()),
        trace_files_(std::move(trace_io)) {}
  ~disk_provider() override { catalog_->on_end_sessions(nullptr); }

  void open(inventory::inventory_ptr inv, const inventory::host& h, iscsi::open_reason why,
            open_done done) override {
    std::string name = h.name;
    const inventory::host* hp = &h;
    const auto kind = why == iscsi::open_reason::reinstatement ? disks::login_kind::reinstatement
                      : why == iscsi::open_reason::new_boot    ? disks::login_kind::new_boot
                                                               : disks::login_kind::new_session;
    auto trace = trace_log(name);
    // Opening may touch the disk (qcow2 headers, creating overlays): never on the loop.
    pool_.submit(
        [catalog = catalog_, inv, hp, kind]() { return catalog->open_host_disk(*inv, *hp, kind); },
        // No `this`: the provider may be gone by the time the open completes (server stopping);
        // the pool outlives every service.
        [pool = &pool_, name, trace = std::move(trace),
         done = std::move(done)](result<std::shared_ptr<storage::block_device>> dev) mutable {
          if (!dev) {
            log::iscsi().error("cannot open the disk of {}: {}", name, dev.error_message());
            done(error{dev.error_message()});
            return;
          }
          log::iscsi().debug("{}: disk unit opened", name);
          auto opts = scsi::disk_unit::options::for_host(name, (*dev)->read_only());
          lu_ptr unit = std::make_shared<scsi::disk_unit>(std::move(*dev), *pool, opts);
          if (trace) unit = scsi::make_traced_unit(std::move(unit), trace);
          done(std::move(unit));
        });
  }

  bool begins_new_boot(const inventory::host& h) override { return catalog_->begin_new_boot(h); }

  // The catalog's watcher handles `overlay reset --force` requests itself (it must recreate
  // the overlay under its own lock) and ends the sessions through on_end_sessions.
  void on_end_sessions(std::function<void(const std::string&)> f) override {
    catalog_->on_end_sessions(std::move(f));
  }

 private:
  // The host's trace log (made on its first login), or nullptr when it is not traced.
  std::shared_ptr<scsi::io_trace_log> trace_log(const std::string& host) {
    auto f = trace_files_.find(host);
    if (f == trace_files_.end()) return nullptr;
    auto& log = trace_logs_[host];
    if (!log) {
      log::iscsi().info("tracing the block I/O of {} into {}", host, f->second.string());
      log = std::make_shared<scsi::io_trace_log>(f->second, host, pool_);
    }
    return log;
  }

  io_pool& pool_;
  std::shared_ptr<disks::disk_catalog> catalog_;
  std::map<std::string, std::filesystem::path> trace_files_;
  std::map<std::string, std::shared_ptr<scsi::io_trace_log>> trace_logs_;
};

}  // namespace

std::unique_ptr<iscsi::lun_provider> make_disk_provider(
    io_pool& pool, std::shared_ptr<disks::disk_catalog> catalog,
    std::map<std::string, std::filesystem::path> trace_io) {
  return std::make_unique<disk_provider>(pool, std::move(catalog), std::move(trace_io));
}

}  // namespace diskless::app
