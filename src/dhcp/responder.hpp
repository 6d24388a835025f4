#pragma once
// The DHCP policy: request + inventory + lease state + time -> reply or nothing. No I/O; the
// lease table is the only state and is changed in place (offers, bindings, releases, declines).
//
// Modes (inventory server.dhcp.mode):
//   full   we own the subnet: RFC 2131 §4.3 server behaviour, plus boot information for PXE and
//          iPXE clients.
//   proxy  another server hands out addresses; we answer PXE clients only (PXE spec §2.2.3
//          "proxyDHCP"): port 67 DISCOVER -> OFFER with yiaddr 0; port 4011 REQUEST -> ACK.
//   off    never a reply.
// Unknown MACs follow inventory.unknown for what they boot: ignore means no boot information (in
// full mode they still get a lease, as any DHCP server owning the subnet gives; in proxy mode and
// on port 4011 no reply at all); any other policy answers like for a known host (the per-host
// script for that MAC is rendered by the boot service). <dhcp known-only="true"> leases only to
// listed hosts. When the pool is exhausted a listed host takes an address only offered to an
// unknown MAC, so a DHCP flood cannot starve the lab's PCs.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "dhcp/leases.hpp"
#include "dhcp/wire.hpp"
#include "inventory/model.hpp"

namespace diskless::dhcp {

struct request_context {
  std::uint16_t local_port = server_port;  // 67 or 4011
  ipv4_address source;                     // the datagram's source address and port
  std::uint16_t source_port = client_port;
  sys_time now{};
};

struct reply {
  packet pkt;
  ipv4_address to;  // destination address (255.255.255.255 for a broadcast)
  std::uint16_t port = client_port;
  std::chrono::milliseconds delay{0};  // host quirk: wait before sending

  // An ACK with an address (full mode's REQUEST, or DISCOVER with rapid commit) bound a lease
  // and wrote its journal record: it must not leave before that record is durable. OFFERs,
  // NAKs, INFORM's ACK and proxyDHCP replies (yiaddr 0) promise nothing.
  bool promises_lease() const {
    return pkt.type() == message_type::ack && !pkt.yiaddr.is_unspecified();
  }
};

// Sets the lease table's pool and reservations from the inventory (call at start and on apply).
void configure_leases(lease_table& leases, const inventory::inventory& inv);

// why (optional) receives a short reason when there is no reply, for a debug log line.
std::optional<reply> respond(const packet& req, const inventory::inventory& inv,
                             lease_table& leases, const request_context& ctx,
                             std::string* why = nullptr);

}  // namespace diskless::dhcp
