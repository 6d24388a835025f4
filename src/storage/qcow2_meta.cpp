// qcow2 metadata: cluster allocation, copy-on-write, zero clusters, ordered write-back, and image
// creation. The ordering argument is in qcow2.hpp.
#include <fcntl.h>
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
constexpr std::uint64_t rt_offset_mask = ~std::uint64_t{0x1ff};  // refcount table: bits 9-63

bytes encode_l2(const std::vector<std::uint64_t>& e) {
  bytes out(e.size() * 8);
  for (std::size_t i = 0; i < e.size(); ++i) store_u64(out, i * 8, e[i]);
  return out;
}
}  // namespace

std::error_code qcow2_image::impl::load_rc(std::uint64_t off, rc_block*& out) {
  if (auto it = rc.find(off); it != rc.end()) {
    out = &it->second;
    return {};
  }
  rc_block b;
  b.data.resize(cs);
  if (auto ec = pread_zero_fill(fd, b.data, off)) return ec;
  out = &rc.emplace(off, std::move(b)).first->second;
  return {};
}

// Finds the first cluster with refcount 0 at or after free_hint and gives it refcount 1 (in
// memory). A missing refcount block is created in the free cluster itself, so it counts itself
// (qcow2.txt: refcount blocks are clusters like any other and are refcounted too).
std::error_code qcow2_image::impl::alloc_cluster(std::uint64_t& host_off) {
  std::uint64_t idx = free_hint;
  for (;;) {
    std::uint64_t bi = idx / rc_per_block;
    if (bi >= rt.size()) {
      log::storage().error("{}: refcount table full (image larger than it can describe)",
                           path.string());
      return std::make_error_code(std::errc::no_space_on_device);
    }
    std::uint64_t boff = rt[bi] & rt_offset_mask;
    if (boff == 0 && metadata_at(idx)) {
      free_hint = ++idx;  // undescribed metadata (a corrupt refcount table): never reused
      continue;
    }
    if (boff == 0) {
      rc_block nb;
      nb.data.resize(cs);
      refcount_set(nb.data, h.refcount_order, idx % rc_per_block, 1);
      nb.dirty = true;
      ++rc_dirty;
      rc[idx << cb] = std::move(nb);
      rt[bi] = idx << cb;
      add_metadata(rc_blocks, idx << cb);
      rt_dirty.insert(bi);
      free_hint = ++idx;
      continue;
    }
    rc_block* b = nullptr;
    if (auto ec = load_rc(boff, b)) return ec;
    std::uint64_t i = idx % rc_per_block;
    // A metadata cluster with refcount 0 (corrupt refcounts) is skipped, never handed out.
    while (i < rc_per_block &&
           (refcount_get(b->data, h.refcount_order, i) != 0 || metadata_at(bi * rc_per_block + i)))
      ++i;
    if (i == rc_per_block) {
      idx = (bi + 1) * rc_per_block;
      continue;
    }
    refcount_set(b->data, h.refcount_order, i, 1);
    if (!b->dirty) {
      b->dirty = true;
      ++rc_dirty;
    }
    idx = bi * rc_per_block + i;
    free_hint = idx + 1;
    host_off = idx << cb;
    return {};
  }
}

// The L2 table for a guest cluster, allocating it (zero-filled on disk at once) if needed.
std::error_code qcow2_image::impl::l2_for_write(std::uint64_t gc, l2_table*& t) {
  std::uint64_t i1 = gc / h.l2_entries();
  if (i1 >= l1.size()) return std::make_error_code(std::errc::invalid_argument);
  std::uint64_t off = l1[i1] & entry_offset_mask;
  if (off == 0) {
    if (auto ec = alloc_cluster(off)) return ec;
    // Zeros on disk before any L1 entry can point here: a reused cluster holds old bytes.
    bytes zeros(cs);
    if (auto ec = pwrite_full(fd, zeros, off)) return ec;
    l2_table nt;
    nt.e.assign(h.l2_entries(), 0);
    l2[off] = std::move(nt);
    add_metadata(l2_tables, off);
    l1[i1] = off | entry_copied;
    l1_dirty.insert(i1);
  }
  return load_l2(off, t);
}

