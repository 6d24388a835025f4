#pragma once
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "service/service.hpp"

namespace diskless::disks {
class disk_catalog;
}

namespace diskless::app {
// Every protocol service enabled by the inventory, not yet started.
// disks: the per-host disks the iSCSI service serves (shared with the API's overlay reset).
// trace_io: host name -> file of its block I/O trace (serve --trace-io).
std::vector<std::unique_ptr<svc::service>> make_services(
    svc::context& ctx, std::shared_ptr<disks::disk_catalog> disks,
    const std::map<std::string, std::filesystem::path>& trace_io = {});
}  // namespace diskless::app
