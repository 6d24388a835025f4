#pragma once
// The iSCSI target service (RFC 7143): listens on server.iscsi.port, one target per inventory host
// with a disk. No Asio in this header.
#include <memory>

#include "iscsi/lun_provider.hpp"
#include "service/service.hpp"
#include "util/secret.hpp"

namespace diskless::iscsi {

// Disks come from `p` (app/disk_provider.hpp in the binary); chap-secret="auto" secrets from
// `secrets` (made by the boot catalog at each script fetch; null: such hosts cannot log in).
std::unique_ptr<svc::service> make_service(
    svc::context& ctx, std::unique_ptr<lun_provider> p,
    std::shared_ptr<const per_boot_secrets> secrets = nullptr);

}  // namespace diskless::iscsi
