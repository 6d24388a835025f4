#pragma once
// The HTTP service (Boost.Beast): boot scripts, kernels and initrds with Range, /status and
// /metrics. iPXE fetches kernels over HTTP far faster than over lockstep TFTP. Disabled with
// <http enabled="false"/>.
#include <memory>

#include "service/service.hpp"

namespace diskless::http {

// nullptr when the inventory disables HTTP.
std::unique_ptr<app::service> make_service(app::context& ctx);

}  // namespace diskless::http
