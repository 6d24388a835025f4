// Builds the protocol services for `serve`. Each protocol adds itself here.
#include "app/services.hpp"

#include "dhcp/server.hpp"
#include "http/server.hpp"
#include "tftp/server.hpp"

namespace diskless::app {

std::vector<std::unique_ptr<service>> make_services(context& ctx) {
  std::vector<std::unique_ptr<service>> out;
  (void)ctx;
  // DHCP, TFTP, iSCSI, HTTP: one line each, e.g.
  //   out.push_back(tftp::make_service(ctx, files));
  out.push_back(tftp::make_service(ctx, nullptr));  // TODO(boot): pass the boot-script provider
  out.push_back(dhcp::make_service(ctx));
  if (auto h = http::make_service(ctx)) out.push_back(std::move(h));
  return out;
}

}  // namespace diskless::app
