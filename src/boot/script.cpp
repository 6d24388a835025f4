#include "boot/script.hpp"

#include <fmt/format.h>

#include <charconv>

#include "inventory/validate.hpp"
#include "util/log.hpp"

namespace diskless::boot {
namespace {

using inventory::boot_method;
using inventory::unknown_policy;

constexpr std::string_view script_prefix = "boot/";
constexpr std::string_view script_suffix = ".ipxe";
constexpr std::string_view images_prefix = "images/";
constexpr std::string_view loaders_prefix = "ipxe/";

// Without a configured address, iPXE's own setting: the server that answered DHCP (siaddr).
// iPXE expands ${...} in every command, including kernel command lines.
std::string server_text(const inventory::inventory& inv) {
  return inv.server.address ? inv.server.address->str() : std::string("${next-server}");
}

// Kernels and initrds go over HTTP when the HTTP service is on: iPXE's TFTP is lock-step (one
// block of its MTU-sized blksize per round trip), HTTP streams over TCP (measured under QEMU TCG
// in integration/bench/boot.sh: the ~14 MB of the iscsi-root path's kernel + initrd).
std::string file_url(const inventory::inventory& inv, std::string_view path) {
  if (inv.server.http.enabled) return http_url(inv, path);
  return fmt::format("tftp://{}/{}", server_text(inv), path);
}

// The menu of a host: every image with a kernel boots it with linux; a known host whose own
// image has a disk can also sanboot its own target (unknown PCs have no target).
void add_menu(const inventory::inventory& inv, const inventory::host* known, variables& v) {
  std::string items, entries;
  if (known) {
    const auto* own = inv.find_image(known->image);
    if (own && own->has_disk()) {
      items += fmt::format("item disk {} (iSCSI disk {})\n", own->name, inv.target_iqn(*known));
      entries += fmt::format(":disk\nset initiator-iqn {}\nsanboot {} || goto start\n",
                             inv.initiator_iqn(*known), v["sanboot_uri"]);
    }
  }
  for (const auto& img : inv.images) {
    if (!img.has_kernel()) continue;
    // The loader refuses such images; an inventory built another way must not inject commands.
    if (inventory::ipxe_hazard(img.name, true) || inventory::ipxe_hazard(img.cmdline, false))
      continue;
    items += fmt::format("item img-{} {} (Linux)\n", img.name, img.name);
    entries += fmt::format(":img-{}\nkernel {} initrd=initrd {} || goto start\n", img.name,
                           file_url(inv, kernel_path(img.name)), img.cmdline);
    if (!img.initrd.empty())
      entries += fmt::format("initrd --name initrd {} || goto start\n",
                             file_url(inv, initrd_path(img.name)));
    entries += "boot || goto start\n";
  }
  if (!items.empty() && items.back() == '\n') items.pop_back();
  if (!entries.empty() && entries.back() == '\n') entries.pop_back();
  v["menu_items"] = items;
  v["menu_entries"] = entries;
}

// "line N: message" → N (0 when absent), for problems that point into a template file.
int line_of(const std::string& msg) {
  int n = 0;
  if (msg.rfind("line ", 0) == 0) std::from_chars(msg.data() + 5, msg.data() + msg.size(), n);
  return n;
}

// The inventory values a script carries must be inert in iPXE (inventory::ipxe_hazard): iPXE
// has no quoting that survives its ${...} expansion, so a hostile value is refused, not escaped.
// Values the renderer builds itself (URLs with ${next-server}, menu commands) are not checked.
result<void> inert_values(const inventory::inventory& inv, const inventory::host& h,
                          const inventory::image* img) {
  std::vector<std::pair<std::string_view, std::string_view>> values = {
      {"host name", h.name}, {"iqn", inv.server.iscsi.iqn}};
  if (h.chap)
    for (auto* v : {&h.chap->user, &h.chap->secret, &h.chap->mutual_user, &h.chap->mutual_secret})
      values.emplace_back("CHAP credential", *v);
  if (img) {
    values.emplace_back("image name", img->name);
    values.emplace_back("rootfstype", img->rootfstype);
  }
  for (auto [what, value] : values)
    if (auto why = inventory::ipxe_hazard(value, true))
      return error{
          fmt::format("refusing to write host '{}''s script: its {} {}", h.name, what, *why)};
  if (auto why = img ? inventory::ipxe_hazard(img->cmdline, false) : std::nullopt)
    return error{fmt::format("refusing to write host '{}''s script: the cmdline of image '{}' {}",
                             h.name, img->name, *why)};
  return {};
}

result<std::string> render_named(const template_set& templates, std::string_view name,
                                 const variables& vars) {
  const auto* t = templates.find(name);
  if (!t) return error{fmt::format("no template named '{}'", name)};
  auto r = render(t->text, vars);
  if (!r) return error{fmt::format("{}: {}", t->origin, r.error_message())};
  return r;
}

}  // namespace

std::string script_path(const mac_address& mac) {
  return fmt::format("{}{}{}", script_prefix, mac.dashed(), script_suffix);
}
std::string loader_path(std::string_view loader) {
  return fmt::format("{}{}", loaders_prefix, loader);
}
std::string http_url(const inventory::inventory& inv, std::string_view path) {
  // A specific <http address> is where PCs must go; 0.0.0.0 (every interface) is not an address
  // a PC can reach, so the server address stands for it.
  const auto& a = inv.server.http.address;
  if (a && !a->is_unspecified())
    return fmt::format("http://{}:{}/{}", a->str(), inv.server.http.port, path);
  return fmt::format("http://{}:{}/{}", server_text(inv), inv.server.http.port, path);
}
std::string kernel_path(std::string_view image) {
  return fmt::format("{}{}/vmlinuz", images_prefix, image);
}
std::string initrd_path(std::string_view image) {
  return fmt::format("{}{}/initrd", images_prefix, image);
}

variables variables_for(const inventory::inventory& inv, const inventory::host& h,
                        const inventory::image* img, std::string_view auto_secret) {
  variables v;
  const std::string server = server_text(inv);
  const std::string target = inv.target_iqn(h);
  const auto port = inv.server.iscsi.port;
  v["server"] = server;
  v["host"] = h.name;
  v["mac"] = h.mac.str();
  v["mac_dashed"] = h.mac.dashed();
  v["image"] = img ? img->name : std::string();
  v["target_iqn"] = target;
  v["initiator_iqn"] = inv.initiator_iqn(h);
  v["iscsi_port"] = std::to_string(port);
  v["lun"] = "0";
  // RFC 4173 §5 root path iscsi:<servername>:<protocol>:<port>:<LUN>:<targetname>; empty fields
  // take the defaults (TCP, 3260, LUN 0), which is what iPXE's sanboot expects to see.
  v["sanboot_uri"] = port == 3260 ? fmt::format("iscsi:{}::::{}", server, target)
                                  : fmt::format("iscsi:{}::{}::{}", server, port, target);
  std::string user, secret, mutual_user, mutual_secret, auth_args, netroot_auth;
  if (h.chap) {
    user = h.chap->user;
    secret =
        h.chap->auto_secret() && !auto_secret.empty() ? std::string(auto_secret) : h.chap->secret;
    // Debian open-iscsi initramfs hook: iscsi_username/iscsi_password, and
    // iscsi_in_username/iscsi_in_password for the target's side of mutual CHAP.
    auth_args = fmt::format("iscsi_username={} iscsi_password={}", user, secret);
    netroot_auth = fmt::format("{}:{}", user, secret);
    if (h.chap->mutual()) {
      mutual_user = h.chap->mutual_user;
      mutual_secret = h.chap->mutual_secret;
      auth_args +=
          fmt::format(" iscsi_in_username={} iscsi_in_password={}", mutual_user, mutual_secret);
      netroot_auth += fmt::format(":{}:{}", mutual_user, mutual_secret);
    }
    netroot_auth += "@";
  }
  v["chap_user"] = user;
  v["chap_secret"] = secret;
  v["mutual_user"] = mutual_user;
  v["mutual_secret"] = mutual_secret;
  v["iscsi_auth_args"] = auth_args;
  // dracut: netroot=iscsi:[user:pass[:ruser:rpass]@]<server>:<proto>:<port>:<lun>:<target>
  v["netroot"] = fmt::format("iscsi:{}{}::{}::{}", netroot_auth, server, port, target);
  const bool kernel = img && img->has_kernel();
  v["kernel_url"] = kernel ? file_url(inv, kernel_path(img->name)) : std::string();
  v["initrd_url"] =
      kernel && !img->initrd.empty() ? file_url(inv, initrd_path(img->name)) : std::string();
  v["cmdline"] = img ? img->cmdline : std::string();
  const auto part = img ? img->root_partition : 1;
  v["root_partition"] = std::to_string(part);
  // The host's disk is the only SCSI disk the initramfs sees after login.
  v["root_device"] = fmt::format("/dev/sda{}", part);
  v["rootfstype"] = img ? img->rootfstype : std::string("ext4");
  add_menu(inv, inv.find_host(h.mac) == &h ? &h : nullptr, v);
  return v;
}

result<std::optional<std::string>> script_for(const inventory::inventory& inv,
                                              const template_set& templates, const mac_address& mac,
                                              std::string_view auto_secret) {
  if (const auto* h = inv.find_host(mac)) {
    const auto* img = h->image.empty() ? nullptr : inv.find_image(h->image);
    if (auto ok = inert_values(inv, *h, img); !ok) return error{ok.error_message()};
    // A per-boot secret is util/secret.hpp's alphabet: inert by construction.
    auto r = render_named(templates, inventory::to_string(h->boot),
                          variables_for(inv, *h, img, auto_secret));
    if (!r) return error{r.error_message()};
    return std::optional<std::string>(std::move(*r));
  }
  inventory::host stranger;
  stranger.mac = mac;
  stranger.name = "unknown-" + mac.dashed();
  std::string_view method;
  const inventory::image* img = nullptr;
  switch (inv.unknown.what) {
    case unknown_policy::kind::ignore:
      return std::optional<std::string>();
    case unknown_policy::kind::local:
      method = "local";
      break;
    case unknown_policy::kind::menu:
      method = "menu";
      break;
    case unknown_policy::kind::image:
      // The loader requires the image to have a kernel: unknown PCs have no iSCSI target.
      method = "linux";
      img = inv.find_image(inv.unknown.image);
      if (!img || !img->has_kernel())
        return error{fmt::format("unknown=\"{}\": no such image with a kernel", inv.unknown.image)};
      stranger.image = img->name;
      break;
  }
  if (auto ok = inert_values(inv, stranger, img); !ok) return error{ok.error_message()};
  auto r = render_named(templates, method, variables_for(inv, stranger, img));
  if (!r) return error{r.error_message()};
  return std::optional<std::string>(std::move(*r));
}

result<std::optional<std::string>> script_for(const inventory::inventory& inv,
                                              const mac_address& mac) {
  return script_for(inv, template_set::load(template_set::dir_for(inv)), mac);
}

std::optional<mac_address> script_mac(std::string_view path) {
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (!path.starts_with(script_prefix) || !path.ends_with(script_suffix)) return std::nullopt;
  if (path.size() < script_prefix.size() + script_suffix.size()) return std::nullopt;
  auto middle =
      path.substr(script_prefix.size(), path.size() - script_prefix.size() - script_suffix.size());
  // Only the dashed spelling: it is the one file name per host we publish.
  if (middle.size() != 17 || middle[2] != '-') return std::nullopt;
  return mac_address::parse(middle);
}

result<std::optional<boot_file>> lookup(const inventory::inventory& inv,
                                        const template_set& templates, std::string_view path,
                                        std::string_view auto_secret) {
  using none = std::optional<boot_file>;
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (path.starts_with(script_prefix) && path.ends_with(script_suffix)) {
    auto mac = script_mac(path);
    if (!mac) return none();
    auto s = script_for(inv, templates, *mac, auto_secret);
    if (!s) return error{s.error_message()};
    if (!*s) {
      log::boot().debug("no script for unknown {} (unknown=\"ignore\")", mac->str());
      return none();
    }
    return none(boot_file{std::move(**s), {}, *mac});
  }
  if (path.starts_with(images_prefix)) {
    auto rest = path.substr(images_prefix.size());
    auto slash = rest.find('/');
    if (slash == std::string_view::npos) return none();
    const auto* img = inv.find_image(rest.substr(0, slash));
    if (!img || !img->has_kernel()) return none();
    auto leaf = rest.substr(slash + 1);
    if (leaf == "vmlinuz") return none(boot_file{{}, inv.resolve(img->kernel), {}});
    if (leaf == "initrd" && !img->initrd.empty())
      return none(boot_file{{}, inv.resolve(img->initrd), {}});
  }
  return none();
}

std::vector<inventory::problem> check_templates(const inventory::inventory& inv,
                                                const template_set& templates) {
  std::vector<inventory::problem> out;
  auto add = [&](const std::string& file, int line, std::string msg) {
    inventory::problem p;
    p.file = file;
    p.line = line;
    p.message = std::move(msg);
    out.push_back(std::move(p));
  };
  for (const auto& [file, msg] : templates.load_errors()) add(file, 0, msg);

  // Every host gets the same set of names, so a representative host tells which are known.
  inventory::host probe;
  probe.name = "probe";
  const auto known = variables_for(inv, probe, nullptr);
  for (auto name : template_names) {
    const auto* t = templates.find(name);
    if (!t) continue;
    if (!t->text.starts_with("#!ipxe"))
      add(t->origin, 1, "an iPXE script must start with the line \"#!ipxe\"");
    auto ph = placeholders(t->text);
    if (!ph) {
      const auto& msg = ph.error_message();
      const auto colon = msg.find(": ");
      const int line = line_of(msg);
      add(t->origin, line, line && colon != std::string::npos ? msg.substr(colon + 2) : msg);
      continue;
    }
    for (const auto& p : *ph)
      if (!known.contains(p.name)) {
        std::string names;
        for (const auto& [k, v] : known) names += (names.empty() ? "" : ", ") + k;
        add(t->origin, p.line,
            fmt::format("unknown placeholder {{{{{}}}}}; known: {}", p.name, names));
      }
  }
  return out;
}

std::vector<inventory::problem> check_templates(const inventory::inventory& inv) {
  return check_templates(inv, template_set::load(template_set::dir_for(inv)));
}

}  // namespace diskless::boot
