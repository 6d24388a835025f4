#pragma once
// Private state of qcow2_image, shared by qcow2.cpp (I/O paths) and qcow2_meta.cpp (allocation,
// write-back, creation). Not for use outside those files.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
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
