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

namespace diskless::app {

std::vector<std::unique_ptr<service>> make_services(
    context& ctx, const std::map<std::string, std::filesystem::path>& trace_io) {
  std::vector<std::unique_ptr<service>> out;
  // A host's boot script being fetched marks its new boot for volatile overlays.
  auto disks = std::make_shared<diskless::disks::disk_catalog>();
  auto files = std::make_shared<boot::catalog>(ctx.inventory,
                                               [w = std::weak_ptr(disks)](const mac_address& mac) {
                                                 if (auto d = w.lock()) d->mark_new_boot(mac);
                                               });
  out.push_back(make_boot_service(files));  // first: reloads before TFTP and HTTP serve again
  out.push_back(tftp::make_service(ctx, files));
  out.push_back(dhcp::make_service(ctx));
  out.push_back(ra::make_service(ctx));  // IPv6 RAs on the DHCP interface
  out.push_back(iscsi::make_service(ctx, make_disk_provider(ctx.pool, disks, trace_io)));
  if (auto h = http::make_service(ctx, files)) out.push_back(std::move(h));
  return out;
}

}  // namespace diskless::app
