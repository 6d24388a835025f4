#include "state/model.hpp"

#include <algorithm>

namespace diskless::state {

std::string_view to_string(phase p) {
  switch (p) {
    case phase::off:
      return "off";
    case phase::dhcp:
      return "dhcp";
    case phase::loader:
      return "loader";
    case phase::script:
      return "script";
    case phase::kernel:
      return "kernel";
    case phase::iscsi:
      return "iscsi";
    case phase::os:
      return "os";
    case phase::failed:
      return "failed";
  }
  return "off";
}

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return out;
}

// Which boot step a requested path is, from the boot catalog's names (boot/catalog.hpp):
// boot/<mac>.ipxe the script, images/<image>/vmlinuz and /initrd, and the iPXE loaders.
std::pair<std::string, phase> classify_path(std::string_view path) {
  while (path.starts_with('/')) path.remove_prefix(1);
  if (path.starts_with("boot/") && path.ends_with(".ipxe")) return {"script", phase::script};
  if (path.starts_with("images/") && path.ends_with("/vmlinuz")) return {"kernel", phase::kernel};
  if (path.starts_with("images/") && path.ends_with("/initrd")) return {"initrd", phase::kernel};
  if (path.ends_with(".kpxe") || path.ends_with(".pxe") || path.ends_with(".efi"))
    return {"loader", phase::loader};
  return {"file", phase::off};
}

// Removes the entry of `table` seen least recently once it holds more than `cap`.
template <typename Map, typename When>
void cap_table(Map& table, std::size_t cap, When when) {
  while (table.size() > cap) {
    auto oldest = std::min_element(table.begin(), table.end(), [&](auto& a, auto& b) {
      return when(a.second) < when(b.second);
    });
    table.erase(oldest);
  }
}

}  // namespace

void model::apply(const inventory::inventory& inv) {
  std::map<std::string, host_state, std::less<>> next;
  mac_to_name_.clear();
  address_to_name_.clear();
  for (const auto& h : inv.hosts) {
    auto it = hosts_.find(h.name);
    host_state s = it != hosts_.end() ? std::move(it->second) : host_state{};
    s.name = h.name;
    s.mac = h.mac;
    s.method = std::string(inventory::to_string(h.boot));
    mac_to_name_[h.mac] = h.name;
    unknown_.erase(h.mac);
    if (h.ip) address_to_name_[*h.ip] = h.name;
    if (s.address) address_to_name_[*s.address] = h.name;
    next.emplace(h.name, std::move(s));
  }
  hosts_ = std::move(next);
}

const host_state* model::find(std::string_view name) const {
  auto it = hosts_.find(name);
  return it == hosts_.end() ? nullptr : &it->second;
}

std::vector<unknown_pc> model::unknown() const {
  std::vector<unknown_pc> out;
  out.reserve(unknown_.size());
  for (const auto& [mac, u] : unknown_) out.push_back(u);
  std::sort(out.begin(), out.end(),
            [](const unknown_pc& a, const unknown_pc& b) { return a.last_seen > b.last_seen; });
  return out;
}

std::vector<lease_seen> model::leases() const {
  std::vector<lease_seen> out;
  out.reserve(leases_.size());
  for (const auto& [mac, l] : leases_) out.push_back(l);
  return out;
}

host_state* model::by_mac(const mac_address& mac) {
  auto it = mac_to_name_.find(mac);
  if (it == mac_to_name_.end()) return nullptr;
  auto h = hosts_.find(it->second);
  return h == hosts_.end() ? nullptr : &h->second;
}

host_state* model::by_address(ipv4_address a) {
  auto it = address_to_name_.find(a);
  if (it == address_to_name_.end()) return nullptr;
  auto h = hosts_.find(it->second);
  return h == hosts_.end() ? nullptr : &h->second;
}

std::vector<change> model::on_event(const svc::event& e, time_point now) {
  std::vector<change> out;
  switch (e.kind) {
    case svc::event_kind::dhcp:
      on_dhcp(e, now, out);
      break;
    case svc::event_kind::file:
    case svc::event_kind::file_missing:
      on_file(e, now, out);
      break;
    case svc::event_kind::iscsi_login:
    case svc::event_kind::iscsi_login_failed:
    case svc::event_kind::iscsi_logout:
    case svc::event_kind::iscsi_io:
      on_iscsi(e, now, out);
      break;
  }
  return out;
}

