#pragma once
// The lease journal's writer: the file side of lease_table's text journal (leases.hpp holds the
// format). Blocking file I/O: call it on the io_pool, or at stop when the loop is ending.
#include <filesystem>
#include <string>

#include "util/result.hpp"

namespace diskless::dhcp {

// Appends `data` to the journal at `path` (created when missing), or with `replace` atomically
// replaces the file with it (compaction: `data` is then a snapshot); returns once the bytes are
// durable (fdatasync), so a reply promising a lease may be sent.
result<void> write_journal(const std::filesystem::path& path, const std::string& data,
                           bool replace);

}  // namespace diskless::dhcp
