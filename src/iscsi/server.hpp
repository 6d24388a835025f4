#pragma once
// The iSCSI target service (RFC 7143): listens on server.iscsi.port, one target per inventory host
// with a disk. No Asio in this header.
#include <memory>

#include "iscsi/lun_provider.hpp"
#include "service/service.hpp"

namespace diskless::iscsi {

// Disks come from `p` (app/disk_provider.hpp in the binary).
std::unique_ptr<svc::service> make_service(svc::context& ctx, std::unique_ptr<lun_provider> p);

}  // namespace diskless::iscsi
