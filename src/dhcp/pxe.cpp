#include "dhcp/pxe.hpp"

namespace diskless::dhcp {

client_info classify(const packet& p) {
  client_info c;
  if (auto vc = p.get_string(opt::vendor_class)) {
    // PXE spec §2.4: "PXEClient:Arch:xxxxx:UNDI:yyyzzz"; UEFI HTTP Boot: "HTTPClient:Arch:...".
    c.pxe = vc->starts_with("PXEClient");
    c.http = vc->starts_with("HTTPClient");
  }
  if (auto uc = p.get_string(opt::user_class)) {
    // iPXE sends the bare string "iPXE" (not RFC 3004 length-prefixed); accept both forms.
    c.ipxe = uc->find("iPXE") != std::string::npos;
  }
  if (p.has(opt::ipxe_encap)) c.ipxe = true;
  if (auto a = p.get_u16(opt::client_arch)) {  // RFC 4578 §2.1: list of u16, first is used
    c.arch = *a;
    c.has_arch = true;
  }
  c.guid = p.find(opt::client_uuid);
  return c;
}

bool arch_without_loader(std::uint16_t a) {
  return a == arch::efi_ia32 || a == arch::efi_arm32 || a == arch::efi_arm64;
}

}  // namespace diskless::dhcp
