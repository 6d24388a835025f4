// Offline image checks for `diskless check`; the qcow2 checks themselves are open_qcow2's and
// qcow2_image::check_metadata's (qcow2_check.cpp).
#include "storage/qcow2_inspect.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "storage/image.hpp"
#include "storage/qcow2.hpp"
#include "storage/qcow2_impl.hpp"

namespace diskless::storage {

std::vector<image_problem> inspect_image(const std::filesystem::path& path) {
  auto format = detect_format(path);
  if (!format) return {{true, format.error_message()}};
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {{true, path.string() + ": " + std::strerror(errno)}};
  std::vector<image_problem> out;
  if (*format == image_format::qcow2) {
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
