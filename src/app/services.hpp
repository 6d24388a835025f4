#pragma once
#include <memory>
#include <vector>

#include "service/service.hpp"

namespace diskless::app {
// Every protocol service enabled by the inventory, not yet started.
std::vector<std::unique_ptr<svc::service>> make_services(svc::context& ctx);
}  // namespace diskless::app
