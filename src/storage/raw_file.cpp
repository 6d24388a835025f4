#include "storage/raw_file.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

#include "util/log.hpp"

namespace diskless::storage {

namespace {

std::error_code last_error() {
  return std::error_code(errno, std::generic_category());
}

class raw_file final : public block_device {
 public:
  raw_file(int fd, std::uint64_t size, bool read_only)
      : fd_(fd), size_(size), read_only_(read_only) {}
  ~raw_file() override { ::close(fd_); }
  raw_file(const raw_file&) = delete;
  raw_file& operator=(const raw_file&) = delete;

  std::uint64_t size() const override { return size_; }
  bool read_only() const override { return read_only_; }

  std::error_code read(std::uint64_t offset, std::span<std::byte> out) override {
    if (!in_range(offset, out.size())) return std::error_code(EINVAL, std::generic_category());
    std::size_t done = 0;
    while (done < out.size()) {
      ssize_t n =
          ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return last_error();
      }
      // The file shrank under us (someone truncated the image): a short read is an error, not
      // zeros, so the initiator sees a medium error rather than silently wrong data.
      if (n == 0) return std::error_code(EIO, std::generic_category());
      done += static_cast<std::size_t>(n);
    }
    return {};
  }

  file_extent file_for(std::uint64_t offset, std::uint64_t length) override {
    if (!in_range(offset, length)) return {};
    return {fd_, offset, nullptr};
  }

  bool try_read_cached(std::uint64_t offset, std::span<std::byte> out) override {
    if (!nowait_ok_.load(std::memory_order_relaxed) || !in_range(offset, out.size())) return false;
    // preadv2(RWF_NOWAIT) (Linux 4.14+) returns EAGAIN instead of starting disk I/O, and may
    // return a short count when only the first pages are cached. Anything short of the whole
    // range declines: the pool then does a plain read of all of it.
    iovec iov{out.data(), out.size()};
    ssize_t n = ::preadv2(fd_, &iov, 1, static_cast<off_t>(offset), RWF_NOWAIT);
    if (n < 0 && (errno == EOPNOTSUPP || errno == EINVAL || errno == ENOSYS)) {
      // File systems or devices without NOWAIT support: stop trying.
      nowait_ok_.store(false, std::memory_order_relaxed);
      return false;
    }
    return n >= 0 && static_cast<std::size_t>(n) == out.size();
  }

  std::error_code write(std::uint64_t offset, std::span<const std::byte> in, bool fua) override {
    if (read_only_) return std::error_code(EROFS, std::generic_category());
    if (!in_range(offset, in.size())) return std::error_code(EINVAL, std::generic_category());
    bool dsync_done = false;
    std::size_t done = 0;
    while (done < in.size()) {
      ssize_t n;
      if (fua && !no_rwf_dsync_.load(std::memory_order_relaxed)) {
        // RWF_DSYNC makes this one write durable like O_DSYNC would (Linux 4.7+).
        iovec iov{const_cast<std::byte*>(in.data() + done), in.size() - done};
        n = ::pwritev2(fd_, &iov, 1, static_cast<off_t>(offset + done), RWF_DSYNC);
        if (n < 0 && (errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL)) {
          no_rwf_dsync_.store(true, std::memory_order_relaxed);
          continue;
        }
        if (n >= 0) dsync_done = static_cast<std::size_t>(n) == in.size() - done;
      } else {
        n = ::pwrite(fd_, in.data() + done, in.size() - done, static_cast<off_t>(offset + done));
        dsync_done = false;
      }
      if (n < 0) {
        if (errno == EINTR) continue;
        return last_error();
      }
      if (n == 0) return std::error_code(EIO, std::generic_category());
      done += static_cast<std::size_t>(n);
    }
    // A split transfer or the fallback path: make the whole range durable the slow way.
    if (fua && !dsync_done && !in.empty()) return flush();
    return {};
  }

  std::error_code flush() override {
    if (read_only_) return {};
    while (::fdatasync(fd_) != 0) {
      if (errno != EINTR) return last_error();
    }
    return {};
  }

  std::error_code discard(std::uint64_t offset, std::uint64_t length) override {
    if (read_only_) return std::error_code(EROFS, std::generic_category());
    if (!in_range(offset, length)) return std::error_code(EINVAL, std::generic_category());
    if (length == 0) return {};
    if (!no_punch_hole_.load(std::memory_order_relaxed)) {
      // Reads of a punched range return zeros (fallocate(2)); on block devices the kernel zeroes
      // or discards with guaranteed zeroing.
      if (::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                      static_cast<off_t>(length)) == 0)
        return {};
      if (errno != EOPNOTSUPP && errno != ENOSYS && errno != EINVAL && errno != ENODEV)
        return last_error();
      no_punch_hole_.store(true, std::memory_order_relaxed);
      log::storage().debug("fallocate(PUNCH_HOLE) unsupported ({}); writing zeros instead",
                           std::strerror(errno));
    }
    constexpr std::uint64_t chunk = 1 << 20;
    std::vector<std::byte> zeros(static_cast<std::size_t>(std::min(length, chunk)));
    for (std::uint64_t pos = 0; pos < length;) {
      auto n = static_cast<std::size_t>(std::min<std::uint64_t>(length - pos, chunk));
      if (auto ec = write(offset + pos, std::span<const std::byte>(zeros.data(), n), false))
        return ec;
      pos += n;
    }
    return {};
  }

 private:
  bool in_range(std::uint64_t offset, std::uint64_t length) const {
    return offset <= size_ && length <= size_ - offset;
  }
  int fd_;
  std::uint64_t size_;
  bool read_only_;
  std::atomic<bool> no_rwf_dsync_{false};
  std::atomic<bool> no_punch_hole_{false};
  std::atomic<bool> nowait_ok_{true};
};

}  // namespace

result<std::shared_ptr<block_device>> open_raw(const std::filesystem::path& path, bool read_only) {
  int fd = ::open(path.c_str(), (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (fd < 0) return error{"cannot open " + path.string() + ": " + std::strerror(errno)};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return error{"cannot stat " + path.string() + ": " + std::strerror(e)};
  }
  std::uint64_t size = 0;
  if (S_ISREG(st.st_mode)) {
    size = static_cast<std::uint64_t>(st.st_size);
  } else if (S_ISBLK(st.st_mode)) {
    if (::ioctl(fd, BLKGETSIZE64, &size) != 0) {
      int e = errno;
      ::close(fd);
      return error{"cannot get the size of " + path.string() + ": " + std::strerror(e)};
    }
  } else {
    ::close(fd);
    return error{path.string() + " is neither a regular file nor a block device"};
  }
  return std::shared_ptr<block_device>(std::make_shared<raw_file>(fd, size, read_only));
}

}  // namespace diskless::storage
