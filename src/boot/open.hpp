#pragma once
// Opening a boot file on disk: the TFTP root first, then the ipxe package directory. The one
// place that walks these places; TFTP and HTTP both open through it (on their io_pool).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace diskless::boot {

// Debian's ipxe package: undionly.kpxe, ipxe.efi, snponly.efi.
inline const std::filesystem::path ipxe_package_dir = "/usr/lib/ipxe";

// Where a file is looked for: rel beneath root (jailed: neither ".." nor a symlink leads out of
// it), then beneath each fallback (system-owned package directories whose own symlinks are
// followed: Debian's /usr/lib/ipxe/ipxe.efi points into /boot; ".." is never accepted).
struct disk_file {
  std::filesystem::path root;
  std::vector<std::filesystem::path> fallbacks;
  std::string rel;  // normalised: no leading '/', no "." or ".." components
};

struct opened {
  enum class status { ok, missing, refused, not_regular };
  status what = status::missing;
  int fd = -1;  // owned by the caller when what == ok
  std::uint64_t size = 0;
  std::filesystem::path where;  // for logs
};

// BLOCKING (run it on the io_pool). Only "no such file" falls through to the next place; a
// refusal (a symlink out of the root, ELOOP, no permission) is final. The jail is enforced by
// the kernel (openat2 RESOLVE_BENEATH), with a canonical-path check where openat2 is missing.
opened open_disk(const disk_file& f);

}  // namespace diskless::boot
