#include "storage/qcow2_format.hpp"

#include <fmt/format.h>

namespace diskless::storage::qcow2 {

namespace {
bool aligned(std::uint64_t off, std::uint32_t bits) {
  return (off & ((1ull << bits) - 1)) == 0;
}

// Header fields after the v2 ones (v3: features, refcount_order, header_length, compression).
std::string parse_v3_fields(byte_reader& r, header& h) {
  if (h.version == 2) {
    // v2: fixed 72-byte header, 16-bit refcounts, no features or extensions length field.
    h.incompatible_features = h.compatible_features = h.autoclear_features = 0;
    h.refcount_order = 4;
    h.header_length = 72;
    return {};
  }
  h.incompatible_features = r.u64();
  h.compatible_features = r.u64();
  h.autoclear_features = r.u64();
  h.refcount_order = r.u32();
  h.header_length = r.u32();
  if (r.ok() && h.header_length < 104)
    return fmt::format("qcow2 header_length {} < 104", h.header_length);
  // Bytes 104..: compression_type only when the header is long enough (qcow2.txt: the
  // additional fields are zero when the header is shorter).
  if (r.ok() && h.header_length > 104) h.compression_type = r.u8();
  return {};
}

// Where the header puts its tables: the header cluster, the L1 table and the refcount table
// are distinct clusters (qcow2.txt "Host cluster management"), all below 2^56 (the largest
// offset an L1/L2 entry can hold).
std::string check_tables(const header& h) {
  const std::uint64_t cs = h.cluster_size();
  if (!aligned(h.l1_table_offset, h.cluster_bits) ||
      !aligned(h.refcount_table_offset, h.cluster_bits))
    return "qcow2 L1 or refcount table not cluster-aligned";
  if (h.refcount_table_clusters == 0) return "qcow2 refcount table is empty";
  // The L1 table must be able to map the whole disk: one entry per L2 table (no overflow: the
  // quotient is rounded up separately).
  std::uint64_t per_l1 = cs * h.l2_entries();
  std::uint64_t needed = h.size / per_l1 + (h.size % per_l1 != 0);
  if (h.l1_size < needed)
    return fmt::format("qcow2 L1 table ({} entries) too small for {} bytes", h.l1_size, h.size);
  if (h.l1_size > (32u << 20) / 8) return "qcow2 L1 table larger than 32 MiB";
  constexpr std::uint64_t limit = 1ull << 56;
  if (h.l1_table_offset >= limit || h.refcount_table_offset >= limit)
    return "qcow2 L1 or refcount table offset beyond 2^56";
  std::uint64_t rt_end = h.refcount_table_offset + std::uint64_t{h.refcount_table_clusters} * cs;
  std::uint64_t l1_end = h.l1_table_offset + std::uint64_t{h.l1_size} * 8;
  if (h.refcount_table_offset < cs) return "qcow2 refcount table overlaps the image header";
  if (h.l1_size == 0) return {};
  if (h.l1_table_offset < cs) return "qcow2 L1 table overlaps the image header";
  if (h.l1_table_offset < rt_end && h.refcount_table_offset < l1_end)
    return "qcow2 L1 table and refcount table overlap";
  return {};
}

// Header extensions (v3 after header_length; v2 right after the 72-byte header), up to the end
// marker, then the backing file name. Each extension: type u32, length u32, data padded to 8.
std::string parse_tail(byte_span b, header& h) {
  std::size_t pos = h.header_length;
  while (pos + 8 <= b.size()) {
    byte_reader e(b.subspan(pos));
    std::uint32_t type = e.u32();
    std::uint32_t len = e.u32();
    if (type == ext_end) break;
    auto data = e.take(len);
    if (!e.ok()) return "qcow2 header extension runs past the first cluster";
    if (type == ext_backing_format) h.backing_format = to_string(data);
    pos += 8 + ((std::size_t{len} + 7) & ~std::size_t{7});
  }
  // Trim a NUL-padded format name.
  while (!h.backing_format.empty() && h.backing_format.back() == '\0') h.backing_format.pop_back();
  if (h.backing_file_offset == 0) return {};
  if (h.backing_file_size == 0 || h.backing_file_size > 1023)
    return "qcow2 backing file name length out of range";
  // Compared without adding: a hostile offset near 2^64 must not wrap around.
  if (h.backing_file_offset > b.size() || h.backing_file_size > b.size() - h.backing_file_offset)
    return "qcow2 backing file name beyond the first cluster";
  h.backing_file = to_string(b.subspan(h.backing_file_offset, h.backing_file_size));
  return {};
}
}  // namespace

result<header> parse_header(byte_span b) {
  byte_reader r(b);
  header h;
  if (r.u32() != magic) return error{"not a qcow2 image (bad magic)"};
  h.version = r.u32();
  if (!r.ok()) return error{"qcow2 header truncated"};
  if (h.version != 2 && h.version != 3)
    return error{fmt::format("unsupported qcow2 version {}", h.version)};
  h.backing_file_offset = r.u64();
  h.backing_file_size = r.u32();
  h.cluster_bits = r.u32();
  h.size = r.u64();
  h.crypt_method = r.u32();
  h.l1_size = r.u32();
  h.l1_table_offset = r.u64();
  h.refcount_table_offset = r.u64();
  h.refcount_table_clusters = r.u32();
  h.nb_snapshots = r.u32();
  h.snapshots_offset = r.u64();
  if (auto why = parse_v3_fields(r, h); !why.empty()) return error{why};
  if (!r.ok()) return error{"qcow2 header truncated"};
  if (h.cluster_bits < 9 || h.cluster_bits > 21)
    return error{fmt::format("qcow2 cluster_bits {} outside 9..21", h.cluster_bits)};
  if (h.refcount_order > 6)
    return error{fmt::format("qcow2 refcount_order {} > 6", h.refcount_order)};
  if (h.header_length > h.cluster_size() || h.header_length > b.size())
    return error{"qcow2 header_length beyond the first cluster"};
  if (auto why = check_tables(h); !why.empty()) return error{why};
  if (auto why = parse_tail(b, h); !why.empty()) return error{why};
  return h;
}

std::string check_supported(const header& h, bool writable) {
  if (h.crypt_method != 0)
    return "encrypted qcow2 images are not supported (decrypt with qemu-img convert)";
  constexpr std::uint64_t known = incompat_dirty | incompat_corrupt | incompat_data_file |
                                  incompat_compression | incompat_extended_l2;
  if (h.incompatible_features & ~known)
    return fmt::format("qcow2 image uses unknown incompatible features {:#x}",
                       h.incompatible_features & ~known);
  if (h.incompatible_features & incompat_corrupt)
    return "qcow2 image is marked corrupt (repair with qemu-img check -r all)";
  if (h.incompatible_features & incompat_data_file)
    return "qcow2 images with an external data file are not supported";
  if (h.incompatible_features & incompat_compression)
    return "qcow2 images with a non-zlib compression type are not supported";
  if (h.incompatible_features & incompat_extended_l2)
    return "qcow2 images with extended L2 entries (subclusters) are not supported";
  if (h.incompatible_features & incompat_dirty)
    return "qcow2 image has the dirty bit set (lazy refcounts not written back; repair with "
           "qemu-img check -r all)";
  if (writable) {
    if (h.version != 3) return "qcow2 v2 images are opened read-only (upgrade with qemu-img amend)";
    if (h.refcount_order != 4)
      return fmt::format("writing qcow2 images with {}-bit refcounts is not supported",
                         1u << h.refcount_order);
    if (h.nb_snapshots != 0) return "writing qcow2 images with internal snapshots is not supported";
  }
  return {};
}

result<bytes> serialize_header(const header& h) {
  byte_writer w(512);
  w.u32(magic).u32(3);
  std::size_t backing_off_pos = w.size();
  w.u64(0).u32(0);  // backing file offset/size, patched below
  w.u32(h.cluster_bits).u64(h.size).u32(0);
  w.u32(h.l1_size).u64(h.l1_table_offset).u64(h.refcount_table_offset);
  w.u32(h.refcount_table_clusters).u32(0).u64(0);
  w.u64(h.incompatible_features).u64(h.compatible_features).u64(h.autoclear_features);
  w.u32(h.refcount_order).u32(112);
  w.u8(0).zeros(7);  // compression_type zlib + padding to 112
  if (!h.backing_format.empty()) {
    w.u32(ext_backing_format).u32(static_cast<std::uint32_t>(h.backing_format.size()));
    w.append(h.backing_format);
    w.zeros((8 - h.backing_format.size() % 8) % 8);
  }
  w.u32(ext_end).u32(0);
  bytes out = w.take();
  if (!h.backing_file.empty()) {
    if (h.backing_file.size() > 1023) return error{"backing file name longer than 1023 bytes"};
    std::uint64_t off = out.size();
    store_u64(out, backing_off_pos, off);
    store_u32(out, backing_off_pos + 8, static_cast<std::uint32_t>(h.backing_file.size()));
    for (char c : h.backing_file) out.push_back(static_cast<std::byte>(c));
  }
  if (out.size() > h.cluster_size()) return error{"qcow2 header does not fit in one cluster"};
  return out;
}

std::uint64_t refcount_get(byte_span block, std::uint32_t order, std::uint64_t i) {
  const std::uint32_t bits = 1u << order;
  if (bits < 8) {
    // Sub-byte refcounts are packed starting at the least significant bits of each byte.
    std::uint64_t byte = i * bits / 8;
    if (byte >= block.size()) return 0;
    unsigned shift = static_cast<unsigned>((i * bits) % 8);
    return (std::to_integer<unsigned>(block[byte]) >> shift) & ((1u << bits) - 1);
  }
  std::uint64_t width = bits / 8;
  std::uint64_t pos = i * width;
  if (pos + width > block.size()) return 0;
  std::uint64_t v = 0;
  for (std::uint64_t k = 0; k < width; ++k)
    v = (v << 8) | std::to_integer<unsigned>(block[pos + k]);
  return v;
}

void refcount_set(std::span<std::byte> block, std::uint32_t order, std::uint64_t i,
                  std::uint64_t value) {
  const std::uint32_t bits = 1u << order;
  if (bits < 8) {
    std::uint64_t byte = i * bits / 8;
    if (byte >= block.size()) return;
    unsigned shift = static_cast<unsigned>((i * bits) % 8);
    unsigned mask = ((1u << bits) - 1) << shift;
    unsigned old = std::to_integer<unsigned>(block[byte]);
    block[byte] = static_cast<std::byte>((old & ~mask) | ((value << shift) & mask));
    return;
  }
  std::uint64_t width = bits / 8;
  std::uint64_t pos = i * width;
  if (pos + width > block.size()) return;
  for (std::uint64_t k = width; k-- > 0;) {
    block[pos + k] = static_cast<std::byte>(value & 0xff);
    value >>= 8;
  }
}

mapping classify_l2(std::uint64_t entry) {
  if (entry & entry_compressed) return mapping::compressed;
  if (entry & entry_zero) return mapping::zero;
  if ((entry & entry_offset_mask) == 0) return mapping::unallocated;
  return mapping::data;
}

}  // namespace diskless::storage::qcow2
