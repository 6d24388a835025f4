#pragma once
// Logging: one spdlog logger per subsystem, all sharing one sink: stderr (colour on a tty), or the
// systemd journal with syslog priorities when stderr is connected to it (a service).
// Subsystems: app, inventory, dhcp, tftp, iscsi, scsi, storage, http, boot.
#include <spdlog/spdlog.h>

#include <memory>
#include <string_view>

namespace diskless::log {

// Creates the subsystem loggers at the given level ("trace".."off"); false on an unknown level.
// Safe to call more than once (the level is updated).
bool init(std::string_view level = "info");

// The logger of a subsystem; created on first use (so unit tests need no init()).
spdlog::logger& get(std::string_view subsystem);

inline spdlog::logger& app() {
  return get("app");
}
inline spdlog::logger& inventory() {
  return get("inventory");
}
inline spdlog::logger& dhcp() {
  return get("dhcp");
}
inline spdlog::logger& tftp() {
  return get("tftp");
}
inline spdlog::logger& iscsi() {
  return get("iscsi");
}
inline spdlog::logger& scsi() {
  return get("scsi");
}
inline spdlog::logger& storage() {
  return get("storage");
}
inline spdlog::logger& http() {
  return get("http");
}
inline spdlog::logger& boot() {
  return get("boot");
}

}  // namespace diskless::log
