#include "dhcp/journal.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/file.hpp"

namespace diskless::dhcp {

result<void> write_journal(const std::filesystem::path& path, const std::string& data,
                           bool replace) {
  if (replace) return write_file_atomic(path, data);
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return error{fmt::format("{}: {}", path.string(), std::strerror(errno))};
  std::size_t off = 0;
  while (off < data.size()) {
    const auto n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = errno;
      ::close(fd);
      return error{fmt::format("{}: write: {}", path.string(), std::strerror(e))};
    }
    off += static_cast<std::size_t>(n);
  }
  // fdatasync, not fsync: the size change is metadata fdatasync does flush; mtime is not needed.
  const int rc = ::fdatasync(fd);
  const int e = errno;
  ::close(fd);
  if (rc != 0) return error{fmt::format("{}: fdatasync: {}", path.string(), std::strerror(e))};
  return {};
}

}  // namespace diskless::dhcp
