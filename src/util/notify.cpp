#include "util/notify.hpp"

#include <systemd/sd-daemon.h>

#include <ctime>
#include <string>

namespace diskless::notify {

namespace {
void send(const std::string& state) {
  // unset_environment=0: later notifications (reloads) need NOTIFY_SOCKET too.
  (void)::sd_notify(0, state.c_str());
}
}  // namespace

void ready() {
  send("READY=1");
}

void reloading() {
  // systemd >= 253 wants MONOTONIC_USEC with RELOADING=1 (sd_notify(3)); older ones ignore it.
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  auto usec = static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL +
              static_cast<unsigned long long>(ts.tv_nsec) / 1000ULL;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void stopping() {
  send("STOPPING=1");
}

void status(std::string_view text) {
  std::string line = "STATUS=";
  // A newline would start another assignment: keep the status on one line.
  for (char c : text) line += (c == '\n' ? ' ' : c);
  send(line);
}

}  // namespace diskless::notify
