#include "cli/cli.hpp"

#include <cstdio>

namespace diskless::cli {
int run(int, char**) {
  std::puts("diskless: not yet");
  return 0;
}
}  // namespace diskless::cli