// Sequential guest writes then make sequential runs in the file, which zero-copy reads send
// whole (file_for); otherwise a new refcount block lands inside the run every rc_per_block
// clusters and an L2 table wherever a write crosses into a new L2 range. Placement only: what
// is allocated, and the write-back order, are as in alloc_cluster and l2_for_write.
std::error_code qcow2_image::impl::prepare_allocation(std::uint64_t first, std::uint64_t last) {
  const std::uint64_t per_l2 = h.l2_entries();
  std::uint64_t missing_l2 = 0;
  for (std::uint64_t i1 = first / per_l2; i1 <= last / per_l2 && i1 < l1.size(); ++i1)
    if ((l1[i1] & entry_offset_mask) == 0) ++missing_l2;
  // Refcount blocks for every cluster this write may take, each placed in a free cluster that
  // an existing block describes (alloc_cluster), ahead of the run rather than inside it.
  std::uint64_t need = missing_l2;
  for (std::uint64_t gc = first; gc <= last; ++gc) {
    std::uint64_t e = 0;
    if (auto ec = lookup(gc, e)) return ec;
    auto kind = classify_l2(e);
    if (kind == mapping::unallocated || (kind == mapping::zero && (e & entry_offset_mask) == 0))
      ++need;
  }
  if (need == 0) return {};  // an overwrite in place
  for (std::uint64_t bi = free_hint / rc_per_block;
       bi <= (free_hint + need) / rc_per_block && bi < rt.size(); ++bi) {
    if ((rt[bi] & rt_offset_mask) != 0) continue;
    if (bi == free_hint / rc_per_block) continue;  // alloc_cluster places it in itself
    std::uint64_t at = 0;
    if (auto ec = alloc_cluster(at)) return ec;
    if ((rt[bi] & rt_offset_mask) != 0) {
      // alloc_cluster found the blocks before full and made this one itself, in itself; `at`
      // is not needed after all: give it back (refcount 0 again) rather than leak it.
      rc_block* b = nullptr;
      if (auto ec = load_rc(rt[(at >> cb) / rc_per_block] & rt_offset_mask, b)) return ec;
      refcount_set(b->data, h.refcount_order, (at >> cb) % rc_per_block, 0);
      if (!b->dirty) {
        b->dirty = true;
        ++rc_dirty;
      }
      free_hint = std::min(free_hint, at >> cb);
      break;
    }
    rc_block nb;
    nb.data.resize(cs);
    nb.dirty = true;
    ++rc_dirty;
    rc[at] = std::move(nb);
    rt[bi] = at;
    add_metadata(rc_blocks, at);
    rt_dirty.insert(bi);
  }
  for (std::uint64_t i1 = first / per_l2; i1 <= last / per_l2 && i1 < l1.size(); ++i1) {
    if ((l1[i1] & entry_offset_mask) != 0) continue;
    l2_table* t = nullptr;
    if (auto ec = l2_for_write(i1 * per_l2, t)) return ec;
  }
  return {};
}

std::error_code qcow2_image::impl::allocate_and_write(std::uint64_t gc, std::uint64_t old,
                                                      std::uint64_t within,
                                                      std::span<const std::byte> data) {
  auto kind = classify_l2(old);
  std::uint64_t host = 0;
  // A zero cluster that kept its data cluster (QEMU's preallocated zero) is written in place.
  if (kind == mapping::zero && (old & entry_offset_mask) != 0) {
    host = old & entry_offset_mask;
  } else if (auto ec = alloc_cluster(host)) {
    return ec;
  }
  if (within == 0 && data.size() == cs) {
    if (auto ec = pwrite_full(fd, data, host)) return ec;
  } else {
    // Copy-on-write: the untouched part of the cluster comes from the backing image
    // (unallocated) or is zero (zero cluster).
    bytes buf(cs);
    if (kind == mapping::unallocated) {
      if (auto ec = read_backing(gc << cb, buf)) return ec;
    }
    std::copy(data.begin(), data.end(), buf.begin() + static_cast<std::ptrdiff_t>(within));
    if (auto ec = pwrite_full(fd, buf, host)) return ec;
  }
  l2_table* t = nullptr;  // allocated by prepare_allocation, ahead of the data
  if (auto ec = l2_for_write(gc, t)) return ec;
  t->e[gc % h.l2_entries()] = host | entry_copied;
  if (!t->dirty) {
    t->dirty = true;
    ++l2_dirty;
  }
  return {};
}

