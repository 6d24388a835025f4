#pragma once
// What the API shows, as Boost.JSON values: inventory entries with their live state
// (state/model.hpp). Times are RFC 3339 UTC strings; durations are seconds.
#include <boost/json/value.hpp>
#include <map>
#include <string>

#include "inventory/model.hpp"
#include "state/model.hpp"

namespace diskless::api {

std::string rfc3339(state::time_point t);

boost::json::object boot_json(const state::boot_record& b, bool with_steps);
// The host's configuration and state; `detail` adds the steps of its current boot and history.
// overlay_bytes: allocated bytes of overlay files by host name (absent: unknown or none).
boost::json::object host_json(
    const inventory::inventory& inv, const inventory::host& h, const state::host_state* s,
    bool detail, const std::map<std::string, std::uint64_t, std::less<>>& overlay_bytes);
boost::json::object image_json(const inventory::image& im);
boost::json::object unknown_json(const state::unknown_pc& u);
boost::json::object lease_json(const state::lease_seen& l);
// The live stream's event for a change: {"type": ..., "data": ...}.
std::string sse_event(const state::change& c, const state::model& live);

}  // namespace diskless::api
