// qcow2 metadata checks: every offset read from the image file is checked before it is used
// (qcow2.txt "Host cluster management": a cluster holds metadata or data, never both, and every
// cluster in use is described by the refcount table). A hostile image is refused at open or
// fails the I/O that meets it; nothing is ever read or written through an unchecked offset.
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>

#include "storage/qcow2_impl.hpp"
#include "util/log.hpp"

namespace diskless::storage {

using namespace qcow2;

namespace {
// qcow2.txt "Refcount table": bits 0-8 of an entry are reserved.
constexpr std::uint64_t rt_reserved = 0x1ff;
// qcow2.txt "Cluster mapping": L1 entry bits 1-8 and 56-62, L2 (standard cluster) bits 1-8 and
// 56-61 are reserved and must be zero.
constexpr std::uint64_t l1_reserved = 0x7f000000000001feull;
constexpr std::uint64_t l2_reserved = 0x3f000000000001feull;

bool in_sorted(const std::vector<std::uint64_t>& v, std::uint64_t x) {
  return std::binary_search(v.begin(), v.end(), x);
}

// Sorts the (cluster, index) pairs; names the first two indices that share a cluster.
std::string find_shared(std::vector<std::pair<std::uint64_t, std::uint64_t>>& v, const char* what) {
  std::sort(v.begin(), v.end());
  for (std::size_t i = 1; i < v.size(); ++i)
    if (v[i].first == v[i - 1].first)
      return fmt::format("{} {} and {} point at one cluster ({:#x}): shared metadata", what,
                         v[i - 1].second, v[i].second, v[i].first);
  return {};
}
}  // namespace

const char* qcow2_image::impl::metadata_at(std::uint64_t c) const {
  if (c == 0) return "image header";
  if (c >= l1_first && c < l1_end) return "L1 table";
  if (c >= rt_first && c < rt_end) return "refcount table";
  if (in_sorted(rc_blocks, c)) return "refcount block";
  if (in_sorted(l2_tables, c)) return "L2 table";
  return nullptr;
}

std::string qcow2_image::impl::check_cluster(std::uint64_t off) const {
  if (off & (cs - 1)) return fmt::format("offset {:#x} not cluster-aligned", off);
  std::uint64_t c = off >> cb;
  if (c >= coverage) return fmt::format("offset {:#x} beyond what the refcount table covers", off);
  if (const char* m = metadata_at(c)) return fmt::format("offset {:#x} is in the {}", off, m);
  return {};
}

std::string qcow2_image::impl::check_l2_entry(std::uint64_t e) const {
  if (e & entry_compressed) return "compressed cluster";
  if (e & l2_reserved) return fmt::format("L2 entry {:#x} has reserved bits set", e);
  std::uint64_t off = e & entry_offset_mask;
  return off == 0 ? std::string{} : check_cluster(off);
}

void qcow2_image::impl::add_metadata(std::vector<std::uint64_t>& v, std::uint64_t off) {
  std::uint64_t c = off >> cb;
  v.insert(std::lower_bound(v.begin(), v.end(), c), c);
}

std::error_code qcow2_image::impl::corrupt(std::uint64_t gc, const std::string& why) {
  // Logged once per image: a guest retrying the same sectors must not flood the log.
  if (!corrupt_logged) {
    corrupt_logged = true;
    log::storage().error(
        "{}: corrupt metadata at guest offset {:#x}: {} (I/O refused; repair "
        "with qemu-img check -r all)",
        path.string(), gc << cb, why);
  }
  return std::make_error_code(std::errc::io_error);
}

// The header tables were placed apart by parse_header; here the refcount blocks and the L2
// tables they point at.
std::string qcow2_image::impl::check_layout() {
  l1_first = h.l1_table_offset >> cb;
  l1_end = (h.l1_table_offset + std::uint64_t{h.l1_size} * 8 + cs - 1) >> cb;
  rt_first = h.refcount_table_offset >> cb;
  rt_end = rt_first + h.refcount_table_clusters;
  coverage = rt.size() * rc_per_block;
  struct stat st {};
  std::uint64_t file_size = ::fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> seen;
  auto check = [&](std::uint64_t off) {
    auto why = check_cluster(off);
    if (why.empty() && off >= file_size)
      why = fmt::format("offset {:#x} beyond the end of the file", off);
    return why;
  };
  for (std::uint64_t i = 0; i < rt.size(); ++i) {
    if (rt[i] == 0) continue;
    if (rt[i] & rt_reserved) return fmt::format("refcount table entry {} has reserved bits set", i);
    if (auto why = check(rt[i]); !why.empty())
      return fmt::format("refcount table entry {}: refcount block {}", i, why);
    seen.emplace_back(rt[i] >> cb, i);
  }
  if (auto why = find_shared(seen, "refcount table entries"); !why.empty()) return why;
  for (const auto& s : seen) rc_blocks.push_back(s.first);  // sorted by find_shared
  seen.clear();
  for (std::uint64_t i = 0; i < l1.size(); ++i) {
    if (l1[i] & l1_reserved) return fmt::format("L1 entry {} has reserved bits set", i);
    std::uint64_t off = l1[i] & entry_offset_mask;
    if (off == 0) continue;
    if (auto why = check(off); !why.empty()) return fmt::format("L1 entry {}: L2 table {}", i, why);
    seen.emplace_back(off >> cb, i);
  }
  if (auto why = find_shared(seen, "L1 entries"); !why.empty()) return why;
  for (const auto& s : seen) l2_tables.push_back(s.first);
  return {};
}

std::string qcow2_image::impl::describe(std::uint64_t l2_off, std::uint64_t i1, std::uint64_t j,
                                        std::uint64_t e) const {
  auto why = check_l2_entry(e);
  if (why.empty()) return {};
  return fmt::format("L2 table at {:#x}, entry {} (guest offset {:#x}): {}", l2_off, j,
                     (i1 * h.l2_entries() + j) << cb, why);
}

// Loads L2 tables while they fit the cache and checks their entries: most corrupt images are
// refused here rather than on some later read.
std::string qcow2_image::impl::load_eager() {
  std::uint64_t budget = l2_cache_bytes / cs;
  for (std::uint64_t i1 = 0; i1 < l1.size() && budget > 0; ++i1) {
    std::uint64_t off = l1[i1] & entry_offset_mask;
    if (off == 0) continue;
    --budget;
    l2_table* t = nullptr;
    if (auto ec = load_l2(off, t)) return ec.message();
    for (std::uint64_t j = 0; j < t->e.size(); ++j) {
      if (t->e[j] & entry_compressed)
        return "compressed qcow2 images are not supported (convert with qemu-img convert -O "
               "qcow2, without -c)";
      if (auto why = describe(off, i1, j, t->e[j]); !why.empty()) return why;
    }
  }
  return {};
}

void qcow2_image::impl::evict_clean_l2() {
  // Down to half the budget, so a scan over a large disk does not evict on every load.
  for (auto it = l2.begin(); it != l2.end() && l2.size() * cs > l2_cache_bytes / 2;) {
    if (it->second.dirty)
      ++it;
    else
      it = l2.erase(it);
  }
}

std::vector<std::string> qcow2_image::check_metadata() {
  auto& s = *p_;
  std::vector<std::string> out;
  std::uint64_t compressed = 0;
  std::lock_guard lock(s.mu);
  for (std::uint64_t i1 = 0; i1 < s.l1.size() && out.size() < 16; ++i1) {
    std::uint64_t off = s.l1[i1] & entry_offset_mask;
    if (off == 0) continue;
    impl::l2_table* t = nullptr;
    if (auto ec = s.load_l2(off, t)) {
      out.push_back(fmt::format("L2 table at {:#x}: {}", off, ec.message()));
      continue;
    }
    for (std::uint64_t j = 0; j < t->e.size() && out.size() < 16; ++j) {
      if (t->e[j] & entry_compressed)
        ++compressed;
      else if (auto why = s.describe(off, i1, j, t->e[j]); !why.empty())
        out.push_back(why);
    }
  }
  if (compressed)
    out.push_back(
        fmt::format("{} compressed clusters: compressed qcow2 images are not supported "
                    "(convert with qemu-img convert -O qcow2, without -c)",
                    compressed));
  return out;
}

}  // namespace diskless::storage
