#pragma once
// What the protocol services tell the rest of the server about a PC's boot, as it happens (the
// state model in src/state/ keeps them; the services never see who listens). Small typed records
// posted on the loop thread through a callback in svc::context; an empty callback means nobody
// listens. Emitting must stay cheap: one call per DHCP packet, file request, iSCSI login or
// logout, and at most one I/O tally per session and second.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "util/net.hpp"

namespace diskless::svc {

enum class event_kind : std::uint8_t {
  dhcp,                // a DHCP request and what we answered (mac, message, reply, address...)
  file,                // a TFTP or HTTP request for a boot file (address, path, via)
  file_missing,        // ... that could not be served (detail: why)
  iscsi_login,         // a normal session logged in (host, initiator, address)
  iscsi_login_failed,  // a login was refused (initiator, address, detail: why)
  iscsi_logout,        // a session of a host ended (host, initiator, detail: why)
  iscsi_io,            // bytes moved by a session since its last tally (host, initiator)
};

struct event {
  event_kind kind = event_kind::dhcp;
  std::optional<mac_address> mac;  // dhcp only
  ipv4_address address;            // the client's address (dhcp: the one offered or acked)
  // dhcp: the request's message type ("DISCOVER", "REQUEST", ...); file: the path asked for;
  // iscsi: the initiator name.
  std::string name;
  // dhcp: our reply's type ("OFFER", "ACK", "NAK", or "" when none); file: "tftp" or "http";
  // iscsi_login / iscsi_logout / iscsi_io: the host's name.
  std::string what;
  std::string detail;  // file_missing, iscsi_login_failed, iscsi_logout: the reason
  // dhcp: the client's classification (RFC 4578 §2.1 arch; option 60; option 97 as hex).
  std::uint16_t arch = 0;
  bool pxe = false;   // firmware PXE ROM or UEFI HTTP Boot (vendor class PXEClient/HTTPClient)
  bool ipxe = false;  // iPXE (option 77 "iPXE" or option 175)
  std::string vendor_class;
  std::string uuid;
  std::uint64_t bytes_read = 0, bytes_written = 0;  // iscsi_io
};

using event_sink = std::function<void(const event&)>;

}  // namespace diskless::svc
