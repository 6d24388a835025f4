#include "cli/cli.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "app/server.hpp"
#include "cli/commands.hpp"
#include "util/log.hpp"

#ifndef DISKLESS_VERSION
#define DISKLESS_VERSION "unknown"
#endif

namespace diskless::cli {

namespace {

constexpr const char* description =
    "Netboots diskless PCs: DHCP/proxyDHCP, TFTP, HTTP, iPXE scripts and iSCSI disks from one "
    "process.";

constexpr const char* footer =
    "Global options may also follow the command. Exit codes: 0 success, 1 invalid inventory or "
    "refused edit, 2 usage error.";

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// The known word closest to `got`, when close enough to be a typo (at most a third of it wrong).
std::optional<std::string> closest(std::string_view got, const std::vector<std::string>& known) {
  std::optional<std::string> best;
  std::size_t best_d = std::max<std::size_t>(2, got.size() / 3) + 1;
  for (const auto& k : known) {
    const auto d = edit_distance(got, k);
    if (d < best_d) best = k, best_d = d;
  }
  return best;
}

// The selected chain: the app, its chosen subcommand, that one's, ...
std::vector<const CLI::App*> chain(const CLI::App& app) {
  std::vector<const CLI::App*> out{&app};
  while (!out.back()->get_subcommands().empty()) out.push_back(out.back()->get_subcommands()[0]);
  return out;
}

// "unknown option/command 'x'; did you mean 'y'?" for each word the parse left over.
std::vector<std::string> explain_leftovers(const CLI::App& app) {
  const auto apps = chain(app);
  std::vector<std::string> options, commands, out;
  for (const auto* a : apps)
    for (const auto* o : a->get_options())
      for (const auto& n : o->get_lnames()) options.push_back("--" + n);
  for (const auto* s : apps.back()->get_subcommands([](const CLI::App*) { return true; }))
    commands.push_back(s->get_name());
  for (const auto& w : app.remaining(true)) {
    const bool option = w.starts_with("-");
    const std::string word = option ? w.substr(0, w.find('=')) : w;
    auto hint = closest(word, option ? options : commands);
    if (!option && commands.empty()) {
      out.push_back(fmt::format("unexpected argument '{}'", w));
      continue;
    }
    out.push_back(fmt::format("unknown {} '{}'{}", option ? "option" : "command", word,
                              hint ? fmt::format("; did you mean '{}'?", *hint) : ""));
  }
  return out;
}

}  // namespace

struct command_line::impl {
  CLI::App app{description, "diskless"};
  global_options g;
  std::string state_dir;
  std::vector<std::string> trace_io;  // serve --trace-io HOST=FILE
  action chosen;
};

command_line::command_line() : impl_(std::make_unique<impl>()) {
  auto& app = impl_->app;
  auto& g = impl_->g;
  app.footer(footer);
  app.require_subcommand(1);
  app.fallthrough();  // inherited: a subcommand hands options it lacks (the global ones) up
  app.set_version_flag("--version", "diskless " DISKLESS_VERSION);
  app.add_option("-c,--config", g.config,
                 "the inventory (default ./config/diskless.xml if it exists, else "
                 "/etc/diskless/diskless.xml)")
      ->type_name("FILE");
  app.add_option("--state-dir", impl_->state_dir,
                 "overrides <state dir=\"...\"> (leases, overlays)")
      ->type_name("DIR");
  app.add_option("--log-level", g.log_level, "trace, debug, info (default), warn, error, off")
      ->type_name("LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  auto* serve =
      app.add_subcommand("serve", "run the server in the foreground (root for ports < 1024)");
  serve
      ->add_option("--trace-io", impl_->trace_io,
                   "log the block I/O of host HOST (READ/WRITE/SYNCHRONIZE CACHE: time, LBA, "
                   "blocks) to FILE; repeatable")
      ->type_name("HOST=FILE")
      ->check([](const std::string& v) {
        auto eq = v.find('=');
        return eq == std::string::npos || eq == 0 || eq + 1 == v.size()
                   ? std::string("expected HOST=FILE")
                   : std::string();
      });
  serve->callback([this] {
    impl_->chosen = [this] {
      app::serve_options so;
      so.config = impl_->g.config;
      so.state_dir = impl_->g.state_dir;
      for (const auto& t : impl_->trace_io) {
        auto eq = t.find('=');
        so.trace_io[t.substr(0, eq)] = t.substr(eq + 1);
      }
      return app::serve(so);
    };
  });
  add_check_command(app, g, impl_->chosen);
  add_host_command(app, g, impl_->chosen);
  add_image_command(app, g, impl_->chosen);
  add_overlay_command(app, g, impl_->chosen);
}

command_line::~command_line() = default;

std::optional<int> command_line::parse(const std::vector<std::string>& args, std::ostream& out,
                                       std::ostream& err) {
  auto& app = impl_->app;
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them reversed
  try {
    app.parse(reversed);
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e, out, err);
  } catch (const CLI::ParseError& e) {
    const auto leftovers = explain_leftovers(app);
    if (leftovers.empty()) err << "diskless: " << e.what() << "\n";
    for (const auto& l : leftovers) err << "diskless: " << l << "\n";
    std::string words;
    for (const auto* a : chain(app)) words += (words.empty() ? "" : " ") + a->get_name();
    err << "see '" << words << " --help'\n";
    return 2;
  }
  if (!impl_->state_dir.empty()) impl_->g.state_dir = impl_->state_dir;
  return std::nullopt;
}

const global_options& command_line::globals() const {
  return impl_->g;
}

std::string command_line::command() const {
  std::string words;
  const auto apps = chain(impl_->app);
  for (std::size_t i = 1; i < apps.size(); ++i) words += (i > 1 ? " " : "") + apps[i]->get_name();
  return words;
}

int command_line::run() {
  if (!impl_->chosen) return 2;
  if (!log::init(impl_->g.log_level)) {
    std::fprintf(stderr, "diskless: --log-level %s: use trace, debug, info, warn, error or off\n",
                 impl_->g.log_level.c_str());
    return 2;
  }
  try {
    return impl_->chosen();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "diskless %s: %s\n", command().c_str(), e.what());
    return 2;
  }
}

int run(int argc, char** argv) {
  command_line cl;
  if (argc <= 1) {  // no command: the overview, as a usage error
    cl.parse({"--help"}, std::cerr, std::cerr);
    return 2;
  }
  if (auto code = cl.parse(std::vector<std::string>(argv + 1, argv + argc), std::cout, std::cerr))
    return *code;
  return cl.run();
}

}  // namespace diskless::cli
