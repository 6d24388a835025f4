#pragma once
// qcow2 images as block_devices: reading any plain qcow2 v2/v3 image (backing chains of raw or
// qcow2), and writing v3 images with 16-bit refcounts — the file format of the
// per-host copy-on-write overlays (src/disks/README.md).
//
// Write ordering (why a kill -9 or power loss leaves only leaked clusters, never corruption):
//   - guest data of a newly allocated cluster (with the copy-on-write of its untouched part from
//     the backing image) and new L2 tables (zero-filled) are written at once, to clusters whose
//     refcount is raised only in memory;
//   - flush(): dirty refcount blocks → fdatasync → [refcount table entries → fdatasync] → dirty
//     L2 tables and L1 entries → fdatasync → only then are clusters released by discard
//     decremented (so no durable L2 entry ever points at a free or reused cluster).
//   A cluster freed by discard is reused only after the L2 change that freed it is durable.
// Writes into already allocated clusters go straight to the file (outside the metadata lock).
// A write acknowledged and followed by flush() (or made with fua) is durable; metadata of
// unflushed allocations lives in memory and is written back at flush(), when too much is dirty,
// and on destruction.
//
// Thread-safety: every method may be called concurrently from io_pool threads. Metadata (L1, L2
// cache, refcounts) is guarded by one mutex; in-place data I/O runs without it.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "storage/block_device.hpp"
#include "storage/qcow2_format.hpp"
#include "util/result.hpp"

namespace diskless::storage {

struct qcow2_create_options {
  std::uint64_t size = 0;           // virtual size in bytes, rounded up to 512 (as qemu-img
                                    // does); 0: the backing image's size
  std::string backing_file;         // stored as given (QEMU resolves relative names against the
                                    // overlay's directory); "" for none
  std::string backing_format;       // "raw" or "qcow2"; "" = detect from the backing file
  std::uint32_t cluster_bits = 16;  // 64 KiB clusters, like qemu-img
};

// Creates path (replacing any file there) as an empty qcow2 v3 image and fsyncs it.
result<void> create_qcow2(const std::filesystem::path& path, const qcow2_create_options& o);

struct qcow2_open_options {
  bool writable = false;
  // Use this device as the backing image instead of opening the file named in the header
  // (the disk catalog passes the shared golden image).
  std::shared_ptr<block_device> backing;
  // Take an exclusive flock on the image file for the device's lifetime; fails at once if
  // another open file description holds one (the CLI's "host is logged in" probe).
  bool lock = false;
  // Do not open the backing file at all (metadata inspection, commit): unallocated clusters then
  // read as zeros.
  bool no_backing = false;
  // Images above this one in a backing chain (set by storage::open_image when it opens a
  // backing file); a chain deeper than 16 is refused.
  int chain_depth = 0;
  // Memory for cached L2 tables: loaded at open up to this much, then on demand, clean tables
  // evicted when it is reached (dirty ones stay until written back). At least one is kept.
  std::uint64_t l2_cache_bytes = 32u << 20;
};

// Usage figures for `diskless overlay list`.
struct qcow2_usage {
  std::uint64_t guest_clusters = 0;      // clusters of the virtual disk
  std::uint64_t allocated_clusters = 0;  // guest clusters with their own data
  std::uint64_t zero_clusters = 0;       // guest clusters marked zero (discarded)
  std::uint64_t cluster_size = 0;
};

class qcow2_image;

// Opens a qcow2 image. Compressed clusters, encryption, unknown incompatible features, external
// data files, subclusters are refused with a message saying so; so is writing v2 images, images
// with snapshots or with refcounts other than 16 bits.
result<std::shared_ptr<qcow2_image>> open_qcow2(const std::filesystem::path& path,
                                                const qcow2_open_options& o);

class qcow2_image final : public block_device {
 public:
  ~qcow2_image() override;  // flushes metadata (errors logged), releases the lock

  std::uint64_t size() const override;
  bool read_only() const override;
  std::error_code read(std::uint64_t offset, std::span<std::byte> out) override;
  // Completes only from memory: cached L2 tables (metadata lock taken with try_lock), the
  // backing device's own try_read_cached for unallocated clusters, preadv2(RWF_NOWAIT) for data
  // clusters. Declines (false) on anything that would wait.
  bool try_read_cached(std::uint64_t offset, std::span<std::byte> out) override;
  // A range that maps, through cached L2 tables only, to one contiguous run of data clusters in
  // this file, or lies wholly in unallocated clusters over a backing device that has a file run
  // for it. Declines (fd = -1) on zero clusters, mixed or split runs, and anything uncached.
  file_extent file_for(std::uint64_t offset, std::uint64_t length) override;
  std::error_code write(std::uint64_t offset, std::span<const std::byte> in,
                        bool fua = false) override;
  std::error_code flush() override;
  std::error_code discard(std::uint64_t offset, std::uint64_t length) override;

  const qcow2::header& header() const;
  qcow2_usage usage();
  // Calls f(offset, length, zero) for every guest range this image itself defines (data or zero
  // clusters, in ascending order, adjacent clusters of one kind merged), i.e. what differs from
  // the backing image. Stops at the first error f returns.
  std::error_code for_each_defined(
      const std::function<std::error_code(std::uint64_t, std::uint64_t, bool)>& f);
  // Every L2 entry checked (open_qcow2 checks only those it loads eagerly): corrupt entries
  // (at most 16 named) and a count of compressed clusters, phrased for an administrator.
  std::vector<std::string> check_metadata();

  struct impl;
  explicit qcow2_image(std::unique_ptr<impl> p);

 private:
  std::unique_ptr<impl> p_;
};

}  // namespace diskless::storage