// A boot ends when the next one begins: an unfinished one is "superseded".
boot_record& model::begin_boot(host_state& h, time_point now) {
  if (h.current) {
    if (!h.current->finished) {
      h.current->outcome = "superseded";
      ++totals_.boots["superseded"];
    }
    h.history.push_front(std::move(*h.current));
    while (h.history.size() > limits_.boots) h.history.pop_back();
  }
  h.current.emplace();
  h.current->id = next_boot_id_++;
  h.current->started = h.current->updated = now;
  return *h.current;
}

// The server may start in the middle of a boot: its later events open a boot of their own.
boot_record& model::ensure_boot(host_state& h, time_point now) {
  return h.current ? *h.current : begin_boot(h, now);
}

void model::advance(boot_record& b, phase p) {
  if (b.current == phase::failed) return;
  if (p > b.current) b.current = p;
}

// The boot ends in the OS (os) or failed; counted once.
void model::finish(host_state& h, boot_record& b, phase p, time_point now) {
  if (p == phase::os) {
    advance(b, phase::os);
    if (b.current != phase::os) return;  // a failed boot stays failed
  } else {
    b.current = phase::failed;
  }
  if (b.finished) return;
  b.finished = now;
  b.outcome = p == phase::os ? "os" : "failed";
  ++totals_.boots[b.outcome];
  if (p != phase::os) return;
  auto& hist = totals_.boot_seconds[h.method];
  const double secs = std::chrono::duration<double>(now - b.started).count();
  for (std::size_t i = 0; i < totals::bounds.size(); ++i)
    if (secs <= totals::bounds[i]) ++hist.buckets[i];
  ++hist.count;
  hist.sum += secs;
}

void model::add_step(host_state& h, boot_record& b, step s, std::vector<change>& out) {
  b.updated = s.at;
  h.last_seen = s.at;
  change c{change::kind::step, h.name, h.mac, b.current, s};
  if (b.steps.size() < limits_.steps) b.steps.push_back(std::move(s));
  out.push_back(std::move(c));
}

void model::add_error(host_state& h, boot_record& b, const std::string& what) {
  h.last_error = what;
  if (b.errors.size() < limits_.errors) b.errors.push_back(what);
}

void model::see_unknown(const svc::event& e, time_point now, std::vector<change>& out) {
  auto [it, added] = unknown_.try_emplace(*e.mac);
  auto& u = it->second;
  if (added) {
    u.mac = *e.mac;
    u.first_seen = now;
  }
  u.last_seen = now;
  ++u.count;
  if (e.pxe || e.ipxe || added) u.arch = e.arch;
  if (!e.vendor_class.empty()) u.vendor_class = e.vendor_class.substr(0, 128);
  if (!e.uuid.empty()) u.uuid = e.uuid.substr(0, 64);
  cap_table(unknown_, limits_.unknown, [](const unknown_pc& p) { return p.last_seen; });
  if (added) out.push_back({change::kind::unknown, {}, *e.mac, phase::off, {"unknown", now, {}}});
}

void model::see_lease(const svc::event& e, const std::string& host, time_point now) {
  leases_[*e.mac] = {*e.mac, e.address, host, now};
  cap_table(leases_, limits_.leases, [](const lease_seen& l) { return l.at; });
}

// RFC 2131 §3.1: DISCOVER → OFFER, REQUEST → ACK. A firmware PXE DISCOVER (not iPXE) begins a
// new boot unless this boot is still in its DHCP phase (firmware retransmits DISCOVER); iPXE's
// DHCP continues the boot unless its script was already fetched; the OS's DHCP never counts.
// The index follows the host to its new address: the old one no longer names it (whoever gets
// it next is someone else's PC).
void model::set_address(host_state& h, ipv4_address a) {
  if (h.address && *h.address != a) {
    auto it = address_to_name_.find(*h.address);
    if (it != address_to_name_.end() && it->second == h.name) address_to_name_.erase(it);
  }
  h.address = a;
  address_to_name_[a] = h.name;
}

