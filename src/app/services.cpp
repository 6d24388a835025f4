// Builds the protocol services for `serve`. Each protocol adds itself here.
#include "app/services.hpp"

#include "app/boot_service.hpp"
#include "app/disk_provider.hpp"
#include "boot/catalog.hpp"
#include "dhcp/server.hpp"
#include "disks/catalog.hpp"
#include "http/server.hpp"
#include "iscsi/server.hpp"
#include "ra/server.hpp"
#include "tftp/server.hpp"
#include "util/neighbours.hpp"
#include "util/secret.hpp"

namespace diskless::app {

std::vector<std::unique_ptr<svc::service>> make_services(
    svc::context& ctx, std::shared_ptr<disks::disk_catalog> disks,
    const std::map<std::string, std::filesystem::path>& trace_io) {
  std::vector<std::unique_ptr<svc::service>> out;
  auto leases = std::make_shared<dhcp::lease_lookup>();
  auto secrets = std::make_shared<per_boot_secrets>();
  boot::catalog::hooks hooks;
  // A host's boot script being fetched marks its new boot for volatile overlays.
  hooks.on_fetched = [w = std::weak_ptr(disks)](const mac_address& mac) {
    if (auto d = w.lock()) d->mark_new_boot(mac);
  };
  // Whose PC an address is: the kernel's neighbour table for on-link PCs (every PC that sent
  // us a packet on the LAN answered or asked ARP), else full-mode DHCP's lease (relayed PCs).
  hooks.neighbour_of = [](ipv4_address ip) { return neighbour_mac(ip); };  // on the pool
  hooks.lease_of = [leases](ipv4_address ip) -> std::optional<mac_address> {
    return leases->holder ? leases->holder(ip) : std::nullopt;
  };
  hooks.secrets = secrets;
  auto files = std::make_shared<boot::catalog>(ctx.inventory, std::move(hooks));
  out.push_back(make_boot_service(files));  // first: reloads before TFTP and HTTP serve again
  out.push_back(tftp::make_service(ctx, files));
  out.push_back(dhcp::make_service(ctx, leases));
  out.push_back(ra::make_service(ctx));  // IPv6 RAs on the DHCP interface
  out.push_back(iscsi::make_service(ctx, make_disk_provider(ctx.pool, disks, trace_io), secrets));
  if (auto h = http::make_service(ctx, files)) out.push_back(std::move(h));
  return out;
}

}  // namespace diskless::app