std::error_code qcow2_image::impl::mark_zero(std::uint64_t gc) {
  std::uint64_t e = 0;
  if (auto ec = lookup(gc, e)) return ec;
  auto kind = classify_l2(e);
  if (kind == mapping::zero && (e & entry_offset_mask) == 0) return {};
  // Nothing underneath and nothing here: already reads as zeros.
  if (kind == mapping::unallocated && (gc << cb) >= backing_size) return {};
  l2_table* t = nullptr;
  if (auto ec = l2_for_write(gc, t)) return ec;
  if (kind == mapping::data || kind == mapping::compressed || kind == mapping::zero) {
    std::uint64_t host = e & entry_offset_mask;
    if (kind == mapping::compressed) host = 0;  // never reached: compressed images are refused
    if (host) pending_free.push_back(host);
  }
  t->e[gc % h.l2_entries()] = entry_zero;
  if (!t->dirty) {
    t->dirty = true;
    ++l2_dirty;
  }
  return {};
}

// Flush phases (see qcow2.hpp): refcount increments, then mappings, then decrements.
std::error_code qcow2_image::impl::write_back() {
  auto fail = [this](std::error_code ec) {
    broken = true;
    log::storage().error("{}: metadata write failed: {}", path.string(), ec.message());
    return ec;
  };
  // 1. Refcount blocks (new allocations counted) — together with the data already written.
  for (auto& [off, b] : rc) {
    if (!b.dirty) continue;
    if (auto ec = pwrite_full(fd, b.data, off)) return fail(ec);
    b.dirty = false;
  }
  rc_dirty = 0;
  if (auto ec = sync_fd(fd)) return fail(ec);
  // 2. New refcount blocks become reachable only once their contents are durable.
  if (!rt_dirty.empty()) {
    for (auto i : rt_dirty) {
      bytes v(8);
      store_u64(v, 0, rt[i]);
      if (auto ec = pwrite_full(fd, v, h.refcount_table_offset + i * 8)) return fail(ec);
    }
    rt_dirty.clear();
    if (auto ec = sync_fd(fd)) return fail(ec);
  }
  // 3. L2 tables, then L1 entries (new L2 tables are already zero on disk, so any interleaving
  // of these writes is a valid image).
  for (auto& [off, t] : l2) {
    if (!t.dirty) continue;
    if (auto ec = pwrite_full(fd, encode_l2(t.e), off)) return fail(ec);
    t.dirty = false;
  }
  l2_dirty = 0;
  for (auto i : l1_dirty) {
    bytes v(8);
    store_u64(v, 0, l1[i]);
    if (auto ec = pwrite_full(fd, v, h.l1_table_offset + i * 8)) return fail(ec);
  }
  l1_dirty.clear();
  if (auto ec = sync_fd(fd)) return fail(ec);
  // 4. Release clusters no durable mapping references any more. Written without a barrier: if
  // these writes are lost the clusters merely leak.
  if (!pending_free.empty()) {
    std::set<std::uint64_t> touched;
    for (auto host : pending_free) {
      std::uint64_t idx = host >> cb;
      if (idx / rc_per_block >= rt.size()) continue;  // lookup() refuses such entries
      std::uint64_t boff = rt[idx / rc_per_block] & rt_offset_mask;
      rc_block* b = nullptr;
      if (boff == 0 || load_rc(boff, b)) continue;
      auto v = refcount_get(b->data, h.refcount_order, idx % rc_per_block);
      if (v > 0) refcount_set(b->data, h.refcount_order, idx % rc_per_block, v - 1);
      if (v == 1) free_hint = std::min(free_hint, idx);
      touched.insert(boff);
    }
    pending_free.clear();
    for (auto boff : touched) {
      if (auto ec = pwrite_full(fd, rc[boff].data, boff)) return fail(ec);
    }
  }
  return {};
}

