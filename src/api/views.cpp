#include "api/views.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <boost/json/serialize.hpp>

namespace diskless::api {

namespace json = boost::json;

std::string rfc3339(state::time_point t) {
  auto ms = std::chrono::time_point_cast<std::chrono::milliseconds>(t);
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", ms);
}

namespace {

double seconds(state::time_point a, state::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

json::array steps_json(const std::vector<state::step>& steps) {
  json::array out;
  for (const auto& s : steps)
    out.push_back(json::object{{"name", s.name}, {"at", rfc3339(s.at)}, {"detail", s.detail}});
  return out;
}

}  // namespace

json::object boot_json(const state::boot_record& b, bool with_steps) {
  json::object o{{"id", b.id},
                 {"started", rfc3339(b.started)},
                 {"updated", rfc3339(b.updated)},
                 {"phase", std::string(state::to_string(b.current))},
                 {"outcome", b.outcome},
                 {"arch", b.arch},
                 {"firmware", b.arch == 0 ? "bios" : "uefi"},
                 {"ipxe", b.ipxe},
                 {"address", b.address ? json::value(b.address->str()) : json::value(nullptr)},
                 {"boot_initiator", b.boot_initiator},
                 {"os_initiator", b.os_initiator},
                 {"first_read", b.first_read},
                 {"bytes_read", b.bytes_read},
                 {"bytes_written", b.bytes_written}};
  o["finished"] = b.finished ? json::value(rfc3339(*b.finished)) : json::value(nullptr);
  o["duration_seconds"] =
      b.finished ? json::value(seconds(b.started, *b.finished)) : json::value(nullptr);
  json::array errors;
  for (const auto& e : b.errors) errors.push_back(json::string(e));
  o["errors"] = std::move(errors);
  if (with_steps) o["steps"] = steps_json(b.steps);
  return o;
}

json::object host_json(const inventory::inventory& inv, const inventory::host& h,
                       const state::host_state* s, bool detail,
                       const std::map<std::string, std::uint64_t, std::less<>>& overlay_bytes) {
  json::object o{{"name", h.name},
                 {"mac", h.mac.str()},
                 {"image", h.image},
                 {"boot", std::string(inventory::to_string(h.boot))},
                 {"overlay", std::string(inventory::to_string(h.overlay))},
                 {"ip", h.ip ? json::value(h.ip->str()) : json::value(nullptr)},
                 {"target", inv.target_iqn(h)}};
  std::string phase = "off";
  if (s && s->current) phase = std::string(state::to_string(s->current->current));
  o["phase"] = phase;
  o["address"] = s && s->address ? json::value(s->address->str()) : json::value(nullptr);
  o["sessions"] = s ? s->sessions : 0u;
  o["last_seen"] = s && s->last_seen ? json::value(rfc3339(*s->last_seen)) : json::value(nullptr);
  o["last_error"] = s ? s->last_error : std::string();
  auto ob = overlay_bytes.find(h.name);
  o["overlay_bytes"] = ob == overlay_bytes.end() ? json::value(nullptr) : json::value(ob->second);
  json::value step = nullptr;
  if (s && s->current && !s->current->steps.empty()) {
    const auto& st = s->current->steps.back();
    step = json::object{{"name", st.name}, {"at", rfc3339(st.at)}, {"detail", st.detail}};
  }
  o["last_step"] = std::move(step);
  o["boot_state"] =
      s && s->current ? json::value(boot_json(*s->current, detail)) : json::value(nullptr);
  const state::boot_record* last = nullptr;
  if (s && s->current && s->current->finished) last = &*s->current;
  if (!last && s && !s->history.empty()) last = &s->history.front();
  o["last_boot"] = last ? json::value(boot_json(*last, false)) : json::value(nullptr);
  if (detail) {
    json::array history;
    if (s)
      for (const auto& b : s->history) history.push_back(boot_json(b, false));
    o["history"] = std::move(history);
  }
  return o;
}

json::object image_json(const inventory::image& im) {
  return {{"name", im.name},
          {"disk", im.disk.string()},
          {"kernel", im.kernel.string()},
          {"initrd", im.initrd.string()},
          {"cmdline", im.cmdline}};
}

json::object unknown_json(const state::unknown_pc& u) {
  return {{"mac", u.mac.str()},
          {"arch", u.arch},
          {"vendor_class", u.vendor_class},
          {"uuid", u.uuid},
          {"first_seen", rfc3339(u.first_seen)},
          {"last_seen", rfc3339(u.last_seen)},
          {"count", u.count}};
}

json::object lease_json(const state::lease_seen& l) {
  return {{"mac", l.mac.str()},
          {"address", l.address.str()},
          {"host", l.host.empty() ? json::value(nullptr) : json::value(l.host)},
          {"acked", rfc3339(l.at)}};
}

// WHATWG HTML §9.2.6: "event: NAME\ndata: JSON\n\n" (the JSON is one line).
std::string sse_event(const state::change& c, const state::model& live) {
  json::object data;
  std::string name;
  switch (c.what) {
    case state::change::kind::unknown: {
      name = "unknown";
      if (const auto* u = live.find_unknown(c.mac)) data = unknown_json(*u);
      break;
    }
    default: {
      name = "step";
      data = {{"host", c.host},
              {"mac", c.mac.str()},
              {"phase", std::string(state::to_string(c.current))},
              {"step",
               json::object{
                   {"name", c.last.name}, {"at", rfc3339(c.last.at)}, {"detail", c.last.detail}}}};
      if (const auto* h = live.find(c.host)) {
        data["sessions"] = h->sessions;
        data["address"] = h->address ? json::value(h->address->str()) : json::value(nullptr);
      }
      break;
    }
  }
  return "event: " + name + "\ndata: " + json::serialize(data) + "\n\n";
}

}  // namespace diskless::api
