#pragma once
// The inventory: plain data loaded from config/diskless.xml (elements: man diskless.xml,
// config/diskless.xml.5; see src/inventory/README.md).
// Everything here is validated by the loader (inventory/load.hpp); services may rely on:
// unique MACs, names and static IPs; every host's image exists and fits its boot method.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/net.hpp"
#include "util/result.hpp"

namespace diskless::inventory {

enum class dhcp_mode { off, proxy, full };
enum class boot_method { sanboot, linux, iscsi_root, local, menu };
enum class overlay_mode { none, readonly, persistent, volatile_ };

std::string_view to_string(dhcp_mode m);
std::string_view to_string(boot_method b);   // "sanboot", "linux", "iscsi-root", "local", "menu"
std::string_view to_string(overlay_mode o);  // "none", "readonly", "persistent", "volatile"
std::optional<dhcp_mode> parse_dhcp_mode(std::string_view s);
std::optional<boot_method> parse_boot_method(std::string_view s);
std::optional<overlay_mode> parse_overlay_mode(std::string_view s);

struct dhcp_config {
  dhcp_mode mode = dhcp_mode::proxy;
  // full mode only:
  std::optional<ipv4_address> range_start, range_end;  // dynamic pool, inclusive
  std::optional<ipv4_address> netmask;
  std::optional<ipv4_address> router;
  std::vector<ipv4_address> dns;
  std::chrono::seconds lease_time{3600};
  // full mode: leases only to listed hosts (<dhcp known-only="true">). Otherwise every client
  // gets a lease from the range, and <hosts unknown=...> governs only what PXE clients boot.
  bool known_only = false;
  // x64 UEFI boot file: "snponly.efi" (default: iPXE on the firmware's own network driver, as
  // undionly.kpxe is for BIOS; it starts ~5 s sooner than ipxe.efi under QEMU/OVMF) or
  // "ipxe.efi" (iPXE's own NIC drivers).
  std::string efi_loader = "snponly.efi";
  // IPv6 Router Advertisements on the interface (ra/ndp.hpp): "no default router" answers
  // to Router Solicitations, so iPXE does not wait ~13 s for a router. Unset: on in full mode
  // only (in proxy mode the LAN's own router is expected to advertise).
  std::optional<bool> ra;
  bool ra_enabled() const { return ra ? *ra : mode == dhcp_mode::full; }
  int line = 0;  // of <dhcp> (for messages)
};

struct tftp_config {
  std::filesystem::path root = "images/tftp";
  std::uint16_t port = 69;
  std::uint16_t port_range_low = 0, port_range_high = 0;  // 0,0 = any ephemeral port
  std::uint32_t max_transfers = 256;
};

struct iscsi_config {
  std::uint16_t port = 3260;
  std::string iqn = "iqn.2026-11.lan.diskless";
  // A session idle this long gets a NOP-In ping (RFC 7143 §11.19); never dropped for no answer.
  std::chrono::seconds nop_interval{30};
  // Bounds on what clients can make the target hold (documented in config/diskless.xml).
  std::uint32_t max_connections = 256;             // <iscsi max-connections>
  std::uint32_t max_connections_per_address = 16;  // <iscsi max-connections-per-address>
  std::chrono::seconds login_timeout{30};          // connections that never complete login
  std::chrono::seconds discovery_timeout{60};      // idle discovery sessions
  std::uint32_t auth_failures = 10;                // failed CHAP logins before a source is refused
};

struct http_config {
  std::uint16_t port = 8080;
  // <http address>: where the boot listener binds. Absent: the server address (the boot LAN
  // only, like DHCP/TFTP/iSCSI); 0.0.0.0 binds every interface (scripts still name the server).
  std::optional<ipv4_address> address;
  bool enabled = true;
};

// <api>: the admin listener (JSON API and dashboard, src/api/README.md). Off unless the element
// is present.
struct api_config {
  bool enabled = false;
  ipv4_address address{0x7f000001};  // 127.0.0.1: the admin's machine only, not the boot LAN
  std::uint16_t port = 8081;
  // The bearer token's file (mode 0600, created on first start when missing); empty: api.token
  // in the state directory.
  std::filesystem::path token_file;
  bool open_reads = false;  // GETs without the token (writes always need it)
};

struct server_config {
  std::optional<ipv4_address> address;  // absent: taken from the interface at start
  std::string interface;                // "" = not bound to an interface
  dhcp_config dhcp;
  tftp_config tftp;
  iscsi_config iscsi;
  http_config http;
  api_config api;
  std::filesystem::path state_dir = "/var/lib/diskless";  // <state dir=...>
};

// A disk on Ceph RBD (<image rbd="pool/image" snapshot=... ceph-conf=... ceph-user=...>).
struct rbd_source {
  std::string pool, image;     // names: letters, digits, '.', '_', '-'
  std::string snapshot;        // the golden version clones are made from; "" = none (overlay none)
  std::filesystem::path conf;  // ceph.conf; empty = librados' default search
  std::string user;            // "client.NAME"; empty = client.admin
  std::string spec() const { return pool + "/" + image + (snapshot.empty() ? "" : "@" + snapshot); }
  bool operator==(const rbd_source&) const = default;
};

// rbd="POOL/IMAGE" plus snapshot="SNAP" (may be empty) as an rbd_source (conf and user left
// empty), or why not. Names are 1-100 of letters, digits, '.', '_', '-' and do not start with
// '.' (a subset of what Ceph accepts, safe in logs, file names and clone names).
result<rbd_source> parse_rbd_spec(std::string_view spec, std::string_view snapshot);
// "client.NAME" with NAME as above.
bool valid_ceph_user(std::string_view user);

struct image {
  std::string name;
  std::filesystem::path disk;     // raw or qcow2; empty when the image has none (or is on RBD)
  std::optional<rbd_source> rbd;  // set when the disk is an RBD image instead of a file
  std::filesystem::path kernel;   // empty when none
  std::filesystem::path initrd;
  std::string cmdline;
  std::uint32_t root_partition = 1;  // iscsi-root: partition of the disk holding /
  std::string rootfstype = "ext4";   // iscsi-root: its filesystem type
  int line = 0;                      // where it is defined (for messages)

