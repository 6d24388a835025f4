// qcow2 images (QEMU docs/interop/qcow2.txt): open, read, copy-on-write, discard, flush.
// Creation and the metadata write-back live in qcow2_meta.cpp.
#include "storage/qcow2.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "storage/image.hpp"
#include "storage/qcow2_impl.hpp"
#include "storage/raw_file.hpp"
#include "util/log.hpp"

namespace diskless::storage {

using namespace qcow2;

namespace {

std::error_code errno_code(int e) {
  return {e, std::generic_category()};
}

}  // namespace

std::error_code pread_zero_fill(int fd, std::span<std::byte> out, std::uint64_t off) {
  std::size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(off + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_code(errno);
    }
    if (n == 0) break;  // past the end of the file: reads as zeros (as QEMU does)
    done += static_cast<std::size_t>(n);
  }
  std::fill(out.begin() + static_cast<std::ptrdiff_t>(done), out.end(), std::byte{0});
  return {};
}

std::error_code pwrite_full(int fd, std::span<const std::byte> in, std::uint64_t off) {
  std::size_t done = 0;
  while (done < in.size()) {
    ssize_t n = ::pwrite(fd, in.data() + done, in.size() - done, static_cast<off_t>(off + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_code(errno);
    }
    done += static_cast<std::size_t>(n);
  }
  return {};
}

std::error_code sync_fd(int fd) {
  while (::fdatasync(fd) != 0) {
    if (errno != EINTR) return errno_code(errno);
  }
  return {};
}

// ---- metadata lookups (mu held) ----

std::error_code qcow2_image::impl::load_l2(std::uint64_t off, l2_table*& out) {
  if (auto it = l2.find(off); it != l2.end()) {
    out = &it->second;
    return {};
  }
  bytes raw(cs);
  if (auto ec = pread_zero_fill(fd, raw, off)) return ec;
  if (l2.size() * cs >= l2_cache_bytes) evict_clean_l2();
  l2_table t;
  t.e.resize(h.l2_entries());
  for (std::size_t i = 0; i < t.e.size(); ++i) t.e[i] = load_u64(raw, i * 8);
  out = &l2.emplace(off, std::move(t)).first->second;
  return {};
}

std::error_code qcow2_image::impl::lookup(std::uint64_t gc, std::uint64_t& entry) {
  entry = 0;
  std::uint64_t i1 = gc / h.l2_entries();
  if (i1 >= l1.size()) return {};
  std::uint64_t off = l1[i1] & entry_offset_mask;
  if (off == 0) return {};
  l2_table* t = nullptr;
  if (auto ec = load_l2(off, t)) return ec;
  entry = t->e[gc % h.l2_entries()];
  // Compressed entries are refused by the callers that would follow them.
  if (entry & entry_compressed) return {};
  if (auto why = check_l2_entry(entry); !why.empty()) return corrupt(gc, why);
  return {};
}

bool qcow2_image::impl::lookup_cached(std::uint64_t gc, std::uint64_t& entry) const {
  entry = 0;
  std::uint64_t i1 = gc / h.l2_entries();
  if (i1 >= l1.size()) return true;
  std::uint64_t off = l1[i1] & entry_offset_mask;
  if (off == 0) return true;
  auto it = l2.find(off);
  if (it == l2.end()) return false;
  entry = it->second.e[gc % h.l2_entries()];
  // A corrupt entry: declined here, the pool's lookup() reports it.
  return (entry & entry_compressed) || check_l2_entry(entry).empty();
}

std::error_code qcow2_image::impl::read_backing(std::uint64_t guest, std::span<std::byte> out) {
  std::size_t have = 0;
  if (backing && guest < backing_size)
    have = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), backing_size - guest));
  if (have > 0) {
    if (auto ec = backing->read(guest, out.first(have))) return ec;
  }
  std::fill(out.begin() + static_cast<std::ptrdiff_t>(have), out.end(), std::byte{0});
  return {};
}

// ---- block_device ----

qcow2_image::qcow2_image(std::unique_ptr<impl> p) : p_(std::move(p)) {}

