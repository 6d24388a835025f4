// `diskless overlay ...`: per-host copy-on-write disks (issue: overlays). Placeholder until the
// qcow2 overlay work lands.
#include <cstdio>

#include "cli/cli.hpp"

namespace diskless::cli {

int run_overlay(const global_options&, const std::vector<std::string>&) {
  std::fprintf(stderr, "diskless overlay: not implemented yet\n");
  return 2;
}

}  // namespace diskless::cli
