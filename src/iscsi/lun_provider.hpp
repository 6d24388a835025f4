#pragma once
// Where a target's LUN 0 comes from: the seam between the iSCSI server and disks. The server
// calls open() when the first session of a host logs in (later sessions share the unit) and
// closed() when the host's last session has ended.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "inventory/model.hpp"
#include "scsi/task.hpp"
#include "util/io_pool.hpp"
#include "util/result.hpp"
#include "util/unique_function.hpp"

namespace diskless::iscsi {

using lu_ptr = std::shared_ptr<scsi::logical_unit>;

class lun_provider {
 public:
  using open_done = unique_function<void(result<lu_ptr>)>;
  virtual ~lun_provider() = default;
  // `h` points into `inv`. reinstatement: the login replaces a live session of the same
  // initiator + ISID (not a new boot). `done` runs on the loop thread.
  virtual void open(inventory::inventory_ptr inv, const inventory::host& h, bool reinstatement,
                    open_done done) = 0;
  virtual void closed(const std::string& host_name) = 0;
  // Hosts whose sessions must end (e.g. `diskless overlay reset --force`); polled on reload.
  virtual std::vector<std::string> take_reset_requests(const inventory::inventory&) { return {}; }
  // f(host): end every session of the host now (an overlay reset --force, or stale sessions
  // of a volatile host's previous boot). f may be called on any thread, so it should post to
  // the loop; nullptr clears it (waits for a call in progress).
  virtual void on_end_sessions(std::function<void(const std::string& host)> f) { (void)f; }
};

}  // namespace diskless::iscsi

namespace diskless::disks {
class disk_catalog;
}

namespace diskless::iscsi {

// Opens the host's disk with disks::disk_catalog (overlay modes, shared golden images) on the
// I/O pool and serves it as a scsi::disk_unit. The catalog may be shared with the boot-script
// path (disk_catalog::mark_new_boot); by default the provider makes its own.
std::unique_ptr<lun_provider> make_disk_provider(
    io_pool& pool, std::shared_ptr<disks::disk_catalog> catalog = nullptr);

}  // namespace diskless::iscsi
