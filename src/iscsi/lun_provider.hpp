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

class lun_provider {
 public:
  using open_done = unique_function<void(result<lu_ptr>)>;
  virtual ~lun_provider() = default;
  // `h` points into `inv`. reinstatement: the login replaces a live session of the same
  // initiator + ISID (not a new boot). `done` runs on the loop thread.
  virtual void open(inventory::inventory_ptr inv, const inventory::host& h, bool reinstatement,
                    open_done done) = 0;
  // f(host): end every session of the host now (an overlay reset --force, or stale sessions
  // of a volatile host's previous boot). f may be called on any thread, so it should post to
  // the loop; nullptr clears it (waits for a call in progress).
  virtual void on_end_sessions(std::function<void(const std::string& host)> /*f*/) {}
};

}  // namespace diskless::iscsi