qcow2_image::~qcow2_image() {
  if (p_->writable) {
    if (auto ec = flush())
      log::storage().error("{}: metadata write-back failed on close: {}", p_->path.string(),
                           ec.message());
  }
  if (p_->fd >= 0) ::close(p_->fd);  // also releases the flock
}

std::uint64_t qcow2_image::size() const {
  return p_->h.size;
}
bool qcow2_image::read_only() const {
  return !p_->writable;
}
const qcow2::header& qcow2_image::header() const {
  return p_->h;
}

namespace {
// One contiguous piece of a request: where its bytes come from or go to.
struct extent {
  mapping kind;
  std::uint64_t host;   // data: file offset; unallocated: guest offset (backing)
  std::size_t buf_off;  // offset in the caller's buffer
  std::size_t len;
};

void push_extent(std::vector<extent>& v, extent e) {
  if (!v.empty()) {
    auto& b = v.back();
    bool contiguous = b.kind == e.kind && b.buf_off + b.len == e.buf_off &&
                      (e.kind == mapping::zero || b.host + b.len == e.host);
    if (contiguous) {
      b.len += e.len;
      return;
    }
  }
  v.push_back(e);
}
}  // namespace

namespace {
// Maps [offset, offset + len) to extents with `lookup(gc, entry)` (mu held by the caller).
// Returns an error for compressed clusters; false from lookup stops with `declined`.
template <typename Lookup>
std::error_code map_extents(qcow2_image::impl& s, std::uint64_t offset, std::size_t len,
                            std::vector<extent>& ext, Lookup&& lookup) {
  std::size_t pos = 0;
  while (pos < len) {
    std::uint64_t g = offset + pos;
    std::uint64_t gc = g >> s.cb;
    std::uint64_t in = g & (s.cs - 1);
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(s.cs - in, len - pos));
    std::uint64_t e = 0;
    if (auto ec = lookup(gc, e)) return ec;
    switch (classify_l2(e)) {
      case mapping::unallocated:
        push_extent(ext, {mapping::unallocated, g, pos, n});
        break;
      case mapping::zero:
        push_extent(ext, {mapping::zero, 0, pos, n});
        break;
      case mapping::data:
        push_extent(ext, {mapping::data, (e & entry_offset_mask) + in, pos, n});
        break;
      case mapping::compressed:
        log::storage().error("{}: compressed cluster at guest offset {} (not supported)",
                             s.path.string(), gc << s.cb);
        return std::make_error_code(std::errc::io_error);
    }
    pos += n;
  }
  return {};
}
}  // namespace

namespace {
// map_extents from memory only, for the loop's non-blocking paths: false when the metadata lock
// is busy (a writer may hold it across disk I/O: allocation, L2 loads), an L2 table is not
// cached, or the range holds a compressed cluster.
bool map_extents_cached(qcow2_image::impl& s, std::uint64_t offset, std::size_t len,
                        std::vector<extent>& ext) {
  std::unique_lock lock(s.mu, std::try_to_lock);
  if (!lock.owns_lock()) return false;
  return !map_extents(s, offset, len, ext, [&](std::uint64_t gc, std::uint64_t& e) {
    return s.lookup_cached(gc, e) ? std::error_code{}
                                  : std::make_error_code(std::errc::operation_would_block);
  });
}
}  // namespace

std::error_code qcow2_image::read(std::uint64_t offset, std::span<std::byte> out) {
  auto& s = *p_;
  if (offset > s.h.size || out.size() > s.h.size - offset)
    return std::make_error_code(std::errc::invalid_argument);
  std::vector<extent> ext;
  {
    std::lock_guard lock(s.mu);
    if (auto ec = map_extents(s, offset, out.size(), ext,
                              [&](std::uint64_t gc, std::uint64_t& e) { return s.lookup(gc, e); }))
      return ec;
  }
  for (const auto& x : ext) {
    auto buf = out.subspan(x.buf_off, x.len);
    std::error_code ec;
    switch (x.kind) {
      case mapping::unallocated:
        ec = s.read_backing(x.host, buf);
        break;
      case mapping::zero:
        std::fill(buf.begin(), buf.end(), std::byte{0});
        break;
      default:
        ec = pread_zero_fill(s.fd, buf, x.host);
        break;
    }
    if (ec) return ec;
  }
  return {};
}

