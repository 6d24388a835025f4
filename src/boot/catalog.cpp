#include "boot/catalog.hpp"

#include <fmt/format.h>

#include <system_error>

#include "boot/script.hpp"
#include "util/file.hpp"
#include "util/log.hpp"

namespace diskless::boot {
namespace {

// The EFI iPXE builds HTTP serves for UEFI HTTP Boot clients: only these names.
constexpr std::string_view http_loaders[] = {"snponly.efi", "ipxe.efi"};

}  // namespace

offer offer_for(const inventory::inventory& inv, const client& c) {
  const auto& loader = inv.server.dhcp.efi_loader;
  if (c.http_boot && !c.ipxe) {
    // The EFI iPXE from our HTTP service; iPXE then asks again as iPXE for its script.
    auto path = loader_path(loader);
    auto url = http_url(inv, path);
    return {std::move(path), std::move(url)};
  }
  if (c.ipxe) {
    // iPXE fetches its script over HTTP once HTTP is on (iPXE takes any URI in the file field),
    // over TFTP otherwise.
    auto path = script_path(c.mac);
    auto url = inv.server.http.enabled ? http_url(inv, path) : std::string();
    return {std::move(path), std::move(url)};
  }
  // Firmware PXE ROMs speak TFTP only.
  if (c.arch == 0) return {"undionly.kpxe", {}};
  return {loader, {}};
}

std::optional<std::string> not_owner(const mac_address& mac, const requester& r,
                                     const std::optional<mac_address>& holder) {
  if (r.local) return "asked from the server machine itself (use `diskless host show`)";
  if (!r.address) return "the requester has no IPv4 address";
  if (!holder) return "no neighbour entry or DHCP lease names the requester's address";
  if (*holder != mac) return "the requester's address belongs to " + holder->str();
  return std::nullopt;
}

catalog::catalog(inventory::inventory_ptr inv, hooks h) : hooks_(std::move(h)) {
  apply(std::move(inv));
}

bool catalog::refuse(const mac_address& mac, std::string_view path, const requester& who) const {
  auto why = not_owner(mac, who, who.holder);
  if (!why) return false;
  // Info, not warning: a curious PC is not the server's problem, but the admin who wonders why
  // a script is refused must find the reason. Once per address and minute.
  const auto source = who.address ? who.address->str() : std::string("?");
  std::uint64_t more = 0;
  if (refusal_log_.allow(source, log_limiter::clock::now(), &more))
    log::boot().info("{} from {} refused: the script of {} goes to that PC only; {}{}", path,
                     source, mac.str(), *why,
                     more ? fmt::format(" ({} more since the last such line)", more) : "");
  return true;
}

void catalog::apply(inventory::inventory_ptr inv) {
  inv_ = std::move(inv);
  templates_ = template_set::load(template_set::dir_for(*inv_));
  for (const auto& [file, msg] : templates_.load_errors())
    log::boot().error("template {}: {} (the built-in one is used)", file, msg);
  for (const auto& p : check_templates(*inv_, templates_)) log::boot().error("{}", p.str());

  std::map<std::filesystem::path, cached> next;
  for (const auto& img : inv_->images) {
    for (const auto* rel : {&img.kernel, &img.initrd}) {
      if (rel->empty()) continue;
      const auto path = inv_->resolve(*rel);
      std::error_code ec;
      cached c;
      c.mtime = std::filesystem::last_write_time(path, ec);
      if (!ec) c.size = std::filesystem::file_size(path, ec);
      if (ec) {
        log::boot().error("image '{}': cannot read {}: {}", img.name, path.string(), ec.message());
        continue;
      }
      // Unchanged since the last inventory: keep the bytes already in memory.
      if (auto it = files_.find(path);
          it != files_.end() && it->second.mtime == c.mtime && it->second.size == c.size) {
        next[path] = it->second;
        continue;
      }
      auto bytes = read_file(path);
      if (!bytes) {
        log::boot().error("image '{}': {}", img.name, bytes.error_message());
        continue;
      }
      c.content = std::make_shared<const std::string>(std::move(*bytes));
      log::boot().info("image '{}': {} ({} bytes) published", img.name, path.string(),
                       c.content->size());
      next[path] = std::move(c);
    }
  }
  files_ = std::move(next);
}

disk_file catalog::in_root(std::string rel) const {
  return disk_file{inv_->resolve(inv_->server.tftp.root), {ipxe_package_dir}, std::move(rel)};
}

std::optional<mac_address> catalog::owner_only(std::string_view path) const {
  while (path.starts_with('/')) path.remove_prefix(1);
  auto mac = script_mac(path);
  // An ignored unknown MAC has no script: its name is nobody's (404, or TFTP's root).
  if (!mac ||
      (!inv_->find_host(*mac) && inv_->unknown.what == inventory::unknown_policy::kind::ignore))
    return std::nullopt;
  return mac;
}

void catalog::resolve_owner(std::string_view path, requester who, io_pool& pool,
                            unique_function<void(requester)> then) const {
  if (!who.address || who.local || !owner_only(path)) return then(std::move(who));
  // The neighbour table is a file read (/proc): never on the loop. The lease table lives on
  // the loop: asked when the pool's answer is back.
  pool.submit(
      [neighbour = hooks_.neighbour_of, a = *who.address]() -> std::optional<mac_address> {
        return neighbour ? neighbour(a) : std::nullopt;
      },
      [lease = hooks_.lease_of, who = std::move(who),
       then = std::move(then)](std::optional<mac_address> m) mutable {
        who.holder = m ? m : lease ? lease(*who.address) : std::nullopt;
        then(std::move(who));
      });
}

result<std::optional<found>> catalog::find(std::string_view path, via from, const requester& who,
                                           bool fetch) const {
  using none = std::optional<found>;
  while (path.starts_with('/')) path.remove_prefix(1);
  // Not one of ours: TFTP serves its root (then the ipxe package), HTTP nothing.
  auto elsewhere = [&]() -> none {
    if (from == via::tftp) return found{nullptr, in_root(std::string(path)), false};
    return std::nullopt;
  };
  if (from == via::http) {
    for (auto name : http_loaders)
      if (path == loader_path(name)) return none(found{nullptr, in_root(std::string(name)), false});
  }
  // A script carries its host's secrets: its owner's only (see catalog.hpp).
  std::string secret;
  auto mac = owner_only(path);
  const auto* h = mac ? inv_->find_host(*mac) : nullptr;
  if (mac) {
    if (refuse(*mac, path, who)) return none(found{nullptr, {}, false, true});
    if (h && h->chap && h->chap->auto_secret() && hooks_.secrets) {
      // The host's own fetch starts its new boot: a fresh secret (never logged).
      if (fetch)
        secret = hooks_.secrets->rotate(*mac);
      else
        secret = hooks_.secrets->current(*mac).value_or(std::string());
    }
  }
  auto r = lookup(*inv_, templates_, path, secret);
  if (!r) {
    // Loud: an admin-edited template is broken and a PC cannot boot because of it.
    log::boot().error("{}: {}", path, r.error_message());
    if (from == via::http) return error{r.error_message()};
    return elsewhere();
  }
  if (!*r) return elsewhere();
  if ((*r)->is_script()) {
    log::boot().debug("{}: script rendered", path);
    if (fetch && hooks_.on_fetched && (*r)->host) hooks_.on_fetched(*(*r)->host);
    return none(found{std::make_shared<const std::string>(std::move((*r)->content)), {}, true});
  }
  auto it = files_.find((*r)->path);
  if (it == files_.end()) {
    log::boot().error("{}: {} is not readable", path, (*r)->path.string());
    return elsewhere();
  }
  return none(found{it->second.content, {}, false});
}

}  // namespace diskless::boot
