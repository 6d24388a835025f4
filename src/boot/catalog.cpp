#include "boot/catalog.hpp"

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

catalog::catalog(inventory::inventory_ptr inv, fetched_fn on_fetched)
    : on_fetched_(std::move(on_fetched)) {
  apply(std::move(inv));
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

result<std::optional<found>> catalog::find(std::string_view path, via from, bool fetch) const {
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
  auto r = lookup(*inv_, templates_, path);
  if (!r) {
    // Loud: an admin-edited template is broken and a PC cannot boot because of it.
    log::boot().error("{}: {}", path, r.error_message());
    if (from == via::http) return error{r.error_message()};
    return elsewhere();
  }
  if (!*r) return elsewhere();
  if ((*r)->is_script()) {
    log::boot().debug("{}: script rendered", path);
    if (fetch && on_fetched_ && (*r)->host) on_fetched_(*(*r)->host);
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
