#pragma once
// The IPv6 Router Advertisement service (ra/ndp.hpp) on server.interface, when
// <dhcp ra> is on (default: full mode). A raw ICMPv6 socket bound to the interface, in
// ff02::2, receives Router Solicitations only (ICMP6_FILTER); RAs go out from the interface's
// link-local address with hop limit 255, unicast to a soliciting host or to ff02::1, as the
// scheduler says. It never stops `serve`: without IPv6 or an interface it logs a warning.
#include <memory>

#include "service/service.hpp"

namespace diskless::ra {

std::unique_ptr<svc::service> make_service(svc::context& ctx);

}  // namespace diskless::ra