  bool has_disk() const { return !disk.empty() || rbd.has_value(); }  // a file or RBD
  bool has_kernel() const { return !kernel.empty(); }
};

struct chap_credentials {
  std::string user, secret;                // the initiator proves itself (one-way)
  std::string mutual_user, mutual_secret;  // the target proves itself too (mutual) when set
  bool mutual() const { return !mutual_secret.empty(); }
  // chap-secret="auto": a random secret per boot, made when the host fetches its script
  // (util/secret.hpp); `secret` then holds the word "auto" (too short to be a real secret).
  bool auto_secret() const { return secret == auto_word; }
  static constexpr std::string_view auto_word = "auto";
};

// Switches for broken firmware; all off by default.
struct host_quirks {
  bool force_option43 = false;               // send PXE option 43 to UEFI clients too
  std::chrono::milliseconds reply_delay{0};  // wait before answering DHCP
};

struct host {
  mac_address mac;
  std::string name;   // [a-z0-9][a-z0-9.-]*: used in IQNs and file names
  std::string image;  // empty for boot methods that need none (local, menu)
  boot_method boot = boot_method::sanboot;
  overlay_mode overlay = overlay_mode::none;
  std::optional<ipv4_address> ip;  // static address (full DHCP mode)
  std::optional<chap_credentials> chap;
  bool allow_any_initiator = false;
  host_quirks quirks;
  int line = 0;
};

// What to do with a MAC that has no <host>: ignore (no answer), local, menu, or boot an image.
struct unknown_policy {
  enum class kind { ignore, local, menu, image } what = kind::ignore;
  std::string image;  // when what == image
  int line = 0;
};

struct inventory {
  server_config server;
  std::vector<image> images;
  std::vector<host> hosts;
  unknown_policy unknown;
  // Entries an error confined to them disabled (inventory/load.hpp): name → the reason. The
  // loaded file keeps them (list commands show them); serving_view() leaves them out.
  std::map<std::string, std::string, std::less<>> disabled_hosts, disabled_images;
  // Set by serving_view(): the MACs of the disabled hosts left out → why (for log lines).
  std::map<mac_address, std::string> disabled_macs;
  std::filesystem::path source;    // the file it was loaded from
  std::filesystem::path base_dir;  // relative paths in it are resolved against this

  const host* find_host(const mac_address& mac) const;
  const host* find_host_by_name(std::string_view name) const;
  // By name, or by MAC in any accepted spelling.
  const host* find_host_by_key(std::string_view name_or_mac) const;
  const image* find_image(std::string_view name) const;
  std::filesystem::path resolve(const std::filesystem::path& p) const;

  // "<iqn>:<host name>": the host's own iSCSI target.
  std::string target_iqn(const host& h) const { return server.iscsi.iqn + ":" + h.name; }
  // "<iqn>:initiator:<host name>": the initiator name handed to the host's iPXE.
  std::string initiator_iqn(const host& h) const {
    return server.iscsi.iqn + ":initiator:" + h.name;
  }
};

using inventory_ptr = std::shared_ptr<const inventory>;

// What the services serve: inv without its disabled hosts and images (their PCs get the unknown
// treatment); an unknown policy naming a disabled image becomes "ignore". Every host left has a
// usable image, as the services rely on.
std::shared_ptr<inventory> serving_view(const inventory& inv);

// Which hosts differ between two inventories (by MAC).
struct host_diff {
  std::vector<std::string> added, changed, removed;  // host names
  bool server_changed = false;
  bool images_changed = false;
  bool empty() const {
    return added.empty() && changed.empty() && removed.empty() && !server_changed &&
           !images_changed;
  }
};
host_diff diff(const inventory& before, const inventory& after);

}  // namespace diskless::inventory
