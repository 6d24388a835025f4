#pragma once
// PXE client classification (PXE spec 2.1, RFC 4578, iPXE conventions). The boot file a client
// gets is the boot catalog's choice (boot/catalog.hpp).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dhcp/wire.hpp"
#include "service/events.hpp"
#include "util/net.hpp"

namespace diskless::dhcp {

// RFC 4578 §2.1 / IANA "Processor Architecture Types".
namespace arch {
inline constexpr std::uint16_t bios = 0;
inline constexpr std::uint16_t efi_ia32 = 6;
inline constexpr std::uint16_t efi_bc = 7;  // "EFI BC": in practice x64 (OVMF sends 7)
inline constexpr std::uint16_t efi_x64 = 9;
inline constexpr std::uint16_t efi_arm32 = 10;
inline constexpr std::uint16_t efi_arm64 = 11;
inline constexpr std::uint16_t efi_x64_http = 16;
}  // namespace arch

struct client_info {
  bool pxe = false;                 // option 60 starts with "PXEClient"
  bool http = false;                // option 60 starts with "HTTPClient" (UEFI HTTP Boot)
  bool ipxe = false;                // option 77 contains "iPXE", or option 175 present
  std::uint16_t arch = arch::bios;  // option 93 (first entry); BIOS when absent
  bool has_arch = false;
  const bytes* guid = nullptr;  // option 97 as sent (points into the packet)

  bool uefi() const { return arch != arch::bios; }
};

client_info classify(const packet& p);

// True when the architecture is one we have no native loader for: Debian's ipxe package ships
// x86_64 EFI builds only (no i386 or arm64 .efi), so such a machine gets the x64 loader and fails
// there (boot::offer_for), with a warning in our log; a site with the right build can install it
// under that name.
bool arch_without_loader(std::uint16_t a);

// The boot event for a request and our reply (reply_type: "OFFER", "ACK", ... or "" for none;
// yiaddr: the address in it): the client's MAC, message type, classification, vendor class (non
// printable bytes as '.') and option 97 (RFC 4578 §2.3) as lowercase hex, each cut at 64 bytes.
svc::event boot_event(const packet& req, std::string_view reply_type, ipv4_address yiaddr);

}  // namespace diskless::dhcp
