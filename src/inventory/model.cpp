#include "inventory/model.hpp"

#include <tuple>
#include <unordered_map>

namespace diskless::inventory {

namespace {

bool valid_rbd_name(std::string_view n) {
  if (n.empty() || n.size() > 100 || n.front() == '.') return false;
  for (char c : n) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

result<rbd_source> parse_rbd_spec(std::string_view spec, std::string_view snapshot) {
  auto slash = spec.find('/');
  if (slash == std::string_view::npos)
    return error{"rbd must be POOL/IMAGE (a snapshot goes in snapshot=\"...\")"};
  rbd_source r;
  r.pool = std::string(spec.substr(0, slash));
  r.image = std::string(spec.substr(slash + 1));
  r.snapshot = std::string(snapshot);
  if (!valid_rbd_name(r.pool))
    return error{"pool '" + r.pool + "' is not a name (letters, digits, '.', '_', '-')"};
  if (!valid_rbd_name(r.image))
    return error{"image '" + r.image + "' is not a name (letters, digits, '.', '_', '-')"};
  if (!r.snapshot.empty() && !valid_rbd_name(r.snapshot))
    return error{"snapshot '" + r.snapshot + "' is not a name (letters, digits, '.', '_', '-')"};
  return r;
}

bool valid_ceph_user(std::string_view user) {
  return user.starts_with("client.") && valid_rbd_name(user.substr(7));
}

std::string_view to_string(dhcp_mode m) {
  switch (m) {
    case dhcp_mode::off:
      return "off";
    case dhcp_mode::proxy:
      return "proxy";
    case dhcp_mode::full:
      return "full";
  }
  return "?";
}

std::string_view to_string(boot_method b) {
  switch (b) {
    case boot_method::sanboot:
      return "sanboot";
    case boot_method::linux:
      return "linux";
    case boot_method::iscsi_root:
      return "iscsi-root";
    case boot_method::local:
      return "local";
    case boot_method::menu:
      return "menu";
  }
  return "?";
}

std::string_view to_string(overlay_mode o) {
  switch (o) {
    case overlay_mode::none:
      return "none";
    case overlay_mode::readonly:
      return "readonly";
    case overlay_mode::persistent:
      return "persistent";
    case overlay_mode::volatile_:
      return "volatile";
  }
  return "?";
}

std::optional<dhcp_mode> parse_dhcp_mode(std::string_view s) {
  for (auto m : {dhcp_mode::off, dhcp_mode::proxy, dhcp_mode::full})
    if (to_string(m) == s) return m;
  return std::nullopt;
}

std::optional<boot_method> parse_boot_method(std::string_view s) {
  for (auto b : {boot_method::sanboot, boot_method::linux, boot_method::iscsi_root,
                 boot_method::local, boot_method::menu})
    if (to_string(b) == s) return b;
  return std::nullopt;
}

std::optional<overlay_mode> parse_overlay_mode(std::string_view s) {
  for (auto o : {overlay_mode::none, overlay_mode::readonly, overlay_mode::persistent,
                 overlay_mode::volatile_})
    if (to_string(o) == s) return o;
  return std::nullopt;
}

const host* inventory::find_host(const mac_address& mac) const {
  for (const auto& h : hosts)
    if (h.mac == mac) return &h;
  return nullptr;
}

const host* inventory::find_host_by_name(std::string_view name) const {
  for (const auto& h : hosts)
    if (h.name == name) return &h;
  return nullptr;
}

const host* inventory::find_host_by_key(std::string_view key) const {
  if (auto* h = find_host_by_name(key)) return h;
  if (auto mac = mac_address::parse(key)) return find_host(*mac);
  return nullptr;
}

const image* inventory::find_image(std::string_view name) const {
  for (const auto& i : images)
    if (i.name == name) return &i;
  return nullptr;
}

std::filesystem::path inventory::resolve(const std::filesystem::path& p) const {
  if (p.empty() || p.is_absolute()) return p;
  return base_dir / p;
}

namespace {
auto host_tuple(const host& h) {
  std::string chap = h.chap ? h.chap->user + "\n" + h.chap->secret + "\n" + h.chap->mutual_user +
                                  "\n" + h.chap->mutual_secret
                            : std::string("-");
  return std::make_tuple(h.name, h.image, h.boot, h.overlay, h.ip, chap, h.allow_any_initiator,
                         h.quirks.force_option43, h.quirks.reply_delay);
}

auto image_tuple(const image& i) {
  return std::make_tuple(i.name, i.disk, i.rbd, i.kernel, i.initrd, i.cmdline, i.root_partition,
                         i.rootfstype);
}

bool same_server(const server_config& a, const server_config& b) {
  auto d = [](const dhcp_config& c) {
    return std::make_tuple(c.mode, c.range_start, c.range_end, c.netmask, c.router, c.dns,
                           c.lease_time, c.efi_loader, c.ra, c.known_only);
  };
  return a.address == b.address && a.interface == b.interface && d(a.dhcp) == d(b.dhcp) &&
         a.tftp.root == b.tftp.root && a.tftp.port == b.tftp.port &&
         a.tftp.port_range_low == b.tftp.port_range_low &&
         a.tftp.port_range_high == b.tftp.port_range_high &&
         a.tftp.max_transfers == b.tftp.max_transfers && a.iscsi.port == b.iscsi.port &&
         a.iscsi.iqn == b.iscsi.iqn && a.http.port == b.http.port &&
         a.http.enabled == b.http.enabled && a.http.address == b.http.address &&
         a.api.enabled == b.api.enabled && a.api.address == b.api.address &&
         a.api.port == b.api.port && a.api.token_file == b.api.token_file &&
         a.api.open_reads == b.api.open_reads && a.state_dir == b.state_dir;
}
}  // namespace

// Linear in the number of hosts: the reload applies it on the event loop, so the lookups go
// through hash maps (by MAC for hosts, by name for images) instead of find_host per entry.
host_diff diff(const inventory& before, const inventory& after) {
  host_diff d;
  std::unordered_map<mac_address, const host*> old_hosts, new_hosts;
  old_hosts.reserve(before.hosts.size());
  new_hosts.reserve(after.hosts.size());
  for (const auto& h : before.hosts) old_hosts.emplace(h.mac, &h);
  for (const auto& h : after.hosts) new_hosts.emplace(h.mac, &h);
  std::unordered_map<std::string_view, const image*> old_images, new_images;
  for (const auto& i : before.images) old_images.emplace(i.name, &i);
  for (const auto& i : after.images) new_images.emplace(i.name, &i);
  auto find = [](const auto& map, const auto& key) {
    auto it = map.find(key);
    return it == map.end() ? nullptr : it->second;
  };
  for (const auto& h : after.hosts) {
    const host* old = find(old_hosts, h.mac);
    const image* oi = find(old_images, std::string_view(h.image));
    const image* ni = find(new_images, std::string_view(h.image));
    if (!old)
      d.added.push_back(h.name);
    else if (host_tuple(*old) != host_tuple(h))
      d.changed.push_back(h.name);
    else if ((oi == nullptr) != (ni == nullptr) || (oi && image_tuple(*oi) != image_tuple(*ni)))
      d.changed.push_back(h.name);  // same entry, but its image changed under it
  }
  for (const auto& h : before.hosts)
    if (!new_hosts.contains(h.mac)) d.removed.push_back(h.name);
  d.server_changed = !same_server(before.server, after.server) ||
                     before.unknown.what != after.unknown.what ||
                     before.unknown.image != after.unknown.image;
  if (before.images.size() != after.images.size()) {
    d.images_changed = true;
  } else {
    for (std::size_t i = 0; i < before.images.size(); ++i)
      if (image_tuple(before.images[i]) != image_tuple(after.images[i])) d.images_changed = true;
  }
  return d;
}

std::shared_ptr<inventory> serving_view(const inventory& inv) {
  auto out = std::make_shared<inventory>(inv);
  if (inv.disabled_hosts.empty() && inv.disabled_images.empty()) return out;
  for (const auto& h : inv.hosts)
    if (auto it = inv.disabled_hosts.find(h.name); it != inv.disabled_hosts.end())
      out->disabled_macs.emplace(h.mac, "host '" + h.name + "' is disabled: " + it->second);
  std::erase_if(out->hosts, [&](const host& h) { return inv.disabled_hosts.contains(h.name); });
  std::erase_if(out->images, [&](const image& i) { return inv.disabled_images.contains(i.name); });
  if (out->unknown.what == unknown_policy::kind::image &&
      inv.disabled_images.contains(out->unknown.image))
    out->unknown = unknown_policy{unknown_policy::kind::ignore, {}, out->unknown.line};
  return out;
}

}  // namespace diskless::inventory
