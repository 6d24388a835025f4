#pragma once
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "service/service.hpp"

namespace diskless::app {
// Every protocol service enabled by the inventory, not yet started.
// trace_io: host name -> file of its block I/O trace (serve --trace-io).
std::vector<std::unique_ptr<svc::service>> make_services(
    svc::context& ctx, const std::map<std::string, std::filesystem::path>& trace_io = {});
}  // namespace diskless::app
