#pragma once
// The HTTP service (Boost.Beast): boot scripts, kernels and initrds with Range, /status and
// /metrics. iPXE fetches kernels over HTTP far faster than over lockstep TFTP. Disabled with
// <http enabled="false"/>.
#include <memory>

#include "boot/catalog.hpp"
#include "http/handler.hpp"
#include "service/service.hpp"

namespace diskless::http {

// nullptr when the inventory disables HTTP. files: the boot catalog (kept in step with the
// inventory by its owner, app/); read on the loop thread.
std::unique_ptr<svc::service> make_service(svc::context& ctx,
                                           std::shared_ptr<const boot::catalog> files);

// The admin listener (<api address port>, src/api/README.md): the same server on another
// socket, every request answered by `api`, which also receives each new inventory.
std::unique_ptr<svc::service> make_admin_service(svc::context& ctx,
                                                 std::shared_ptr<api_handler> api);

}  // namespace diskless::http
