#pragma once
// Packet builders and parsers for the simulated PCs of storm_pc.cpp (DHCP over raw Ethernet,
// TFTP), byte by byte; and the iPXE script and I/O trace readers. Bench code, not the server's.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace storm {

using buf = std::vector<std::uint8_t>;

struct mac_t {
  std::uint8_t b[6]{};
  std::string str(char sep = ':') const;
};

// A DHCP request as a PC sends it (RFC 2131 §4.4.1, PXE 2.1 §2.2.1, iPXE's user class).
struct dhcp_request {
  mac_t mac;
  std::uint32_t xid = 0;
  std::uint16_t secs = 0;
  std::uint8_t type = 1;                       // 1 DISCOVER, 3 REQUEST
  bool ipxe = false;                           // option 77 "iPXE" and option 175
  std::uint32_t requested = 0, server_id = 0;  // REQUEST only (host order)
};

// The whole Ethernet frame: broadcast from 0.0.0.0:68 to 255.255.255.255:67.
buf build_dhcp_frame(const dhcp_request& r);

struct dhcp_reply {
  std::uint32_t xid = 0;
  mac_t chaddr;
  std::uint8_t type = 0;  // 2 OFFER, 5 ACK, 6 NAK
  std::uint32_t yiaddr = 0, siaddr = 0, server_id = 0, netmask = 0;
  std::string file;  // option 67 when present, else the BOOTP file field
};

// Parses an Ethernet frame; nullopt unless it is a BOOTREPLY to UDP port 68.
std::optional<dhcp_reply> parse_dhcp_frame(const std::uint8_t* p, std::size_t n);

// TFTP (RFC 1350, RFC 2347/2348/2349).
buf tftp_rrq(const std::string& file, unsigned blksize);
buf tftp_ack(std::uint16_t block);

// What a PC takes from its iPXE script.
struct boot_script {
  std::string initiator;           // set initiator-iqn
  std::string os_initiator;        // iscsi_initiator= on the kernel line (else initiator)
  std::string user, password;      // set username / set password (CHAP)
  std::string san_uri;             // sanboot / sanhook iscsi:...
  std::vector<std::string> files;  // kernel and initrd URLs, in order
};
// `mac` fills ${net0/mac} and ${net0/mac:hexhyp}.
boot_script parse_script(const std::string& text, const mac_t& mac);

struct iscsi_uri {
  std::string portal;  // "ip:port"
  int lun = 0;
  std::string target;
};
// RFC 4173: iscsi:<servername>:<protocol>:<port>:<LUN>:<targetname>
std::optional<iscsi_uri> parse_iscsi_uri(const std::string& uri);

struct trace_record {
  double ms = 0;
  char op = 'R';
  std::uint64_t lba = 0;
  std::uint32_t blocks = 0;
  unsigned session = 0;
};
// The text of `diskless serve --trace-io` (src/scsi/io_trace.hpp).
std::vector<trace_record> read_trace(const std::string& path);

std::string ip_str(std::uint32_t host_order);

}  // namespace storm
