// Builds the protocol services for `serve`. Each protocol adds itself here.
#include "app/services.hpp"

#include "app/disk_provider.hpp"
#include "boot/published.hpp"
#include "dhcp/ra_server.hpp"
#include "dhcp/server.hpp"
#include "http/server.hpp"
#include "iscsi/server.hpp"
#include "storage/host_disk.hpp"
#include "tftp/server.hpp"

namespace diskless::app {
namespace {

// The boot scripts, kernels and initrds (boot/published.hpp) seen through the TFTP seam.
class boot_file_provider final : public tftp::file_provider {
 public:
  explicit boot_file_provider(std::shared_ptr<boot::published_files> f) : files_(std::move(f)) {}
  std::shared_ptr<const std::string> lookup(std::string_view path) override {
    return files_->find(path);
  }

 private:
  std::shared_ptr<boot::published_files> files_;
};

}  // namespace

std::vector<std::unique_ptr<service>> make_services(context& ctx) {
  std::vector<std::unique_ptr<service>> out;
  // DHCP, TFTP, iSCSI, HTTP: one line each, e.g.
  //   out.push_back(tftp::make_service(ctx, files));
  auto boot_files = std::make_shared<boot::published_files>(ctx.inventory);
  out.push_back(boot::make_service(boot_files));  // first: reloads before TFTP serves again
  out.push_back(tftp::make_service(ctx, std::make_shared<boot_file_provider>(boot_files)));
  out.push_back(dhcp::make_service(ctx));
  out.push_back(dhcp::make_ra_service(ctx));  // IPv6 RAs on the DHCP interface
  // A host's boot script being served marks its new boot for volatile overlays.
  auto disks = std::make_shared<storage::disk_catalog>();
  boot::on_script_served([w = std::weak_ptr(disks)](const mac_address& mac) {
    if (auto d = w.lock()) d->mark_new_boot(mac);
  });
  out.push_back(iscsi::make_service(ctx, make_disk_provider(ctx.pool, disks)));
  if (auto h = http::make_service(ctx)) out.push_back(std::move(h));
  return out;
}

}  // namespace diskless::app
