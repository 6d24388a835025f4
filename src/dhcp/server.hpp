#pragma once
// The DHCP service: UDP ports 67 and 4011 on server.interface, the responder behind them, and
// the lease journal in <state dir>/dhcp-leases.journal (full mode).
//
// Contract: start() loads the journal (blocking, before serving) and opens the sockets; replies
// that depend on a new lease record are sent only after that record is on disk (group commit:
// one fdatasync on the io_pool for every batch of leases, never on the loop); stop() writes what
// is left. apply() takes a new inventory: the pool and host table change at once, sockets are
// reopened when the mode or interface changed. Needs root (ports < 1024, SO_BINDTODEVICE).
#include <functional>
#include <memory>
#include <optional>

#include "service/service.hpp"
#include "util/net.hpp"

namespace diskless::dhcp {

// Which MAC holds a bound, unexpired full-mode lease on an address: the boot catalog's owner
// check for PCs that are not on-link (behind a relay). Filled by the service while it lives;
// loop thread only.
struct lease_lookup {
  std::function<std::optional<mac_address>(ipv4_address)> holder;
};

// leases (may be null): filled with the service's lease table.
std::unique_ptr<svc::service> make_service(svc::context& ctx,
                                           std::shared_ptr<lease_lookup> leases = nullptr);

}  // namespace diskless::dhcp
