#pragma once
// Private state of qcow2_image, shared by qcow2.cpp (I/O paths) and qcow2_meta.cpp (allocation,
// write-back, creation). Not for use outside those files.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "storage/qcow2.hpp"
#include "util/bytes.hpp"

namespace diskless::storage {

std::error_code pread_zero_fill(int fd, std::span<std::byte> out, std::uint64_t off);
std::error_code pwrite_full(int fd, std::span<const std::byte> in, std::uint64_t off);
std::error_code sync_fd(int fd);

struct qcow2_image::impl {
  std::filesystem::path path;
  int fd = -1;
  bool writable = false;
  qcow2::header h;
  std::uint64_t cs = 0;  // cluster size
  std::uint32_t cb = 0;  // cluster bits
  std::uint64_t rc_per_block = 0;
  std::shared_ptr<block_device> backing;
  std::uint64_t backing_size = 0;
  std::atomic<bool> nowait_ok{true};  // preadv2(RWF_NOWAIT) supported on fd

  struct l2_table {
    std::vector<std::uint64_t> e;
    bool dirty = false;
  };
  struct rc_block {
    bytes data;
    bool dirty = false;
  };

  std::mutex flush_mu;  // serialises flush() (taken before mu)
  std::mutex mu;        // everything below
  std::vector<std::uint64_t> l1;
  std::set<std::uint64_t> l1_dirty;
  std::unordered_map<std::uint64_t, l2_table> l2;  // by file offset; never evicted
  std::size_t l2_dirty = 0;
  std::vector<std::uint64_t> rt;  // refcount table
  std::set<std::uint64_t> rt_dirty;
  std::unordered_map<std::uint64_t, rc_block> rc;  // by file offset
  std::size_t rc_dirty = 0;
  // Clusters whose last reference was dropped from an L2 table not yet written back: they are
  // decremented only after that L2 table is durable (flush phase 4).
  std::vector<std::uint64_t> pending_free;
  std::uint64_t free_hint = 0;  // no free cluster below this index
  bool broken = false;          // a metadata write failed: refuse further writes
  std::uint64_t l2_cache_bytes = 0;

  // Where the metadata lives, as cluster indices (qcow2.txt: a cluster holds metadata or data,
  // never both). Filled by check_layout at open, kept up to date by allocation.
  std::uint64_t l1_first = 0, l1_end = 0, rt_first = 0, rt_end = 0;
  std::vector<std::uint64_t> rc_blocks, l2_tables;  // sorted
  std::uint64_t coverage = 0;                       // clusters the refcount table describes
  bool corrupt_logged = false;

  // qcow2_check.cpp. The name of the metadata in cluster c, nullptr when none.
  const char* metadata_at(std::uint64_t c) const;
  // "" when a host offset may hold a cluster of its own (aligned, described by the refcount
  // table, not metadata), else why not.
  std::string check_cluster(std::uint64_t off) const;
  // "" when an L2 entry maps soundly; compressed entries are reported as such.
  std::string check_l2_entry(std::uint64_t e) const;
  // check_l2_entry phrased with the table and guest offset; "" when sound.
  std::string describe(std::uint64_t l2_off, std::uint64_t i1, std::uint64_t j,
                       std::uint64_t e) const;
  void add_metadata(std::vector<std::uint64_t>& v, std::uint64_t off);
  // At open (l1 and rt read): refcount blocks and L2 tables checked and recorded; "" or why not.
  std::string check_layout();
  // At open: L2 tables loaded up to l2_cache_bytes and their entries checked.
  std::string load_eager();
  void evict_clean_l2();
  // A corrupt entry met on use: logged (once), an I/O error for the caller.
  std::error_code corrupt(std::uint64_t guest_cluster, const std::string& why);

  // All with mu held.
  std::error_code load_l2(std::uint64_t off, l2_table*& out);
  std::error_code lookup(std::uint64_t guest_cluster, std::uint64_t& entry);
  // The same from cached L2 tables only: false when the L2 table is not in memory.
  bool lookup_cached(std::uint64_t guest_cluster, std::uint64_t& entry) const;
  std::error_code read_backing(std::uint64_t guest, std::span<std::byte> out);
  std::error_code load_rc(std::uint64_t off, rc_block*& out);
  std::error_code alloc_cluster(std::uint64_t& host_off);
  std::error_code l2_for_write(std::uint64_t guest_cluster, l2_table*& t);
  std::error_code allocate_and_write(std::uint64_t guest_cluster, std::uint64_t old_entry,
                                     std::uint64_t within, std::span<const std::byte> data);
  std::error_code mark_zero(std::uint64_t guest_cluster);
  // Before a write of guest clusters [first, last] allocates: the refcount blocks the next
  // clusters will need and the missing L2 tables, so its data clusters follow in one run.
  std::error_code prepare_allocation(std::uint64_t first, std::uint64_t last);
  // Write metadata back by itself beyond 16 MiB of dirty L2 tables or many pending frees (bounds
  // what a crash without a guest flush may lose, and memory held by pending frees).
  bool too_dirty() const { return l2_dirty * cs > (16u << 20) || pending_free.size() > 65536; }
  bool meta_dirty() const {
    return l2_dirty || rc_dirty || !l1_dirty.empty() || !rt_dirty.empty() || !pending_free.empty();
  }
  std::error_code write_back();  // flush phases 1-4 (mu held)
};

}  // namespace diskless::storage
