#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace diskless::cli {

// Options every subcommand understands.
struct global_options {
  std::filesystem::path config = "config/diskless.xml";  // -c, --config
  std::optional<std::filesystem::path> state_dir;        // --state-dir (overrides <state dir=>)
  std::string log_level = "info";                        // --log-level
};

// Entry point of the `diskless` command; returns the process exit code.
int run(int argc, char** argv);

// `diskless overlay list | reset HOST [--force] | commit HOST` (src/cli/overlay.cpp).
// args are the words after "overlay".
int run_overlay(const global_options& opts, const std::vector<std::string>& args);

}  // namespace diskless::cli
