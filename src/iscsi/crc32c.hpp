#pragma once
// CRC32C (Castagnoli), the iSCSI header and data digest (RFC 7143 §12.1, RFC 3385).
#include <cstdint>

#include "util/bytes.hpp"

namespace diskless::iscsi {

// Continues a CRC: crc32c_update(0, ...) starts one. The value is the one carried on the wire
// (already complemented), so crc32c(a + b) == crc32c_update(crc32c_update(0, a), b).
std::uint32_t crc32c_update(std::uint32_t crc, byte_span data);
inline std::uint32_t crc32c(byte_span data) {
  return crc32c_update(0, data);
}

}  // namespace diskless::iscsi
