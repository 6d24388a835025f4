#pragma once
// Service-manager notifications (sd_notify(3)) for `diskless serve` under systemd Type=notify.
// Every call is a no-op when the process was not started by a service manager (NOTIFY_SOCKET
// unset), so tests and terminals see no difference. Never throws; failures are ignored (the
// manager's own timeout reports a server that never becomes ready).
#include <string_view>

namespace diskless::notify {

// READY=1: every listener is bound (sent again after each reload).
void ready();
// RELOADING=1 with MONOTONIC_USEC: a reload has begun; ready() ends it.
void reloading();
// STOPPING=1: shutdown has begun.
void stopping();
// STATUS=text: one line shown by `systemctl status`.
void status(std::string_view text);

}  // namespace diskless::notify
