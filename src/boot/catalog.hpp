#pragma once
// The boot catalog: the one owner of every name a PC fetches while it boots (see README.md).
//
// - offer_for(): what DHCP hands a client (the loader for a firmware PXE ROM, the EFI iPXE URL
//   for UEFI HTTP Boot, the per-host script for iPXE) as a {path, url} pair.
// - catalog::find(): what a TFTP or HTTP request for a path gets: a rendered script, a kernel or
//   initrd (in memory), or a file on disk to be opened by the server on its io_pool (iPXE
//   loaders; for TFTP, anything else under the TFTP root), with the TFTP root then the ipxe
//   package directory as the places to look.
// - "a host's script was fetched" is reported to the callback given at construction (the new
//   boot of a volatile overlay).
// - a host's script carries its secrets (CHAP), so find() hands it only to its owner: a
//   requester whose address belongs to the script's MAC (resolve_owner, before find(): the
//   kernel's neighbour table read on the io_pool, else the DHCP lease; wired in app/). Anyone else,
//   the server machine itself included (the admin has `diskless host show`), is refused: HTTP 403,
//   TFTP error 2. Loaders, kernels and initrds stay public.
// - chap-secret="auto": the owner's script fetch rotates the host's per-boot secret (secrets,
//   util/secret.hpp) and the script carries the new one.
//
// The names (relative to the TFTP root / the HTTP server's root):
//   boot/<mac-with-dashes>.ipxe   the host's rendered script (iPXE asks for the name we offered,
//                                 so no state is needed to know who asks)
//   images/<image>/vmlinuz        the kernel of an image that has one
//   images/<image>/initrd         its initrd
//   ipxe/snponly.efi, ipxe/ipxe.efi  (HTTP only) the EFI iPXE builds for UEFI HTTP Boot
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "boot/open.hpp"
#include "boot/templates.hpp"
#include "inventory/model.hpp"
#include "util/io_pool.hpp"
#include "util/log_limit.hpp"
#include "util/net.hpp"
#include "util/result.hpp"
#include "util/secret.hpp"

namespace diskless::boot {

// A DHCP client as far as the boot file goes (dhcp/pxe.hpp classifies the packet).
struct client {
  mac_address mac;
  std::uint16_t arch = 0;  // RFC 4578 §2.1 processor architecture; 0 = BIOS
  bool ipxe = false;       // iPXE is asking (it wants its script)
  bool http_boot = false;  // UEFI HTTP Boot firmware ("HTTPClient", UEFI 2.9 §24.7.2)
};

// What DHCP puts in the file field: url when it is set, else path (TFTP, relative to the root).
struct offer {
  std::string path;
  std::string url;
  const std::string& file() const { return url.empty() ? path : url; }
};

// The boot file for a client of inv (which must have a server address):
//   UEFI HTTP Boot (not iPXE)  url http://<server>:<http port>/ipxe/<efi_loader>
//   iPXE (any arch)            boot/<mac>.ipxe, with an http:// url when HTTP is on
//   BIOS (arch 0)              undionly.kpxe
//   any UEFI arch              <efi_loader> (snponly.efi or ipxe.efi): Debian ships x86_64 EFI
//                              builds only, so IA32/ARM get it too and fail there (dhcp warns)
offer offer_for(const inventory::inventory& inv, const client& c);

// Who asks for a path; HTTP serves only the catalog's own names, TFTP its whole root too.
enum class via { tftp, http };

// Who sends a request.
struct requester {
  // The server machine itself (loopback, or the socket's own local address).
  bool local = false;
  // The peer's IPv4 address (none for other families).
  std::optional<ipv4_address> address;
  // The MAC that address belongs to, filled by catalog::resolve_owner before find() when the
  // path is a script (nullopt: nobody known, or not looked up).
  std::optional<mac_address> holder;
};

// The owner decision for a host's script (pure): nullopt when `r` may have the script of `mac`,
// else why not (for the log). `holder`: the MAC that `r.address` belongs to now, as far as the
// server can tell (nullopt: nobody known). The server machine itself is never an owner.
std::optional<std::string> not_owner(const mac_address& mac, const requester& r,
                                     const std::optional<mac_address>& holder);

// The answer to a request for a path.
struct found {
  // In memory: a rendered script, or a kernel/initrd read when the inventory came into force.
  std::shared_ptr<const std::string> content;
  // Else on disk, to be opened with open_disk() on the io_pool.
  std::optional<disk_file> disk;
  bool script = false;
  // A host's script asked for by someone else (content and disk empty): HTTP 403, TFTP error 2.
  bool refused = false;
};

class catalog {
 public:
  using fetched_fn = std::function<void(const mac_address&)>;
  // The MAC an address belongs to now (nullopt: unknown).
  using owner_fn = std::function<std::optional<mac_address>(ipv4_address)>;

