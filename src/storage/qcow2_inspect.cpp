// Offline image checks for `diskless check`; the qcow2 checks themselves are open_qcow2's and
// qcow2_image::check_metadata's (qcow2_check.cpp).
#include "storage/qcow2_inspect.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "storage/qcow2.hpp"
#include "storage/qcow2_impl.hpp"

namespace diskless::storage {

std::vector<image_problem> inspect_image(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {{true, path.string() + ": " + std::strerror(errno)}};
  bytes magic_bytes(4);
  struct stat st {};
  bool ok = !pread_zero_fill(fd, magic_bytes, 0) && ::fstat(fd, &st) == 0;
  int saved = errno;
  ::close(fd);
  if (!ok) return {{true, path.string() + ": " + std::strerror(saved)}};
  std::vector<image_problem> out;
  if (load_u32(magic_bytes, 0) == qcow2::magic) {
    qcow2_open_options o;
    o.no_backing = true;  // the chain's files are checked on their own
    auto q = open_qcow2(path, o);
    if (!q) return {{true, q.error_message()}};
    for (auto& m : (*q)->check_metadata()) out.push_back({true, path.string() + ": " + m});
  } else if (S_ISREG(st.st_mode) && st.st_size % 512 != 0) {
    // SBC counts the disk in 512-byte blocks: the partial last block is never served.
    out.push_back({false, fmt::format("{}: raw image size {} is not a whole number of 512-byte "
                                      "blocks; its last {} bytes are not served",
                                      path.string(), st.st_size, st.st_size % 512)});
  }
  return out;
}

}  // namespace diskless::storage
