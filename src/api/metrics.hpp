#pragma once
// GET /metrics on the admin listener: the Prometheus text exposition format (version 0.0.4),
// every family with # HELP and # TYPE, base units (seconds, bytes), counters named _total.
// Built from the live state model's counters and the inventory in force.
#include <optional>
#include <string>

#include "inventory/model.hpp"
#include "state/model.hpp"

namespace diskless::api {

struct reload_info {
  bool last_successful = true;
  std::optional<state::time_point> last_success;  // start counts as the first success
};

std::string metrics_text(const inventory::inventory& inv, const state::model& live,
                         const std::string& version, const reload_info& reload);

}  // namespace diskless::api
