#pragma once
// The TFTP service (Asio): a request socket (port 69 by default) and one socket per transfer
// (a new TID, RFC 1350 §4), all on the app's loop. Files are opened and read ahead on the
// io_pool; blocks are sent from memory. Configured by the inventory's <server><tftp> (root, port,
// port_range_low/high, max_transfers) and <server interface>. What a name serves is the boot
// catalog's answer (boot/catalog.hpp).
#include <memory>

#include "boot/catalog.hpp"
#include "service/service.hpp"
#include "tftp/files.hpp"

namespace diskless::tftp {

// catalog: kept in step with the inventory by its owner (app/); read on the loop thread.
std::unique_ptr<svc::service> make_service(svc::context& ctx,
                                           std::shared_ptr<const boot::catalog> catalog);

}  // namespace diskless::tftp
