#pragma once
// Where a target's LUN 0 comes from: the seam between the iSCSI server and disks. The server
// calls open() when the first session of a host logs in (later sessions share the unit) and drops
// the unit when the host's last session has ended.
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

// Why the server opens a host's unit.
enum class open_reason {
  new_session,    // the host's first session (no unit open)
  reinstatement,  // the login replaces a live session of the same initiator + ISID (not a new boot)
  new_boot,       // the login starts the host's new boot (begins_new_boot said so)
};

class lun_provider {
 public:
  using open_done = unique_function<void(result<lu_ptr>)>;
  virtual ~lun_provider() = default;
  // `h` points into `inv`. `done` runs on the loop thread.
  virtual void open(inventory::inventory_ptr inv, const inventory::host& h, open_reason why,
                    open_done done) = 0;
  // A login of h that is not a reinstatement (loop thread, cheap): true when it starts the
  // host's new boot and its disk must start afresh (a volatile overlay after its PC fetched its
  // boot script, disks/catalog.hpp). The server then ends the host's other sessions (stale ones
  // of the previous boot) and opens with open_reason::new_boot.
  virtual bool begins_new_boot(const inventory::host& /*h*/) { return false; }
  // f(host): end every session of the host now (an overlay reset --force). f may be called on
  // any thread, so it should post to the loop; nullptr clears it (waits for a call in progress).
  virtual void on_end_sessions(std::function<void(const std::string& host)> /*f*/) {}
};

}  // namespace diskless::iscsi
