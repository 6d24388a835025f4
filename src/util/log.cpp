#include "util/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

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
}  // namespace

bool init(std::string_view level) {
  auto lvl = spdlog::level::from_str(std::string(level));
  if (lvl == spdlog::level::off && level != "off") return false;
  auto& r = reg();
  std::lock_guard lock(r.mutex);
  r.level = lvl;
  r.sink->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %-9n %v");
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