bool qcow2_image::try_read_cached(std::uint64_t offset, std::span<std::byte> out) {
  auto& s = *p_;
  if (offset > s.h.size || out.size() > s.h.size - offset) return false;
  std::vector<extent> ext;
  if (!map_extents_cached(s, offset, out.size(), ext)) return false;
  for (const auto& x : ext) {
    auto buf = out.subspan(x.buf_off, x.len);
    switch (x.kind) {
      case mapping::unallocated: {
        std::size_t have = 0;
        if (s.backing && x.host < s.backing_size)
          have = static_cast<std::size_t>(
              std::min<std::uint64_t>(buf.size(), s.backing_size - x.host));
        if (have > 0 && !s.backing->try_read_cached(x.host, buf.first(have))) return false;
        std::fill(buf.begin() + static_cast<std::ptrdiff_t>(have), buf.end(), std::byte{0});
        break;
      }
      case mapping::zero:
        std::fill(buf.begin(), buf.end(), std::byte{0});
        break;
      default: {
        if (!s.nowait_ok.load(std::memory_order_relaxed)) return false;
        iovec iov{buf.data(), buf.size()};
        ssize_t n = ::preadv2(s.fd, &iov, 1, static_cast<off_t>(x.host), RWF_NOWAIT);
        if (n < 0 && (errno == EOPNOTSUPP || errno == EINVAL || errno == ENOSYS))
          s.nowait_ok.store(false, std::memory_order_relaxed);
        // Short (only some pages cached, or past the end of the file): the pool reads it all.
        if (n < 0 || static_cast<std::size_t>(n) != buf.size()) return false;
        break;
      }
    }
  }
  return true;
}

block_device::file_extent qcow2_image::file_for(std::uint64_t offset, std::uint64_t length) {
  auto& s = *p_;
  if (offset > s.h.size || length > s.h.size - offset || length == 0) return {};
  std::vector<extent> ext;
  if (!map_extents_cached(s, offset, static_cast<std::size_t>(length), ext) || ext.size() != 1)
    return {};
  const auto& x = ext.front();
  if (x.kind == mapping::unallocated) {
    // Past the backing device's end the overlay reads zeros, which a file run cannot give.
    if (!s.backing || x.host > s.backing_size || length > s.backing_size - x.host) return {};
    return s.backing->file_for(x.host, length);
  }
  if (x.kind != mapping::data) return {};
  // A data cluster past the end of the file reads as zeros through read() (pread_zero_fill);
  // sendfile would come up short, so such a run is declined.
  struct stat st {};
  if (::fstat(s.fd, &st) != 0 || x.host + length > static_cast<std::uint64_t>(st.st_size))
    return {};
  return {s.fd, x.host, nullptr};
}

std::error_code qcow2_image::write(std::uint64_t offset, std::span<const std::byte> in, bool fua) {
  auto& s = *p_;
  if (!s.writable) return std::make_error_code(std::errc::read_only_file_system);
  if (offset > s.h.size || in.size() > s.h.size - offset)
    return std::make_error_code(std::errc::invalid_argument);
  std::vector<extent> inplace;
  bool writeback = false;
  {
    std::lock_guard lock(s.mu);
    if (s.broken) return std::make_error_code(std::errc::io_error);
    if (!in.empty()) {
      if (auto ec = s.prepare_allocation(offset >> s.cb, (offset + in.size() - 1) >> s.cb))
        return ec;
    }
    std::size_t pos = 0;
    while (pos < in.size()) {
      std::uint64_t g = offset + pos;
      std::uint64_t gc = g >> s.cb;
      std::uint64_t within = g & (s.cs - 1);
      std::size_t n =
          static_cast<std::size_t>(std::min<std::uint64_t>(s.cs - within, in.size() - pos));
      std::uint64_t e = 0;
      if (auto ec = s.lookup(gc, e)) return ec;
      auto kind = classify_l2(e);
      if (kind == mapping::data) {
        push_extent(inplace, {mapping::data, (e & entry_offset_mask) + within, pos, n});
      } else if (kind == mapping::compressed) {
        return std::make_error_code(std::errc::io_error);
      } else if (auto ec = s.allocate_and_write(gc, e, within, in.subspan(pos, n))) {
        return ec;
      }
      pos += n;
    }
    writeback = s.too_dirty();
  }
  for (const auto& x : inplace) {
    if (auto ec = pwrite_full(s.fd, in.subspan(x.buf_off, x.len), x.host)) return ec;
  }
  if (fua || writeback) return flush();
  return {};
}

