#pragma once
// The iSCSI target's disks: a host's LUN 0 opened through disks::disk_catalog (overlay modes,
// shared golden images) and served as a scsi::disk_unit. The twin of the boot catalog:
// app wires the protocol seams to disks.
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "iscsi/lun_provider.hpp"
#include "util/io_pool.hpp"

namespace diskless::disks {
class disk_catalog;
}

namespace diskless::app {

// Opens disks on the I/O pool. The catalog may be shared with the boot-script path
// (disk_catalog::mark_new_boot); by default the provider makes its own. The disks of the hosts
// named in trace_io log their block I/O to the file given (scsi/io_trace.hpp); one log per host
// for the whole run, so a reboot's commands follow the first boot's.
std::unique_ptr<iscsi::lun_provider> make_disk_provider(
    io_pool& pool, std::shared_ptr<disks::disk_catalog> catalog = nullptr,
    std::map<std::string, std::filesystem::path> trace_io = {});

}  // namespace diskless::app