void model::on_dhcp(const svc::event& e, time_point now, std::vector<change>& out) {
  if (!e.mac) return;
  ++totals_.dhcp[{e.name, e.what.empty() ? "none" : e.what}];
  auto* h = by_mac(*e.mac);
  if (e.what == "ACK" && !e.address.is_unspecified()) see_lease(e, h ? h->name : "", now);
  if (!h) return see_unknown(e, now, out);
  h->last_seen = now;
  if (!e.pxe && !e.ipxe) {
    if (e.what == "ACK" && !e.address.is_unspecified()) set_address(*h, e.address);
    return;  // the OS's own DHCP: not a boot step
  }
  const bool firmware = e.pxe && !e.ipxe;
  // iPXE's DISCOVER after a chainload (phase loader) continues the boot; one after the script
  // was fetched is a PC whose NIC ROM is iPXE itself, booting again.
  const auto* cur = h->current ? &*h->current : nullptr;
  if (e.name == "DISCOVER" && (firmware ? (!cur || cur->current != phase::dhcp || cur->ipxe)
                                        : (cur && cur->current >= phase::script)))
    begin_boot(*h, now);
  auto& b = ensure_boot(*h, now);
  if (firmware) b.arch = e.arch;
  if (e.ipxe) b.ipxe = true;
  advance(b, phase::dhcp);
  const char* who = e.ipxe ? "iPXE" : "firmware";
  add_step(*h, b, {lower(e.name), now, who}, out);
  if (e.what.empty()) return;
  std::string detail = who;
  if (!e.address.is_unspecified()) {
    detail = e.address.str() + " (" + who + ")";
    if (e.what == "ACK") {
      set_address(*h, e.address);
      b.address = e.address;
    }
  }
  add_step(*h, b, {lower(e.what), now, detail}, out);
}

void model::on_file(const svc::event& e, time_point now, std::vector<change>& out) {
  auto* h = by_address(e.address);
  if (!h) return;
  auto [name, p] = classify_path(e.name);
  auto& b = ensure_boot(*h, now);
  std::string detail = e.name + " (" + e.what + ")";
  if (e.kind == svc::event_kind::file_missing) {
    add_error(*h, b, "missing " + e.name + ": " + e.detail);
    ++totals_.files[{e.what, "missing"}];
    if (p != phase::off) finish(*h, b, phase::failed, now);
    add_step(*h, b, {"error", now, "missing " + detail}, out);
    return;
  }
  ++totals_.files[{e.what, name}];
  advance(b, p);
  add_step(*h, b, {name, now, detail}, out);
}

// The boot's first login is the boot firmware's (iPXE's sanboot or an initramfs); a later login
// from another initiator name, or from any name once the first session ended, is the installed
// OS taking the disk over: the boot is complete.
void model::on_iscsi(const svc::event& e, time_point now, std::vector<change>& out) {
  auto it = hosts_.find(e.what);
  if (it == hosts_.end()) return;
  auto& h = it->second;
  auto& b = ensure_boot(h, now);
  switch (e.kind) {
    case svc::event_kind::iscsi_login: {
      ++totals_.logins["ok"];
      ++h.sessions;
      const std::string who = e.name + " from " + e.address.str();
      if (b.boot_initiator.empty()) {
        b.boot_initiator = e.name;
        advance(b, phase::iscsi);
        add_step(h, b, {"iscsi-login", now, who}, out);
      } else if (b.os_initiator.empty() && (e.name != b.boot_initiator || h.sessions == 1)) {
        b.os_initiator = e.name;
        finish(h, b, phase::os, now);
        add_step(h, b, {"os-takeover", now, who}, out);
      } else {
        add_step(h, b, {"iscsi-login", now, who}, out);
      }
      break;
    }
    case svc::event_kind::iscsi_login_failed:
      ++totals_.logins["refused"];
      add_error(h, b, "iSCSI login refused: " + e.detail);
      finish(h, b, phase::failed, now);
      add_step(h, b, {"error", now, "login of " + e.name + " refused: " + e.detail}, out);
      break;
    case svc::event_kind::iscsi_logout:
      if (h.sessions > 0) --h.sessions;
      add_step(h, b, {"iscsi-logout", now, e.name + ": " + e.detail}, out);
      break;
    case svc::event_kind::iscsi_io:
      b.bytes_read += e.bytes_read;
      b.bytes_written += e.bytes_written;
      h.total_read += e.bytes_read;
      h.total_written += e.bytes_written;
      totals_.bytes_read += e.bytes_read;
      totals_.bytes_written += e.bytes_written;
      h.last_seen = now;
      if (e.bytes_read > 0 && !b.first_read) {
        b.first_read = true;
        add_step(h, b, {"first-read", now, e.name}, out);
      }
      break;
    default:
      break;
  }
}

}  // namespace diskless::state
