// libFuzzer target: the DHCP packet parser, and the responder on whatever parses (full and
// proxy mode, known and unknown host), then a serialize/parse round trip of the result.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "dhcp/responder.hpp"
#include "dhcp/wire.hpp"

using namespace diskless;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto in = std::as_bytes(std::span(data, size));  // fuzzer ABI: raw bytes
  auto p = dhcp::parse(in);
  if (!p) return 0;
  // Round trip: what we serialize must parse back to the same packet.
  auto again = dhcp::parse(dhcp::serialize(*p));
  if (!again) std::abort();
  static const auto inv = [] {
    inventory::inventory i;
    i.server.address = ipv4_address(0x0a4d0201);
    i.server.dhcp.mode = inventory::dhcp_mode::full;
    i.server.dhcp.range_start = ipv4_address(0x0a4d0264);
    i.server.dhcp.range_end = ipv4_address(0x0a4d0266);
    i.unknown.what = inventory::unknown_policy::kind::local;
    return i;
  }();
  static dhcp::lease_table leases;
  dhcp::configure_leases(leases, inv);
  dhcp::request_context ctx;
  ctx.now = dhcp::sys_time(std::chrono::seconds(1800000000));
  for (std::uint16_t port : {dhcp::server_port, dhcp::pxe_port}) {
    ctx.local_port = port;
    if (auto r = dhcp::respond(*p, inv, leases, ctx)) {
      if (!dhcp::parse(dhcp::serialize(r->pkt))) std::abort();
    }
  }
  auto proxy = inv;
  proxy.server.dhcp.mode = inventory::dhcp_mode::proxy;
  ctx.local_port = dhcp::server_port;
  (void)dhcp::respond(*p, proxy, leases, ctx);
  (void)leases.take_journal();
  return 0;
}
