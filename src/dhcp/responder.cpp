#include "dhcp/responder.hpp"

#include "boot/catalog.hpp"
#include "dhcp/pxe.hpp"
#include "util/log.hpp"

namespace diskless::dhcp {

namespace {

constexpr ipv4_address limited_broadcast(0xffffffffu);

struct env {
  const packet& req;
  const inventory::inventory& inv;
  lease_table& leases;
  const request_context& ctx;
  const inventory::host* host;  // nullptr for an unknown MAC
  client_info client;
  ipv4_address server;
  mac_address mac;
  // False for an unknown MAC under unknown="ignore": full mode leases it an address but no boot.
  bool boot = true;
};

std::nullopt_t no_reply(std::string* why, std::string reason) {
  if (why) *why = std::move(reason);
  return std::nullopt;
}

packet base_reply(const env& e, message_type t) {
  packet r;
  r.op = bootreply;
  r.htype = e.req.htype;
  r.hlen = e.req.hlen;
  r.xid = e.req.xid;
  r.flags = e.req.flags;
  r.giaddr = e.req.giaddr;
  r.chaddr = e.req.chaddr;
  r.set(opt::message_type, encode_u8(static_cast<std::uint8_t>(t)));
  r.set(opt::server_id, encode_ip(e.server));  // RFC 2132 §9.7: our address
  return r;
}

// Boot information for PXE and iPXE clients (PXE spec §2.4, RFC 4578). The file itself is the
// boot catalog's choice (boot/catalog.hpp).
void add_boot(packet& r, const env& e, bool proxy) {
  if (!e.boot) return;
  const auto& c = e.client;
  const auto offer = boot::offer_for(e.inv, {e.mac, c.arch, c.ipxe, c.http});
  if (c.http && !c.ipxe) {
    // UEFI HTTP Boot (UEFI 2.9 §24.7.2): "HTTPClient" in option 60 and the boot URI (the EFI
    // iPXE from our HTTP service) in the file field.
    r.set(opt::vendor_class, to_bytes("HTTPClient"));
    r.file = offer.file();
    if (c.guid) r.set(opt::client_uuid, *c.guid);
    return;
  }
  if (!c.pxe && !c.ipxe) return;
  r.siaddr = e.server;  // next server: TFTP on ourselves
  r.file = offer.file();
  if (!c.ipxe && arch_without_loader(c.arch))
    log::dhcp().warn("{}: architecture {} has no native iPXE build here; offering {}", e.mac.str(),
                     c.arch, r.file);
  // PXE spec §2.4: a PXE server always answers with "PXEClient" in option 60.
  if (c.pxe) r.set(opt::vendor_class, to_bytes("PXEClient"));
  // RFC 4578 §2.3: echo the client GUID only when the client sent one.
  if (c.guid) r.set(opt::client_uuid, *c.guid);
  // Option 43 with PXE_DISCOVERY_CONTROL = 8 (PXE spec §2.4.1.1: "use the boot file in this
  // packet, no boot server discovery"): BIOS ROMs want it. UEFI firmware (EDK2/OVMF) gets it in
  // full mode too: without it EDK2 takes a PXEClient offer for a BINL one and sends a REQUEST to
  // port 4011 first, then waits about 1 s more before TFTP (measured with OVMF). In proxy mode
  // UEFI is sent no 43, so it asks port 4011 as the spec describes; quirk force_option43
  // overrides. iPXE never gets it: with PXE options present iPXE would send a ProxyDHCPREQUEST
  // to 4011.
  const bool force43 = e.host && e.host->quirks.force_option43;
  if (!c.ipxe && (c.arch == arch::bios || !proxy || force43))
    r.set(opt::vendor_specific,
          encode_sub_options({{pxe_opt::discovery_control, encode_u8(8)}}, true));
  // iPXE option 175.176 no-pxedhcp = 1: iPXE otherwise waits ~3 s per boot for ProxyDHCP
  // offers. Not in proxy mode: iPXE honours it in any offer, ours included, and would then
  // ignore our (proxy) offer and its boot file.
  if (c.ipxe && !proxy)
    r.set(opt::ipxe_encap, encode_sub_options({{ipxe_opt::no_pxedhcp, encode_u8(1)}}, false));
}

// RFC 2131 §4.1, "If the 'giaddr' field ... is non-zero, the server sends any return messages
// to the 'DHCP server' port on the BOOTP relay agent whose address appears in 'giaddr'. If the
// 'giaddr' field is zero and the 'ciaddr' field is nonzero, then the server unicasts ... to the
// address in 'ciaddr'. ... In all cases, when 'giaddr' is zero, the server broadcasts any
// DHCPNAK messages". A client without an address gets a broadcast: unicasting to yiaddr would
// need an ARP entry we cannot make from a UDP socket.
reply addressed(packet pkt, const env& e) {
  reply out;
  out.delay = e.host ? e.host->quirks.reply_delay : std::chrono::milliseconds(0);
  if (!e.req.giaddr.is_unspecified()) {
    out.to = e.req.giaddr;
    out.port = server_port;
    if (pkt.type() == message_type::nak) pkt.flags |= broadcast_flag;
  } else if (pkt.type() != message_type::nak && !e.req.ciaddr.is_unspecified()) {
    out.to = e.req.ciaddr;
    out.port = client_port;
  } else {
    out.to = limited_broadcast;
    out.port = client_port;
  }
  out.pkt = std::move(pkt);
  return out;
}

// PXE spec §2.2.2 / §2.5: a REQUEST to port 4011 (proxyDHCP or boot server) is answered with an
// ACK carrying the boot file, unicast back to where it came from. Every architecture.
std::optional<reply> respond_4011(const env& e, std::string* why) {
  const auto t = e.req.type();
  if (t != message_type::request && t != message_type::inform)
    return no_reply(why, "port 4011 takes REQUEST/INFORM only");
  if (!e.client.pxe && !e.client.ipxe) return no_reply(why, "not a PXE client (port 4011)");
  auto r = base_reply(e, message_type::ack);
  r.ciaddr = e.req.ciaddr;
  add_boot(r, e, /*proxy=*/true);
  reply out;
  out.delay = e.host ? e.host->quirks.reply_delay : std::chrono::milliseconds(0);
  if (!e.ctx.source.is_unspecified()) {
    out.to = e.ctx.source;
    out.port = e.ctx.source_port;
  } else {
    out.to = limited_broadcast;
    out.port = client_port;
  }
  out.pkt = std::move(r);
  return out;
}

// proxyDHCP on port 67 (PXE spec §2.2.3): PXE DISCOVERs only, OFFER with yiaddr 0.
std::optional<reply> respond_proxy(const env& e, std::string* why) {
  if (!e.client.pxe && !e.client.http) return no_reply(why, "not a PXE client (proxy mode)");
  if (e.req.type() != message_type::discover)
    return no_reply(why, "proxy mode answers only DISCOVER on port 67");
  auto r = base_reply(e, message_type::offer);
  add_boot(r, e, /*proxy=*/true);
  auto out = addressed(std::move(r), e);
  // The client has no address yet (its ciaddr may be stale): always broadcast when not relayed.
  if (e.req.giaddr.is_unspecified()) out.to = limited_broadcast;
  return out;
}

struct full_settings {
  ipv4_address netmask;
  ipv4_subnet subnet;  // the client's subnet: the relay's (giaddr) or ours
};

full_settings settings_for(const env& e) {
  const auto& d = e.inv.server.dhcp;
  full_settings s;
  s.netmask = d.netmask.value_or(ipv4_address(0xffffff00u));
  const auto anchor = e.req.giaddr.is_unspecified() ? e.server : e.req.giaddr;
  s.subnet = {anchor, s.netmask};
  return s;
}

void add_lease_options(packet& r, const env& e, const full_settings& s, bool with_lease) {
  const auto& d = e.inv.server.dhcp;
  r.set(opt::subnet_mask, encode_ip(s.netmask));
  if (d.router)
    r.set(opt::router, encode_ip(*d.router));
  else if (!e.req.giaddr.is_unspecified())
    r.set(opt::router, encode_ip(e.req.giaddr));
  if (!d.dns.empty()) r.set(opt::dns, encode_ips(d.dns));
  if (e.host) r.set(opt::hostname, to_bytes(e.host->name));
  if (with_lease) {
    // RFC 2131 §4.4.5 defaults: T1 = 0.5, T2 = 0.875 of the lease time.
    const auto lt = static_cast<std::uint32_t>(d.lease_time.count());
    r.set(opt::lease_time, encode_u32(lt));
    r.set(opt::renewal_time, encode_u32(lt / 2));
    r.set(opt::rebinding_time, encode_u32(static_cast<std::uint32_t>(lt * 7ull / 8)));
  }
}

// May this client have ip? (static hosts: only their own address; others: a free pool address
// on the client's subnet).
bool acceptable(const env& e, const full_settings& s, ipv4_address ip) {
  if (e.host && e.host->ip) return ip == *e.host->ip;
  return s.subnet.contains(ip) && e.leases.assignable(ip, e.mac, e.ctx.now);
}

std::optional<ipv4_address> choose(const env& e, const full_settings& s) {
  if (e.host && e.host->ip) return *e.host->ip;
  if (const auto* l = e.leases.by_mac(e.mac); l && acceptable(e, s, l->ip)) return l->ip;
  if (auto want = e.req.get_ip(opt::requested_ip); want && acceptable(e, s, *want)) return want;
  auto ip = e.leases.allocate(e.mac, e.ctx.now);
  // A listed host is not starved by a flood of unknown MACs: it takes an address only offered
  // (never bound) to an unknown client when the pool is exhausted.
  if (!ip && e.host)
    ip = e.leases.reclaim_offer(e.mac, e.ctx.now,
                                [&](const mac_address& m) { return !e.inv.find_host(m); });
  if (ip && !s.subnet.contains(*ip)) return std::nullopt;  // pool not on the relay's subnet
  return ip;
}

std::optional<reply> ack(const env& e, const full_settings& s, ipv4_address ip, bool rapid) {
  const auto lt = e.inv.server.dhcp.lease_time;
  e.leases.bind(e.mac, ip, e.ctx.now + lt);
  auto r = base_reply(e, message_type::ack);
  r.yiaddr = ip;
  r.ciaddr = e.req.ciaddr;
  add_lease_options(r, e, s, true);
  add_boot(r, e, false);
  if (rapid) r.set(opt::rapid_commit, {});  // RFC 4039 §4
  return addressed(std::move(r), e);
}

std::optional<reply> nak(const env& e, std::string* why, std::string reason) {
  if (why) *why = reason;
  auto r = base_reply(e, message_type::nak);
  r.set(opt::message, to_bytes(reason));  // RFC 2131 table 3: option 56 allowed in NAK
  return addressed(std::move(r), e);
}

// RFC 2131 §4.3: server behaviour for DISCOVER, REQUEST, DECLINE, RELEASE, INFORM.
std::optional<reply> respond_full(const env& e, std::string* why) {
  const auto s = settings_for(e);
  const auto t = e.req.type();
  if (!t) return no_reply(why, "no message type");
  const auto sid = e.req.get_ip(opt::server_id);
  switch (*t) {
    case message_type::discover: {
      auto ip = choose(e, s);
      if (!ip) return no_reply(why, "no address available for this subnet");
      if (e.req.has(opt::rapid_commit)) return ack(e, s, *ip, true);  // RFC 4039 §3
      e.leases.offer(e.mac, *ip, e.ctx.now);
      auto r = base_reply(e, message_type::offer);
      r.yiaddr = *ip;
      add_lease_options(r, e, s, true);
      add_boot(r, e, false);
      return addressed(std::move(r), e);
    }
    case message_type::request: {
      // §4.3.2: SELECTING carries our server id; another id means the client chose another
      // server, and we stay silent.
      if (sid && *sid != e.server) return no_reply(why, "client selected another server");
      auto want = e.req.get_ip(opt::requested_ip);
      if (!want && !e.req.ciaddr.is_unspecified()) want = e.req.ciaddr;  // RENEWING/REBINDING
      if (!want) return no_reply(why, "REQUEST without requested address or ciaddr");
      if (!acceptable(e, s, *want)) return nak(e, why, "requested address not available");
      return ack(e, s, *want, false);
    }
    case message_type::decline: {
      // §4.3.3: the address is in use by someone else; quarantine it.
      if (sid && *sid != e.server) return no_reply(why, "DECLINE for another server");
      if (auto ip = e.req.get_ip(opt::requested_ip); ip && e.leases.in_pool(*ip)) {
        const auto* l = e.leases.by_mac(e.mac);
        if (l && l->ip == *ip) e.leases.decline(*ip, e.ctx.now + e.inv.server.dhcp.lease_time);
      }
      return no_reply(why, "DECLINE processed");
    }
    case message_type::release:
      // §4.3.4
      if (sid && *sid != e.server) return no_reply(why, "RELEASE for another server");
      e.leases.release(e.mac, e.req.ciaddr);
      return no_reply(why, "RELEASE processed");
    case message_type::inform: {
      // §4.3.5: configuration only, no yiaddr, no lease time, unicast to ciaddr.
      auto r = base_reply(e, message_type::ack);
      r.ciaddr = e.req.ciaddr;
      add_lease_options(r, e, s, false);
      add_boot(r, e, false);
      return addressed(std::move(r), e);
    }
    default:
      return no_reply(why, "not a client message");
  }
}

}  // namespace

void configure_leases(lease_table& leases, const inventory::inventory& inv) {
  std::unordered_set<ipv4_address> reserved;
  for (const auto& h : inv.hosts)
    if (h.ip) reserved.insert(*h.ip);
  if (inv.server.address) reserved.insert(*inv.server.address);
  if (inv.server.dhcp.router) reserved.insert(*inv.server.dhcp.router);
  for (const auto& d : inv.server.dhcp.dns) reserved.insert(d);
  leases.configure(inv.server.dhcp.range_start, inv.server.dhcp.range_end, std::move(reserved));
}

std::optional<reply> respond(const packet& req, const inventory::inventory& inv,
                             lease_table& leases, const request_context& ctx, std::string* why) {
  const auto mode = inv.server.dhcp.mode;
  if (mode == inventory::dhcp_mode::off) return no_reply(why, "DHCP is off");
  if (req.op != bootrequest) return no_reply(why, "not a BOOTREQUEST");
  if (req.htype != 1 || req.hlen != 6) return no_reply(why, "not Ethernet (htype/hlen)");
  if (!req.type()) return no_reply(why, "no or bad message type (BOOTP is not served)");
  if (!inv.server.address) return no_reply(why, "no server address");
  env e{req, inv, leases, ctx, nullptr, classify(req), *inv.server.address, req.mac(), true};
  e.host = inv.find_host(e.mac);
  const bool full = mode == inventory::dhcp_mode::full && ctx.local_port != pxe_port;
  if (!e.host && full && inv.server.dhcp.known_only)
    return no_reply(why, "unknown MAC, <dhcp known-only=\"true\">");
  if (!e.host && inv.unknown.what == inventory::unknown_policy::kind::ignore) {
    // Full mode owns the subnet: a printer or laptop still gets an address, only no boot.
    if (!full)  // a laptop on a proxy-mode LAN is none of our business: no info line for it
      return no_reply(why, e.client.pxe || e.client.ipxe || e.client.http
                               ? "unknown MAC, policy ignore"
                               : "not a boot client (unknown MAC, policy ignore)");
    e.boot = false;
    auto r = respond_full(e, why);
    if (r && why && (e.client.pxe || e.client.ipxe || e.client.http))
      *why = "unknown MAC, policy ignore: leased an address without boot information";
    return r;
  }
  if (e.client.http && !e.client.ipxe && !inv.server.http.enabled)
    return no_reply(why, "HTTPClient (UEFI HTTP Boot) needs <http enabled=\"true\">");
  if (e.client.http && !e.client.ipxe && !e.client.uefi())
    return no_reply(why, "HTTPClient without a UEFI architecture (option 93)");
  if (ctx.local_port == pxe_port) return respond_4011(e, why);
  if (mode == inventory::dhcp_mode::proxy) return respond_proxy(e, why);
  return respond_full(e, why);
}

}  // namespace diskless::dhcp
