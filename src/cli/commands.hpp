#pragma once
#include <string>
#include <vector>

#include "cli/cli.hpp"

namespace diskless::cli {
// Each takes the words after its command word and returns the exit code:
// 0 success, 1 invalid inventory / refused edit, 2 usage error.
int run_check(const global_options& g, const std::vector<std::string>& args);
int run_host(const global_options& g, const std::vector<std::string>& args);
int run_image(const global_options& g, const std::vector<std::string>& args);
}  // namespace diskless::cli