  struct hooks {
    // Called on the caller's thread each time find() hands out a known or unknown host's
    // script with fetch = true.
    fetched_fn on_fetched;
    // Whose PC an address is, asked by resolve_owner: first neighbour_of (the kernel's neighbour
    // table; may block: called on the io_pool), then lease_of (the DHCP leases in memory; on
    // the loop). Both empty: nobody owns any address (every script is refused).
    owner_fn neighbour_of;
    owner_fn lease_of;
    // Where chap-secret="auto" secrets live (shared with the iSCSI logins); null: such hosts'
    // scripts carry the word "auto".
    std::shared_ptr<per_boot_secrets> secrets;
  };

  // Loads templates and kernel files for inv (blocking file reads: at start or reload only).
  explicit catalog(inventory::inventory_ptr inv, hooks h = {});

  // The one reload path: templates re-read, kernels/initrds re-read when changed (blocking).
  void apply(inventory::inventory_ptr inv);

  const inventory::inventory& inventory() const { return *inv_; }
  offer offer_for(const client& c) const { return boot::offer_for(*inv_, c); }

  // path: as requested (leading '/' ignored; TFTP normalises first, see tftp/files.hpp). nullopt:
  // nothing to serve (404 / TFTP never: its root is the last resort). An error (HTTP only): a
  // broken template, message for the client; TFTP logs it and looks in its root instead. who:
  // the requester (a script goes to its owner only; a refusal is logged at info, once per
  // address and minute). fetch: the client is fetching the body (false for an HTTP HEAD): a
  // script counts as fetched (and an auto secret rotates). Loop thread only.
  result<std::optional<found>> find(std::string_view path, via from, const requester& who,
                                    bool fetch = true) const;

  // Before find(): when `path` names a script whose owner find() checks and `who` is a remote
  // IPv4 peer, fills who.holder (neighbour_of on the pool, then lease_of on the loop); then(who)
  // runs on the loop, at once when nothing needs looking up. `then` must keep its own state
  // alive; the catalog need not outlive the lookup. Loop thread only.
  void resolve_owner(std::string_view path, requester who, io_pool& pool,
                     unique_function<void(requester)> then) const;

 private:
  struct cached {
    std::filesystem::file_time_type mtime;
    std::uintmax_t size = 0;
    std::shared_ptr<const std::string> content;
  };
  disk_file in_root(std::string rel) const;

  bool refuse(const mac_address& mac, std::string_view path, const requester& who) const;
  // The MAC whose owner alone gets `path` (a listed host's script, or an unknown MAC's when
  // unknown PCs are served); nullopt for every other path.
  std::optional<mac_address> owner_only(std::string_view path) const;

  inventory::inventory_ptr inv_;
  hooks hooks_;
  mutable log_limiter refusal_log_{std::chrono::seconds(60), 1024};
  template_set templates_;
  std::map<std::filesystem::path, cached> files_;  // kernels and initrds by resolved path
};

}  // namespace diskless::boot