std::error_code qcow2_image::discard(std::uint64_t offset, std::uint64_t length) {
  auto& s = *p_;
  if (!s.writable) return std::make_error_code(std::errc::read_only_file_system);
  if (offset > s.h.size || length > s.h.size - offset)
    return std::make_error_code(std::errc::invalid_argument);
  std::uint64_t end = offset + length;
  std::uint64_t pos = offset;
  while (pos < end) {
    std::uint64_t gc = pos >> s.cb;
    std::uint64_t cstart = gc << s.cb;
    std::uint64_t cend = std::min(cstart + s.cs, s.h.size);
    std::uint64_t n = std::min(cend, end) - pos;
    if (pos == cstart && pos + n == cend) {
      // A whole cluster (or the disk's last, partial one): mark it zero (qcow2.txt, L2 bit 0)
      // and release its data cluster once the new L2 entry is durable.
      std::lock_guard lock(s.mu);
      if (s.broken) return std::make_error_code(std::errc::io_error);
      if (auto ec = s.mark_zero(gc)) return ec;
    } else {
      // Part of a cluster: write zeros there (copy-on-write keeps the rest).
      bytes zeros(static_cast<std::size_t>(n));
      if (auto ec = write(pos, zeros)) return ec;
    }
    pos += n;
  }
  bool writeback;
  {
    std::lock_guard lock(s.mu);
    writeback = s.too_dirty();
  }
  return writeback ? flush() : std::error_code{};
}

qcow2_usage qcow2_image::usage() {
  auto& s = *p_;
  qcow2_usage u;
  u.cluster_size = s.cs;
  u.guest_clusters = (s.h.size + s.cs - 1) >> s.cb;
  std::lock_guard lock(s.mu);
  for (std::uint64_t gc = 0; gc < u.guest_clusters; ++gc) {
    std::uint64_t e = 0;
    if (s.lookup(gc, e)) break;
    auto k = classify_l2(e);
    if (k == mapping::data || k == mapping::compressed) ++u.allocated_clusters;
    if (k == mapping::zero) ++u.zero_clusters;
  }
  return u;
}

std::error_code qcow2_image::for_each_defined(
    const std::function<std::error_code(std::uint64_t, std::uint64_t, bool)>& f) {
  auto& s = *p_;
  struct range {
    std::uint64_t off, len;
    bool zero;
  };
  std::vector<range> ranges;
  {
    std::lock_guard lock(s.mu);
    std::uint64_t n = (s.h.size + s.cs - 1) >> s.cb;
    for (std::uint64_t gc = 0; gc < n; ++gc) {
      std::uint64_t e = 0;
      if (auto ec = s.lookup(gc, e)) return ec;
      auto k = classify_l2(e);
      if (k == mapping::unallocated) continue;
      bool zero = k == mapping::zero;
      std::uint64_t off = gc << s.cb;
      std::uint64_t len = std::min(s.cs, s.h.size - off);
      if (!ranges.empty() && ranges.back().zero == zero &&
          ranges.back().off + ranges.back().len == off)
        ranges.back().len += len;
      else
        ranges.push_back({off, len, zero});
    }
  }
  for (const auto& r : ranges) {
    if (auto ec = f(r.off, r.len, r.zero)) return ec;
  }
  return {};
}

// ---- open ----

