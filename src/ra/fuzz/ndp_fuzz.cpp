// libFuzzer target: the NDP codec (ndp.hpp). The input is an ICMPv6 message: parsed as a router
// solicitation from a link-local and from the unspecified source, and as a router
// advertisement; an advertisement that parses must build back into one that parses the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "ra/ndp.hpp"

using namespace diskless;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto in = std::as_bytes(std::span(data, size));  // fuzzer ABI: raw bytes
  static const ra::ndp::ipv6_address unspecified = ra::ndp::unspecified;
  static const auto link_local = [] {
    ra::ndp::ipv6_address a{};
    a[0] = 0xfe;
    a[1] = 0x80;
    a[15] = 1;
    return a;
  }();
  for (int hop_limit : {255, 64})
    for (const auto* src : {&link_local, &unspecified})
      (void)ra::ndp::parse_solicitation(in, hop_limit, *src);
  auto a = ra::ndp::parse_advertisement(in);
  if (!a) return 0;
  auto again = ra::ndp::parse_advertisement(ra::ndp::build_advertisement(*a));
  if (!again || again->source_lla != a->source_lla || again->mtu != a->mtu ||
      again->router_lifetime != a->router_lifetime || again->managed != a->managed)
    std::abort();
  return 0;
}
