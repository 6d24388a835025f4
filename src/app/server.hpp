#pragma once
// `diskless serve`: one io_context on one thread runs every protocol service; an io_pool does the
// blocking work. SIGINT/SIGTERM stop cleanly; SIGHUP and changes to the inventory file (inotify on
// its directory, so editors that replace the file are seen) reload it.
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "inventory/load.hpp"
#include "inventory/paths.hpp"
#include "util/result.hpp"

namespace diskless::app {

struct serve_options {
  std::filesystem::path config = inventory::default_path();
  std::optional<std::filesystem::path> state_dir;  // overrides <state dir=...>
  std::size_t io_threads = 4;
  // --trace-io HOST=FILE: host name -> the file its block I/O is logged to (scsi/io_trace.hpp).
  std::map<std::string, std::filesystem::path> trace_io;
};

// Runs until SIGINT/SIGTERM; returns the process exit code.
int serve(const serve_options& opts);

// Loads the inventory for serving: validates, applies the --state-dir override and fills
// server.address from server.interface when it is absent.
inventory::load_result load_for_serving(const serve_options& opts);

// The first IPv4 address of an interface (getifaddrs).
result<ipv4_address> interface_address(const std::string& name);

}  // namespace diskless::app
