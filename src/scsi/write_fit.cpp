#include "scsi/write_fit.hpp"

#include <algorithm>

#include "scsi/cdb.hpp"

namespace diskless::scsi {
namespace {

// The CDB length of WRITE and WRITE AND VERIFY, 0 for other commands.
std::size_t plain_write_length(std::uint8_t opcode) {
  switch (opcode) {
    case op::write6:
      return 6;
    case op::write10:
    case op::write_verify10:
      return 10;
    case op::write12:
    case op::write_verify12:
      return 12;
    case op::write16:
    case op::write_verify16:
      return 16;
    default:
      return 0;
  }
}

// TRANSFER LENGTH: WRITE(6) byte 4, (10) bytes 7-8, (12) bytes 6-9, (16) bytes 10-13 (SBC-3
// §5.34-5.37, §5.40-5.42).
void set_transfer_length(bytes& cdb, std::uint32_t blocks) {
  switch (std::to_integer<std::uint8_t>(cdb[0])) {
    case op::write6:
      cdb[4] = std::byte(blocks);
      break;
    case op::write10:
    case op::write_verify10:
      store_u16(cdb, 7, static_cast<std::uint16_t>(blocks));
      break;
    case op::write12:
    case op::write_verify12:
      store_u32(cdb, 6, blocks);
      break;
    default:
      store_u32(cdb, 10, blocks);
  }
}

}  // namespace

write_fit fit_write_to_expected_length(task& t, std::uint32_t block_size) {
  if (t.cdb.empty() || block_size == 0) return {};
  const std::size_t need = plain_write_length(std::to_integer<std::uint8_t>(t.cdb[0]));
  if (need == 0 || t.cdb.size() < need) return {};  // not a write, or a truncated CDB
  auto b = decode_block_cdb(t.cdb);
  if (!b) return {};
  // The transfer length in bytes, unsaturated (data_out_length's value before it is clamped).
  const std::uint64_t tl = std::uint64_t{b->blocks} * block_size, edtl = t.expected_length;
  if (tl == edtl) return {};
  write_fit f;
  if (edtl > tl) {
    f.underflow = static_cast<std::uint32_t>(edtl - tl);
    t.data_out.resize(tl);
    return f;
  }
  f.overflow = static_cast<std::uint32_t>(std::min<std::uint64_t>(tl - edtl, 0xffffffffu));
  const std::uint64_t fit = edtl / block_size;
  const bool six = std::to_integer<std::uint8_t>(t.cdb[0]) == op::write6;
  if (fit == 0) {
    f.nothing_fits = true;
    return f;
  }
  if (six && fit >= 256) return f;
  t.data_out.resize(fit * block_size);
  set_transfer_length(t.cdb, static_cast<std::uint32_t>(fit));
  return f;
}

}  // namespace diskless::scsi
