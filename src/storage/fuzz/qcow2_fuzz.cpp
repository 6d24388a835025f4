// libFuzzer target: the qcow2 header parser over the input, then the input as a whole image
// file (in a memfd): open (every offset check), reads, a write, a discard and a flush, and the
// full metadata check `diskless check` runs. Any outcome but a crash or a sanitizer report is
// fine; a hostile image must be refused or fail its I/O.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "storage/qcow2.hpp"
#include "storage/qcow2_format.hpp"

using namespace diskless;
using namespace diskless::storage;

namespace {
void exercise(const std::string& path, bool writable) {
  qcow2_open_options o;
  o.writable = writable;
  o.no_backing = true;
  o.l2_cache_bytes = 1 << 20;
  auto q = open_qcow2(path, o);
  if (!q) return;
  auto& img = **q;
  bytes buf(4096);
  for (std::uint64_t off : {std::uint64_t{0}, img.size() / 2, img.size() - 4096})
    if (img.size() >= 4096) (void)img.read(off & ~std::uint64_t{511}, buf);
  (void)img.check_metadata();
  if (!writable || img.size() < 4096) return;
  (void)img.write(0, buf);
  (void)img.discard(0, std::min<std::uint64_t>(img.size(), img.header().cluster_size()));
  (void)img.flush();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto in = std::as_bytes(std::span(data, size));  // fuzzer ABI: raw bytes
  (void)qcow2::parse_header(in);
  if (size > (4u << 20)) return 0;  // the image stays small; writes grow it at most by clusters
  int fd = ::memfd_create("qcow2-fuzz", MFD_CLOEXEC);
  if (fd < 0) return 0;
  if (::write(fd, data, size) == static_cast<ssize_t>(size)) {
    std::string path = "/proc/self/fd/" + std::to_string(fd);
    exercise(path, false);
    exercise(path, true);
  }
  ::close(fd);
  return 0;
}
