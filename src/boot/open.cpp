#include "boot/open.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace diskless::boot {
namespace {

// A relative path without "" / "." / ".." components (callers normalise; this re-checks since
// the fallback directories do not jail).
bool plain_relative(std::string_view rel) {
  if (rel.empty() || rel.front() == '/') return false;
  std::size_t i = 0;
  while (i <= rel.size()) {
    auto j = rel.find('/', i);
    if (j == std::string_view::npos) j = rel.size();
    auto part = rel.substr(i, j - i);
    if (part.empty() || part == "." || part == "..") return false;
    if (part.find('\0') != std::string_view::npos) return false;
    i = j + 1;
  }
  return true;
}

// Opens rel beneath dir. The kernel refuses ".." and symlinks that resolve outside dir
// (RESOLVE_BENEATH, Linux 5.6); on older kernels a canonical-path prefix check does the same.
// `jailed` false (the package's fallback directory) still resolves relative to dir but follows
// its symlinks.
int open_beneath(const std::filesystem::path& dir, const std::string& rel, bool jailed, int& err) {
  int dfd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    err = errno;
    return -1;
  }
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;  // O_NONBLOCK: a FIFO must not hang us
  how.resolve = RESOLVE_NO_MAGICLINKS | (jailed ? RESOLVE_BENEATH : 0);
  int fd = static_cast<int>(::syscall(SYS_openat2, dfd, rel.c_str(), &how, sizeof how));
  err = fd < 0 ? errno : 0;
  if (fd < 0 && err == ENOSYS && !jailed) {
    fd = ::openat(dfd, rel.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    err = fd < 0 ? errno : 0;
  } else if (fd < 0 && err == ENOSYS) {
    std::error_code ec;
    auto base = std::filesystem::canonical(dir, ec);
    auto full = std::filesystem::canonical(dir / rel, ec);
    if (ec) {
      err = ENOENT;
    } else {
      auto rb = base.native() + "/";
      if (full.native().compare(0, rb.size(), rb) != 0) {
        err = EXDEV;
      } else {
        fd = ::open(full.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        err = fd < 0 ? errno : 0;
      }
    }
  }
  ::close(dfd);
  return fd;
}

}  // namespace

opened open_disk(const disk_file& f) {
  opened o;
  if (!plain_relative(f.rel)) {
    o.what = opened::status::refused;
    return o;
  }
  std::vector<std::filesystem::path> dirs;
  dirs.push_back(f.root);
  dirs.insert(dirs.end(), f.fallbacks.begin(), f.fallbacks.end());
  for (std::size_t i = 0; i < dirs.size(); ++i) {
    const auto& dir = dirs[i];
    if (dir.empty()) continue;
    int err = 0;
    int fd = open_beneath(dir, f.rel, i == 0, err);
    if (fd < 0) {
      if (err == ENOENT || err == ENOTDIR) continue;  // not here: try the next place
      // EXDEV: escapes the root; ELOOP: a symlink loop or magic link; EACCES/EPERM: permissions.
      o.what = opened::status::refused;
      return o;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      o.what = opened::status::not_regular;
      return o;
    }
    o.what = opened::status::ok;
    o.fd = fd;
    o.size = static_cast<std::uint64_t>(st.st_size);
    o.where = dir / f.rel;
    return o;
  }
  return o;  // missing everywhere
}

}  // namespace diskless::boot
