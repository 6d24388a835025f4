#include "storage/image.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>

#include "storage/qcow2.hpp"
#include "storage/qcow2_format.hpp"
#include "storage/qcow2_impl.hpp"
#include "storage/raw_file.hpp"

namespace diskless::storage {

result<image_format> detect_format(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return error{path.string() + ": " + std::strerror(errno)};
  bytes magic(4);  // a shorter file reads as zeros: raw
  const auto ec = pread_zero_fill(fd, magic, 0);
  ::close(fd);
  if (ec) return error{path.string() + ": " + ec.message()};
  return load_u32(magic, 0) == qcow2::magic ? image_format::qcow2 : image_format::raw;
}

std::string_view format_name(image_format f) {
  return f == image_format::qcow2 ? "qcow2" : "raw";
}

result<std::shared_ptr<block_device>> open_image(const std::filesystem::path& path,
                                                 const image_open_options& o) {
  std::string format(o.format);
  if (format.empty()) {
    auto f = detect_format(path);
    if (!f) return error{f.error_message()};
    format = format_name(*f);
  }
  if (format == "raw") return open_raw(path, !o.writable);
  if (format == "qcow2") {
    qcow2_open_options q;
    q.writable = o.writable;
    q.chain_depth = o.chain_depth;
    auto img = open_qcow2(path, q);
    if (!img) return error{img.error_message()};
    return std::shared_ptr<block_device>(*img);
  }
  // Only a qcow2 header names a format explicitly: it is the backing file's.
  return error{path.string() + ": backing format '" + format + "' is not supported"};
}

result<std::shared_ptr<block_device>> open_image(const std::filesystem::path& path, bool writable) {
  return open_image(path, image_open_options{.writable = writable});
}

}  // namespace diskless::storage
