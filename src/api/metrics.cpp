#include "api/metrics.hpp"

#include <fmt/format.h>

namespace diskless::api {

namespace {

// Label values: backslash, double quote and newline escaped (exposition format).
std::string label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

struct writer {
  std::string out;
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  template <typename V>
  void sample(std::string_view name, std::string_view labels, V value) {
    if (labels.empty())
      out += fmt::format("{} {}\n", name, value);
    else
      out += fmt::format("{}{{{}}} {}\n", name, labels, value);
  }
};

void boot_families(writer& w, const inventory::inventory& inv, const state::model& live) {
  const auto& t = live.counted();
  w.family("diskless_hosts", "gauge", "Hosts in the inventory in force, by current boot phase.");
  std::map<std::string, int> phases;
  for (auto p : {state::phase::off, state::phase::dhcp, state::phase::loader, state::phase::script,
                 state::phase::kernel, state::phase::iscsi, state::phase::os, state::phase::failed})
    phases[std::string(state::to_string(p))] = 0;
  for (const auto& h : inv.hosts) {
    const auto* s = live.find(h.name);
    ++phases[s && s->current ? std::string(state::to_string(s->current->current)) : "off"];
  }
  for (const auto& [p, n] : phases) w.sample("diskless_hosts", "phase=\"" + p + "\"", n);
  w.family("diskless_unknown_macs", "gauge", "Unknown MACs seen asking for a boot (capped).");
  w.sample("diskless_unknown_macs", "", live.unknown_count());
  w.family("diskless_boots_total", "counter", "Finished boots by outcome.");
  for (const char* o : {"os", "failed", "superseded"}) {
    auto it = t.boots.find(o);
    w.sample("diskless_boots_total", fmt::format("outcome=\"{}\"", o),
             it == t.boots.end() ? 0 : it->second);
  }
  w.family("diskless_boot_duration_seconds", "histogram",
           "Seconds from the firmware's DHCP DISCOVER to the OS taking the disk over, by boot "
           "method.");
  for (const auto& [method, h] : t.boot_seconds) {
    for (std::size_t i = 0; i < h.buckets.size(); ++i)
      w.sample("diskless_boot_duration_seconds_bucket",
               fmt::format("method=\"{}\",le=\"{}\"", label(method), state::totals::bounds[i]),
               h.buckets[i]);
    w.sample("diskless_boot_duration_seconds_bucket",
             fmt::format("method=\"{}\",le=\"+Inf\"", label(method)), h.count);
    w.sample("diskless_boot_duration_seconds_sum", fmt::format("method=\"{}\"", label(method)),
             h.sum);
    w.sample("diskless_boot_duration_seconds_count", fmt::format("method=\"{}\"", label(method)),
             h.count);
  }
}

void protocol_families(writer& w, const state::model& live) {
  const auto& t = live.counted();
  w.family("diskless_dhcp_packets_total", "counter",
           "DHCP requests by message type and the reply sent (none: not answered).");
  for (const auto& [k, n] : t.dhcp)
    w.sample("diskless_dhcp_packets_total",
             fmt::format("type=\"{}\",reply=\"{}\"", label(k.first), label(k.second)), n);
  w.family("diskless_dhcp_leases_seen", "gauge", "Addresses acked since start (capped).");
  w.sample("diskless_dhcp_leases_seen", "", live.lease_count());
  w.family("diskless_boot_file_requests_total", "counter",
           "Boot file requests of known hosts by protocol and kind (missing: not served).");
  for (const auto& [k, n] : t.files)
    w.sample("diskless_boot_file_requests_total",
             fmt::format("via=\"{}\",kind=\"{}\"", label(k.first), label(k.second)), n);
  w.family("diskless_iscsi_logins_total", "counter", "iSCSI logins of hosts by result.");
  for (const char* r : {"ok", "refused"}) {
    auto it = t.logins.find(r);
    w.sample("diskless_iscsi_logins_total", fmt::format("result=\"{}\"", r),
             it == t.logins.end() ? 0 : it->second);
  }
  w.family("diskless_iscsi_sessions", "gauge", "Live iSCSI sessions by host.");
  w.family("diskless_iscsi_read_bytes_total", "counter", "Bytes read by a host's sessions.");
  w.family("diskless_iscsi_written_bytes_total", "counter", "Bytes written by a host's sessions.");
  std::string sessions, reads, writes;
  for (const auto& [name, h] : live.hosts()) {
    auto l = fmt::format("host=\"{}\"", label(name));
    sessions += fmt::format("diskless_iscsi_sessions{{{}}} {}\n", l, h.sessions);
    reads += fmt::format("diskless_iscsi_read_bytes_total{{{}}} {}\n", l, h.total_read);
    writes += fmt::format("diskless_iscsi_written_bytes_total{{{}}} {}\n", l, h.total_written);
  }
  // Families must not interleave: each one's samples follow its own HELP/TYPE.
  auto at = [&](std::string_view fam) { return w.out.find("# HELP " + std::string(fam)); };
  w.out.insert(at("diskless_iscsi_written_bytes_total"), reads);
  w.out.insert(at("diskless_iscsi_read_bytes_total"), sessions);
  w.out += writes;
}

}  // namespace

std::string metrics_text(const inventory::inventory& inv, const state::model& live,
                         const std::string& version, const reload_info& reload) {
  writer w;
  w.family("diskless_build_info", "gauge", "The running build (always 1).");
  w.sample("diskless_build_info", fmt::format("version=\"{}\"", label(version)), 1);
  w.family("diskless_config_last_reload_successful", "gauge",
           "1 when the last inventory load (start or reload) was valid, else 0.");
  w.sample("diskless_config_last_reload_successful", "", reload.last_successful ? 1 : 0);
  w.family("diskless_config_last_reload_success_timestamp_seconds", "gauge",
           "Unix time of the last valid inventory load.");
  auto ts = reload.last_success
                ? std::chrono::duration<double>(reload.last_success->time_since_epoch()).count()
                : 0.0;
  w.sample("diskless_config_last_reload_success_timestamp_seconds", "", fmt::format("{:.3f}", ts));
  w.family("diskless_images", "gauge", "Images in the inventory in force.");
  w.sample("diskless_images", "", inv.images.size());
  boot_families(w, inv, live);
  protocol_families(w, live);
  return std::move(w.out);
}

}  // namespace diskless::api
