#pragma once
// The commands behind `diskless`: each adds itself (with its subcommands, options and help) to
// the CLI11 app. When parsing selects a leaf, `chosen` receives its work; that runs only after
// the whole command line parsed, and reads `g` then (global options may follow the command).
#include "cli/cli.hpp"

namespace CLI {
class App;
}

namespace diskless::cli {

// `check [FILE]` (commands.cpp).
void add_check_command(CLI::App& app, const global_options& g, action& chosen);
// `host list|show|add|set|remove` (commands.cpp).
void add_host_command(CLI::App& app, const global_options& g, action& chosen);
// `image list|add|remove` (commands.cpp).
void add_image_command(CLI::App& app, const global_options& g, action& chosen);
// `overlay list|reset|commit` (overlay.cpp).
void add_overlay_command(CLI::App& app, const global_options& g, action& chosen);

}  // namespace diskless::cli
