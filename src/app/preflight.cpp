#include "app/preflight.hpp"

#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

namespace diskless::app {

std::string effective_user() {
  const auto uid = ::geteuid();
  const passwd* pw = ::getpwuid(uid);
  return fmt::format("{} (uid {})", pw ? pw->pw_name : "?", uid);
}

std::optional<std::string> inventory_unreadable(const std::filesystem::path& file) {
  std::error_code ec;
  const auto shown = std::filesystem::absolute(file, ec).string();
  if (std::filesystem::is_directory(file, ec))
    return fmt::format(
        "cannot read the inventory {}: it is a directory; pass the XML file with "
        "-c FILE",
        shown);
  std::ifstream in(file);
  if (in) return std::nullopt;
  const int err = errno;
  std::string todo;
  if (err == ENOENT)
    todo =
        "create it (the package installs a commented one as /etc/diskless/diskless.xml, the "
        "source tree has config/diskless.xml) or pass -c FILE";
  else if (err == EACCES || err == EPERM)
    todo = fmt::format("make it readable by {} (e.g. chgrp diskless FILE; chmod g+r FILE)",
                       effective_user());
  else
    todo = "check the path or pass -c FILE";
  return fmt::format("cannot read the inventory {}: {}; {}", shown, std::strerror(err), todo);
}

std::optional<std::string> state_dir_problem(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::string reason;
  if (ec)
    reason = ec.message();
  else if (::access(dir.c_str(), W_OK | X_OK) != 0)
    reason = std::strerror(errno);
  else
    return std::nullopt;
  return fmt::format(
      "state dir {}: {}; {} must be able to create files there (leases, overlays, pid file): "
      "chown it to that user, or choose another with <state dir=\"...\"> or --state-dir",
      dir.string(), reason, effective_user());
}

}  // namespace diskless::app