std::error_code qcow2_image::flush() {
  auto& s = *p_;
  if (!s.writable) return {};
  std::lock_guard fl(s.flush_mu);
  std::lock_guard lock(s.mu);
  if (s.broken) return std::make_error_code(std::errc::io_error);
  if (!s.meta_dirty()) return sync_fd(s.fd);  // in-place data writes only
  return s.write_back();
}

result<void> create_qcow2(const std::filesystem::path& path, const qcow2_create_options& o) {
  header h;
  h.cluster_bits = o.cluster_bits;
  if (h.cluster_bits < 9 || h.cluster_bits > 21) return error{"cluster_bits outside 9..21"};
  h.size = o.size;
  h.backing_file = o.backing_file;
  h.backing_format = o.backing_format;
  if (!o.backing_file.empty()) {
    std::filesystem::path bp = o.backing_file;
    if (bp.is_relative()) bp = path.parent_path() / bp;
    if (h.backing_format.empty()) {
      auto f = detect_format(bp);
      if (!f) return error{f.error_message()};
      h.backing_format = format_name(*f);
    }
    if (h.size == 0) {
      auto b = open_image(bp, false);
      if (!b) return error{b.error_message()};
      h.size = (*b)->size();
    }
  }
  if (h.size == 0) return error{"qcow2 image size is 0"};
  // QEMU counts disks in 512-byte sectors and ignores a partial last one: round up, as qemu-img
  // create does (the tail past the backing image reads as zeros).
  h.size = (h.size + 511) / 512 * 512;
  const std::uint64_t cs = h.cluster_size();
  // Layout as qemu-img makes it: header, refcount table, first refcount block, L1 table.
  std::uint64_t per_l1 = cs * h.l2_entries();
  h.l1_size = static_cast<std::uint32_t>((h.size + per_l1 - 1) / per_l1);
  std::uint64_t l1_clusters = std::max<std::uint64_t>(1, (h.l1_size * 8ull + cs - 1) / cs);
  // The refcount table is sized once for room for every guest cluster and L2 table twice over
  // (churn, clusters leaked by crashes), so it never has to move.
  const std::uint64_t rc_per_block = cs * 8 / 16;
  std::uint64_t guest_clusters = (h.size + cs - 1) / cs;
  std::uint64_t max_host = 2 * (guest_clusters + h.l1_size) + 64 + l1_clusters;
  std::uint64_t blocks = (max_host + rc_per_block - 1) / rc_per_block;
  std::uint64_t rt_clusters = std::max<std::uint64_t>(1, (blocks * 8 + cs - 1) / cs);
  h.refcount_table_offset = cs;
  h.refcount_table_clusters = static_cast<std::uint32_t>(rt_clusters);
  const std::uint64_t rb = 1 + rt_clusters;  // the first refcount block
  h.l1_table_offset = (rb + 1) * cs;
  h.refcount_order = 4;
  std::uint64_t used = rb + 1 + l1_clusters;
  if (used > rc_per_block)
    return error{"qcow2 metadata does not fit one refcount block: use larger clusters"};
  auto hdr = serialize_header(h);
  if (!hdr) return error{hdr.error_message()};

  bytes img(static_cast<std::size_t>(used * cs));
  std::copy(hdr->begin(), hdr->end(), img.begin());
  store_u64(img, cs, rb * cs);  // refcount table entry 0 → the first refcount block
  auto block = std::span(img).subspan(rb * cs, cs);
  for (std::uint64_t i = 0; i < used; ++i) refcount_set(block, 4, i, 1);

  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return error{path.string() + ": " + std::strerror(errno)};
  auto ec = pwrite_full(fd, img, 0);
  if (!ec) ec = sync_fd(fd);
  ::close(fd);
  if (ec) return error{path.string() + ": " + ec.message()};
  return {};
}

}  // namespace diskless::storage
