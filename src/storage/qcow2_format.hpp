#pragma once
// qcow2 on-disk structures (QEMU docs/interop/qcow2.txt), as pure functions over bytes.
// Only what a copy-on-write overlay needs: the header (v2 and v3), header extensions, L1/L2 and
// refcount entries. No I/O here; storage/qcow2.hpp does the file work.
#include <cstdint>
#include <optional>
#include <string>

#include "util/bytes.hpp"
#include "util/result.hpp"

namespace diskless::storage::qcow2 {

inline constexpr std::uint32_t magic = 0x514649fb;  // "QFI\xfb"

// Incompatible feature bits (qcow2.txt "Header", bytes 72-79).
inline constexpr std::uint64_t incompat_dirty = 1u << 0;
inline constexpr std::uint64_t incompat_corrupt = 1u << 1;
inline constexpr std::uint64_t incompat_data_file = 1u << 2;
inline constexpr std::uint64_t incompat_compression = 1u << 3;
inline constexpr std::uint64_t incompat_extended_l2 = 1u << 4;

// Header extension types (qcow2.txt "Header extensions").
inline constexpr std::uint32_t ext_end = 0;
inline constexpr std::uint32_t ext_backing_format = 0xe2792aca;
inline constexpr std::uint32_t ext_feature_table = 0x6803f857;

// L1/L2 entry fields (qcow2.txt "Cluster mapping").
inline constexpr std::uint64_t entry_copied = 1ull << 63;      // refcount is exactly 1
inline constexpr std::uint64_t entry_compressed = 1ull << 62;  // L2 only
inline constexpr std::uint64_t entry_zero = 1ull;              // L2 only, v3: reads as zeros
inline constexpr std::uint64_t entry_offset_mask = 0x00fffffffffffe00ull;  // bits 9-55

struct header {
  std::uint32_t version = 3;
  std::uint64_t backing_file_offset = 0;
  std::uint32_t backing_file_size = 0;
  std::uint32_t cluster_bits = 16;
  std::uint64_t size = 0;  // virtual disk size, bytes
  std::uint32_t crypt_method = 0;
  std::uint32_t l1_size = 0;  // entries
  std::uint64_t l1_table_offset = 0;
  std::uint64_t refcount_table_offset = 0;
  std::uint32_t refcount_table_clusters = 0;
  std::uint32_t nb_snapshots = 0;
  std::uint64_t snapshots_offset = 0;
  std::uint64_t incompatible_features = 0;
  std::uint64_t compatible_features = 0;
  std::uint64_t autoclear_features = 0;
  std::uint32_t refcount_order = 4;
  std::uint32_t header_length = 112;
  std::uint8_t compression_type = 0;

  // Filled from the rest of the first cluster by parse_header:
  std::string backing_file;    // "" when none
  std::string backing_format;  // from the 0xe2792aca extension; "" when absent

  std::uint64_t cluster_size() const { return 1ull << cluster_bits; }
  std::uint64_t l2_entries() const { return cluster_size() / 8; }
};

// Parses the header from the image's first cluster (or at least its first 4 KiB plus whatever
// holds the backing file name). Structural errors (bad magic, version, cluster_bits outside
// 9..21, offsets not cluster-aligned, tables that do not fit) are errors with a message.
// Feature checks (encryption, unknown incompatible bits) are separate: check_supported().
result<header> parse_header(byte_span first_cluster);

// "" when this implementation can open the image (writable or not), else why not, phrased for an
// administrator (e.g. "encrypted qcow2 images are not supported").
std::string check_supported(const header& h, bool writable);

// Serializes a v3 header (header_length 112) followed by the backing format extension (when
// backing_format is set), the end marker and the backing file name; backing_file_offset and
// backing_file_size are computed. The result is at most one cluster (error otherwise).
result<bytes> serialize_header(const header& h);

// Refcount of entry i in a refcount block (order 0..6). Out of range → 0.
std::uint64_t refcount_get(byte_span block, std::uint32_t order, std::uint64_t i);
void refcount_set(std::span<std::byte> block, std::uint32_t order, std::uint64_t i,
                  std::uint64_t value);

// How an L2 entry maps a guest cluster.
enum class mapping { unallocated, zero, data, compressed };
mapping classify_l2(std::uint64_t entry);

}  // namespace diskless::storage::qcow2
