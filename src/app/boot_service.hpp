#pragma once
// The service that keeps the boot catalog (boot/catalog.hpp) in step with the inventory: apply()
// reloads templates, kernels and initrds (blocking reads, as at start). It opens nothing; put it
// before the services that read from the catalog, so they see the new files on reload.
#include <memory>

#include "boot/catalog.hpp"
#include "service/service.hpp"

namespace diskless::app {

std::unique_ptr<svc::service> make_boot_service(std::shared_ptr<boot::catalog> catalog);

}  // namespace diskless::app
