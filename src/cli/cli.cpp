#include "cli/cli.hpp"

#include <fmt/format.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>
#include <optional>

#include "app/server.hpp"
#include "cli/commands.hpp"
#include "util/log.hpp"

namespace po = boost::program_options;

namespace diskless::cli {

namespace {

constexpr const char* usage =
    R"(usage: diskless [-c FILE] [--state-dir DIR] [--log-level LEVEL] COMMAND ...

Netboots diskless PCs: DHCP/proxyDHCP, TFTP, iPXE scripts and iSCSI disks from one process.

commands:
  serve                         run the server in the foreground (root for ports < 1024)
  check [FILE]                  validate the inventory; problems as FILE:LINE: message
  host list [--json]            the PCs in the inventory
  host show NAME|MAC
  host add MAC --name N --image I --boot B [--overlay O] [--ip IP] [...]
  host set NAME|MAC --key value ...   (--unset KEY removes an attribute)
  host remove NAME|MAC
  image list [--json] | image add NAME --disk F | --kernel F [--initrd F] [--cmdline C]
  image remove NAME
  overlay list | reset HOST [--force] | commit HOST

options:
  -c, --config FILE     the inventory (default config/diskless.xml)
  --state-dir DIR       overrides <state dir="..."> (leases, overlays)
  --log-level LEVEL     trace, debug, info (default), warn, error, off
  -h, --help            this text
  --version
)";

}  // namespace

int run(int argc, char** argv) {
  global_options g;
  std::string state_dir;
  po::options_description opts;
  opts.add_options()("config,c", po::value<std::string>())("state-dir", po::value(&state_dir))(
      "log-level", po::value(&g.log_level))("help,h", "")("version", "");
  // Global options stand before the command; the command parses the words after it.
  int cmd_at = 1;
  while (cmd_at < argc && argv[cmd_at][0] == '-') {
    std::string a = argv[cmd_at];
    bool takes_value = a == "-c" || a == "--config" || a == "--state-dir" || a == "--log-level";
    cmd_at += takes_value ? 2 : 1;
  }
  cmd_at = std::min(cmd_at, argc);
  std::vector<std::string> rest(argv + cmd_at, argv + argc);
  po::variables_map vm;
  try {
    po::store(
        po::command_line_parser(cmd_at, argv)
            .options(opts)
            .style(po::command_line_style::default_style & ~po::command_line_style::allow_guessing)
            .run(),
        vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "diskless: %s\n%s", e.what(), usage);
    return 2;
  }
  if (vm.count("config")) g.config = vm["config"].as<std::string>();
  if (!state_dir.empty()) g.state_dir = state_dir;
  if (vm.count("version")) {
    std::puts("diskless 0.1.0");
    return 0;
  }
  if (vm.count("help") || rest.empty()) {
    std::fputs(usage, vm.count("help") ? stdout : stderr);
    return vm.count("help") ? 0 : 2;
  }
  if (!log::init(g.log_level)) {
    std::fprintf(stderr, "diskless: --log-level %s: use trace, debug, info, warn, error or off\n",
                 g.log_level.c_str());
    return 2;
  }
  std::string cmd = rest.front();
  // Global options are also accepted after the command (`diskless serve -c FILE`).
  std::vector<std::string> args;
  for (std::size_t i = 1; i < rest.size(); ++i) {
    const std::string& a = rest[i];
    auto value = [&](std::string_view flag) -> std::optional<std::string> {
      if (a == flag && i + 1 < rest.size()) return rest[++i];
      std::string eq = std::string(flag) + "=";
      if (a.starts_with(eq)) return a.substr(eq.size());
      return std::nullopt;
    };
    if (auto v = value("-c")) g.config = *v;
    else if (auto v2 = value("--config")) g.config = *v2;
    else if (auto v3 = value("--state-dir")) g.state_dir = *v3;
    else if (auto v4 = value("--log-level")) g.log_level = *v4;
    else args.push_back(a);
  }
  if (!log::init(g.log_level)) {
    std::fprintf(stderr, "diskless: --log-level %s: use trace, debug, info, warn, error or off\n",
                 g.log_level.c_str());
    return 2;
  }
  try {
    if (cmd == "serve") {
      if (!args.empty()) {
        std::fprintf(stderr, "diskless serve: unexpected '%s' (options go before 'serve')\n",
                     args[0].c_str());
        return 2;
      }
      app::serve_options so;
      so.config = g.config;
      so.state_dir = g.state_dir;
      return app::serve(so);
    }
    if (cmd == "check") return run_check(g, args);
    if (cmd == "host") return run_host(g, args);
    if (cmd == "image") return run_image(g, args);
    if (cmd == "overlay") return run_overlay(g, args);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "diskless %s: %s\n", cmd.c_str(), e.what());
    return 2;
  }
  std::fprintf(stderr, "diskless: unknown command '%s'\n%s", cmd.c_str(), usage);
  return 2;
}

}  // namespace diskless::cli
