#include "util/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/systemd_sink.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

namespace diskless::log {

namespace {
struct registry {
  std::mutex mutex;
  spdlog::sink_ptr sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  spdlog::level::level_enum level = spdlog::level::info;
  std::map<std::string, std::shared_ptr<spdlog::logger>, std::less<>> loggers;
};

registry& reg() {
  static registry r;
  return r;
}

// systemd connects stderr to the journal and says so in JOURNAL_STREAM="DEV:INODE"; comparing it
// with stderr itself tells a service from a child that inherited the variable but writes to a
// pipe or terminal (systemd.exec(5), "JOURNAL_STREAM").
bool stderr_is_journal() {
  const char* v = std::getenv("JOURNAL_STREAM");
  if (!v) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(v, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st {};
  if (::fstat(2, &st) != 0) return false;
  return st.st_dev == dev && st.st_ino == ino;
}
}  // namespace

bool init(std::string_view level) {
  auto lvl = spdlog::level::from_str(std::string(level));
  if (lvl == spdlog::level::off && level != "off") return false;
  auto& r = reg();
  std::lock_guard lock(r.mutex);
  r.level = lvl;
  if (stderr_is_journal()) {
    // The journal stamps time and takes the level as PRIORITY (journalctl -p); the message keeps
    // only the subsystem. SYSLOG_IDENTIFIER is "diskless" for every subsystem.
    if (!std::dynamic_pointer_cast<spdlog::sinks::systemd_sink_mt>(r.sink)) {
      r.sink = std::make_shared<spdlog::sinks::systemd_sink_mt>("diskless", true);
      for (auto& [name, logger] : r.loggers) logger->sinks() = {r.sink};
    }
    r.sink->set_pattern("%-9n %v");
  } else {
    r.sink->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %-9n %v");
  }
  for (auto& [name, logger] : r.loggers) logger->set_level(lvl);
  return true;
}

spdlog::logger& get(std::string_view subsystem) {
  auto& r = reg();
  std::lock_guard lock(r.mutex);
  auto it = r.loggers.find(subsystem);
  if (it == r.loggers.end()) {
    auto logger = std::make_shared<spdlog::logger>(std::string(subsystem), r.sink);
    logger->set_level(r.level);
    logger->flush_on(spdlog::level::warn);
    it = r.loggers.emplace(std::string(subsystem), std::move(logger)).first;
  }
  return *it->second;
}

}  // namespace diskless::log