namespace {

result<std::shared_ptr<qcow2_image>> open_qcow2_at(const std::filesystem::path& path,
                                                   const qcow2_open_options& o, int depth) {
  if (depth > 16) return error{path.string() + ": backing chain deeper than 16 images"};
  auto s = std::make_unique<qcow2_image::impl>();
  s->path = path;
  s->writable = o.writable;
  s->fd = ::open(path.c_str(), (o.writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (s->fd < 0) return error{path.string() + ": " + std::strerror(errno)};
  auto fail = [&](const std::string& m) -> result<std::shared_ptr<qcow2_image>> {
    ::close(s->fd);
    s->fd = -1;
    return error{path.string() + ": " + m};
  };
  if (o.lock && ::flock(s->fd, LOCK_EX | LOCK_NB) != 0)
    return fail(errno == EWOULDBLOCK ? "in use (locked by another user of the overlay)"
                                     : std::strerror(errno));
  bytes first(4096);
  if (auto ec = pread_zero_fill(s->fd, first, 0)) return fail(ec.message());
  std::uint32_t cb = load_u32(first, 20);
  if (cb >= 9 && cb <= 21 && (1u << cb) > first.size()) {
    first.resize(1u << cb);
    if (auto ec = pread_zero_fill(s->fd, first, 0)) return fail(ec.message());
  }
  auto h = parse_header(first);
  if (!h) return fail(h.error_message());
  if (auto why = check_supported(*h, o.writable); !why.empty()) return fail(why);
  s->h = *h;
  s->cb = h->cluster_bits;
  s->cs = h->cluster_size();
  s->rc_per_block = s->cs * 8 / (1u << h->refcount_order);

  bytes raw(std::size_t{h->l1_size} * 8);
  if (auto ec = pread_zero_fill(s->fd, raw, h->l1_table_offset)) return fail(ec.message());
  s->l1.resize(h->l1_size);
  for (std::size_t i = 0; i < s->l1.size(); ++i) s->l1[i] = load_u64(raw, i * 8);
  if (std::uint64_t{h->refcount_table_clusters} * s->cs > (64u << 20))
    return fail("refcount table larger than 64 MiB");
  raw.assign(std::size_t{h->refcount_table_clusters} * s->cs, std::byte{0});
  if (auto ec = pread_zero_fill(s->fd, raw, h->refcount_table_offset)) return fail(ec.message());
  s->rt.resize(raw.size() / 8);
  for (std::size_t i = 0; i < s->rt.size(); ++i) s->rt[i] = load_u64(raw, i * 8);

  // Every table offset checked, then L2 tables loaded (up to the cache size): it warms the cache
  // and refuses corrupt and compressed images up front rather than on some later read.
  s->l2_cache_bytes = o.l2_cache_bytes;
  if (auto why = s->check_layout(); !why.empty()) return fail(why);
  if (auto why = s->load_eager(); !why.empty()) return fail(why);

  if (o.backing) {
    s->backing = o.backing;
  } else if (!h->backing_file.empty() && !o.no_backing) {
    std::filesystem::path bp = h->backing_file;
    if (bp.is_relative()) bp = path.parent_path() / bp;
    auto b = open_image(bp, {.format = h->backing_format, .chain_depth = depth + 1});
    if (!b) return fail("backing file: " + b.error_message());
    s->backing = *b;
  }
  if (s->backing) s->backing_size = s->backing->size();

  if (o.writable && h->autoclear_features != 0) {
    // qcow2.txt: a writer that does not support an autoclear feature must clear its bit.
    bytes zero(8);
    if (auto ec = pwrite_full(s->fd, zero, 88)) return fail(ec.message());
    if (auto ec = sync_fd(s->fd)) return fail(ec.message());
    s->h.autoclear_features = 0;
  }
  return std::make_shared<qcow2_image>(std::move(s));
}

}  // namespace

result<std::shared_ptr<qcow2_image>> open_qcow2(const std::filesystem::path& path,
                                                const qcow2_open_options& o) {
  return open_qcow2_at(path, o, o.chain_depth);
}

}  // namespace diskless::storage
