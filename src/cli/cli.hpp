#pragma once
// The `diskless` command line (CLI11): global options, the commands and their subcommands.
//
// Contract: every command and subcommand answers -h/--help with its own usage (exit 0); the
// global options (-c FILE, --state-dir DIR, --log-level LEVEL) are accepted before or after the
// command; an unknown option or command is a usage error with the closest known word suggested.
// Exit codes: 0 success, 1 invalid inventory or refused edit, 2 usage error.
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "inventory/paths.hpp"

namespace diskless::cli {

// Options every subcommand understands.
struct global_options {
  std::filesystem::path config = inventory::default_path();  // -c, --config
  std::optional<std::filesystem::path> state_dir;        // --state-dir (overrides <state dir=>)
  std::string log_level = "info";                        // --log-level
};

// The work a parsed command line selected; returns the exit code.
using action = std::function<int()>;

// One parse of the command line. parse() returns the exit code when parsing alone decided it
// (--help, --version: 0 with the text on `out`; a usage error: 2 with the message on `err`), or
// nullopt when a command was chosen: run() then does it.
class command_line {
 public:
  command_line();
  ~command_line();
  command_line(const command_line&) = delete;
  command_line& operator=(const command_line&) = delete;

  // args without the program name.
  std::optional<int> parse(const std::vector<std::string>& args, std::ostream& out,
                           std::ostream& err);
  const global_options& globals() const;
  // The chosen command's words, e.g. "host add" (empty before a successful parse).
  std::string command() const;
  int run();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// Entry point of the `diskless` command; returns the process exit code.
int run(int argc, char** argv);

}  // namespace diskless::cli
