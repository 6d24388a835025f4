// Builds the protocol services for `serve`. Each protocol adds itself here.
#include "app/services.hpp"

namespace diskless::app {

std::vector<std::unique_ptr<service>> make_services(context& ctx) {
  std::vector<std::unique_ptr<service>> out;
  (void)ctx;
  // DHCP, TFTP, iSCSI, HTTP: one line each, e.g.
  //   out.push_back(tftp::make_service(ctx, files));
  return out;
}

}  // namespace diskless::app
