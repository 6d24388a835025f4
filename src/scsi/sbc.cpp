// The block commands of disk_unit (SBC-3 §5): range checks and field validation on the loop, the
// I/O itself on the io_pool.
#include <algorithm>
#include <cstring>

#include "scsi/disk_unit.hpp"
#include "util/log.hpp"

namespace diskless::scsi {

namespace {

// Reads up to this size are first tried on the loop (page-cache hits, see disk_unit::read).
constexpr std::size_t inline_read_max = std::size_t{1} << 20;
// Reads from this size on are sent straight from the image file when the transport can: below
// it the copy is cheaper than the transport's extra hand-off to the pool.
constexpr std::size_t file_data_min = 64 << 10;

std::uint8_t at(byte_span b, std::size_t i) {
  return i < b.size() ? std::to_integer<std::uint8_t>(b[i]) : 0;
}

task_result read_error() {
  return check_condition(sense_key::medium_error, asc::unrecovered_read_error);
}
task_result write_error() {
  return check_condition(sense_key::medium_error, asc::write_error);
}

task_result short_data_out() {
  return check_condition(sense_key::illegal_request,
                         asc::invalid_field_in_command_information_unit);
}

task_result miscompare(std::uint32_t offset) {
  return check_condition(
      sense_data{sense_key::miscompare, asc::miscompare_during_verify, offset, {}});
}

// Where the TRANSFER LENGTH / NUMBER OF LOGICAL BLOCKS field sits, for field pointers.
std::uint16_t length_byte(std::uint8_t opcode) {
  switch (opcode >> 5) {
    case 0:
      return 4;
    case 1:
    case 2:
      return 7;
    case 5:
      return 6;
    default:
      return opcode == op::compare_and_write ? 13 : 10;
  }
}

// Offset of the first differing byte, or nullopt when equal.
std::optional<std::uint32_t> first_difference(byte_span a, byte_span b) {
  std::size_t n = std::min(a.size(), b.size());
  if (std::memcmp(a.data(), b.data(), n) == 0) return std::nullopt;
  for (std::size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return static_cast<std::uint32_t>(i);
  return std::nullopt;
}

struct io_result {
  std::error_code ec;
  bytes data;
  std::optional<std::uint32_t> mismatch;
};
// Keeps a READ's range locked and its device open while the transport sends file_data.
struct range_hold {
  range_hold(disk_unit::range_release end, std::shared_ptr<storage::block_device> dev,
             std::shared_ptr<const void> keep)
      : end(std::move(end)), dev(std::move(dev)), keep(std::move(keep)) {}
  ~range_hold() { end(); }
  range_hold(const range_hold&) = delete;
  range_hold& operator=(const range_hold&) = delete;
  disk_unit::range_release end;
  std::shared_ptr<storage::block_device> dev;
  std::shared_ptr<const void> keep;  // block_device::file_extent::keep
};

struct read_result {
  byte_buffer data;  // from for_overwrite: fully written by a successful read
  std::error_code ec;
};

}  // namespace

std::optional<task_result> disk_unit::check_range(std::uint64_t lba, std::uint64_t blocks) const {
  // SBC-3 §4.5: LBA + length beyond the capacity is LOGICAL BLOCK ADDRESS OUT OF RANGE.
  if (lba > info_.blocks || blocks > info_.blocks - lba) return lba_out_of_range();
  return std::nullopt;
}

void disk_unit::read(const command_info& c, task t, completion done) {
  auto b = *decode_block_cdb(t.cdb);
  // SBC-3 §4.22.2: without protection information (PROTECT = 0) RDPROTECT must be 0.
  if (b.protect != 0) return done(invalid_field_in_cdb(1, 7));
  if (auto e = check_range(b.lba, b.blocks)) return done(std::move(*e));
  if (b.blocks == 0) return done(good());
  if (b.blocks > info_.max_transfer_blocks)
    return done(invalid_field_in_cdb(length_byte(c.opcode)));
  std::uint64_t off = b.lba * info_.block_size;
  std::size_t len = std::size_t{b.blocks} * info_.block_size;
  const bool file_ok = t.file_data_ok && len >= file_data_min;
  with_range(
      b.lba, b.blocks, false,
      [this, off, len, file_ok, done = std::move(done)](range_handle h) mutable {
        if (auto fe = file_ok ? dev_->file_for(off, len) : storage::block_device::file_extent{};
            fe.fd >= 0) {
          // Zero copy: the transport sends the bytes from the file; the range stays
          // locked until it drops the hold (then the bytes are on the wire), which keeps
          // discards (exclusive, see unmap) from freeing the run meanwhile.
          task_result r;
          r.file_in = {
              std::make_shared<range_hold>(range_release(this, h), dev_, std::move(fe.keep)), fe.fd,
              fe.offset, len};
          return done(std::move(r));
        }
        // A page-cache hit completes here on the loop (one preadv2 with RWF_NOWAIT);
        // anything that would wait for the disk goes to the pool.
        if (len <= inline_read_max) {
          auto data = byte_buffer::for_overwrite(len);
          if (dev_->try_read_cached(off, data)) {
            release(h);
            return done(good(std::move(data)));
          }
        }
        pool_.submit(
            [dev = dev_, off, len] {
              read_result r{byte_buffer::for_overwrite(len), {}};
              r.ec = dev->read(off, r.data);
              return r;
            },
            releasing(h, [done = std::move(done)](read_result r) mutable {
              if (r.ec) {
                log::scsi().warn("read failed: {}", r.ec.message());
                return done(read_error());
              }
              done(good(std::move(r.data)));
            }));
      });
}

void disk_unit::write(const command_info& c, task t, completion done) {
  auto b = *decode_block_cdb(t.cdb);
  bool wav = c.opcode == op::write_verify10 || c.opcode == op::write_verify12 ||
             c.opcode == op::write_verify16;
  if (b.protect != 0) return done(invalid_field_in_cdb(1, 7));
  if (wav && b.bytchk > 1) return done(invalid_field_in_cdb(1, 2));
  if (info_.read_only) return done(write_protected());
  if (auto e = check_range(b.lba, b.blocks)) return done(std::move(*e));
  if (b.blocks == 0) return done(good());
  if (b.blocks > info_.max_transfer_blocks)
    return done(invalid_field_in_cdb(length_byte(c.opcode)));
  std::size_t len = std::size_t{b.blocks} * info_.block_size;
  if (t.data_out.size() < len) {
    // The initiator sent less data than the CDB describes (expected transfer length too small):
    // nothing is written (FCP-4 §9.4.2 b, which libiscsi's residual tests accept). More data than
    // described is cut to the transfer length (the transport reports the underflow).
    return done(short_data_out());
  }
  t.data_out.resize(len);
  std::uint64_t off = b.lba * info_.block_size;
  bool fua = b.fua && !wav;
  with_range(b.lba, b.blocks, false,
             [this, off, fua, data = std::move(t.data_out),
              done = std::move(done)](range_handle h) mutable {
               pool_.submit([dev = dev_, off, fua,
                             data = std::move(data)] { return dev->write(off, data, fua); },
                            releasing(h, [done = std::move(done)](std::error_code ec) mutable {
                              if (ec) {
                                log::scsi().warn("write failed: {}", ec.message());
                                return done(write_error());
                              }
                              done(good());
                            }));
             });
}

void disk_unit::verify(const command_info& c, task t, completion done) {
  // SBC-3 §5.33-5.35. BYTCHK 0: check the medium is readable; 1: compare with the data-out
  // buffer; 3: compare every block with the one block sent; 2 is reserved.
  auto b = *decode_block_cdb(t.cdb);
  if (b.protect != 0) return done(invalid_field_in_cdb(1, 7));
  if (b.bytchk == 2) return done(invalid_field_in_cdb(1, 2));
  if (auto e = check_range(b.lba, b.blocks)) return done(std::move(*e));
  if (b.blocks == 0) return done(good());
  if (b.blocks > info_.max_transfer_blocks)
    return done(invalid_field_in_cdb(length_byte(c.opcode)));
  std::size_t len = std::size_t{b.blocks} * info_.block_size;
  std::size_t need = b.bytchk == 1 ? len : b.bytchk == 3 ? info_.block_size : 0;
  if (t.data_out.size() < need) return done(short_data_out());
  t.data_out.resize(need);
  std::uint64_t off = b.lba * info_.block_size;
  std::uint32_t bs = info_.block_size;
  with_range(b.lba, b.blocks, false,
             [this, off, len, bs, bytchk = b.bytchk, data = std::move(t.data_out),
              done = std::move(done)](range_handle h) mutable {
               pool_.submit(
                   [dev = dev_, off, len, bs, bytchk, data = std::move(data)] {
                     io_result r;
                     bytes medium(len);
                     r.ec = dev->read(off, medium);
                     if (r.ec || bytchk == 0) return r;
                     if (bytchk == 1) {
                       r.mismatch = first_difference(data, medium);
                     } else {
                       for (std::size_t pos = 0; pos < len && !r.mismatch; pos += bs) {
                         if (auto d = first_difference(data, byte_span(medium).subspan(pos, bs)))
                           r.mismatch = static_cast<std::uint32_t>(pos + *d);
                       }
                     }
                     return r;
                   },
                   releasing(h, [done = std::move(done)](io_result r) mutable {
                     if (r.ec) return done(read_error());
                     if (r.mismatch) return done(miscompare(*r.mismatch));
                     done(good());
                   }));
             });
}

void disk_unit::write_same(const command_info& c, task t, completion done) {
  // SBC-3 §5.41/5.42 (+ NDOB from SBC-4 §5.50).
  auto b = *decode_block_cdb(t.cdb);
  if (b.protect != 0) return done(invalid_field_in_cdb(1, 7));
  if (b.anchor) return done(invalid_field_in_cdb(1, 4));  // ANC_SUP = 0
  if (b.lbdata) return done(invalid_field_in_cdb(1, 2));  // LBDATA/PBDATA are obsolete
  if (info_.read_only) return done(write_protected());
  // WSNZ = 0 (VPD B0h): zero blocks means from the LBA to the end of the medium (SBC-3 §5.41).
  if (b.blocks == 0) {
    if (b.lba >= info_.blocks) return done(lba_out_of_range());
    b.blocks = static_cast<std::uint32_t>(
        std::min<std::uint64_t>(info_.blocks - b.lba, info_.max_write_same_blocks + 1));
  }
  if (auto e = check_range(b.lba, b.blocks)) return done(std::move(*e));
  if (b.blocks > info_.max_write_same_blocks)
    return done(invalid_field_in_cdb(length_byte(c.opcode)));
  bytes block;
  if (b.ndob) {
    block.assign(info_.block_size, std::byte{0});
  } else {
    // Exactly one block of data-out: a different amount means the initiator and the CDB
    // disagree, and guessing which block was meant could write garbage over a whole range.
    if (t.data_out.size() != info_.block_size) return done(short_data_out());
    block.assign(t.data_out.begin(), t.data_out.begin() + info_.block_size);
  }
  // UNMAP = 1 asks for the range to be unmapped (SBC-3 §5.42, §4.7.3.4), and on this thin unit
  // it is, whatever the data-out block holds: afterwards it reads as zeros (LBPRZ = 1), as with
  // Linux LIO and tgt and as libiscsi's WriteSame*.Unmap* tests expect. Initiators send a zero
  // block with UNMAP (Linux discards, Windows trim), so both readings agree in practice.
  bool discard = b.unmap && info_.thin;
  std::uint64_t off = b.lba * info_.block_size;
  std::uint64_t total = b.blocks * std::uint64_t{info_.block_size};
  with_range(b.lba, b.blocks, discard,  // exclusive when discarding: see unmap
             [this, off, total, discard, block = std::move(block),
              done = std::move(done)](range_handle h) mutable {
               pool_.submit(
                   [dev = dev_, off, total, discard, block = std::move(block)] {
                     if (discard) return dev->discard(off, total);
                     // Write the pattern in chunks of up to 1 MiB.
                     std::size_t bs = block.size();
                     std::size_t per = std::max<std::size_t>(1, (1u << 20) / bs);
                     bytes chunk;
                     chunk.reserve(per * bs);
                     for (std::size_t i = 0; i < per && i * bs < total; ++i)
                       chunk.insert(chunk.end(), block.begin(), block.end());
                     for (std::uint64_t pos = 0; pos < total;) {
                       std::size_t n = static_cast<std::size_t>(
                           std::min<std::uint64_t>(total - pos, chunk.size()));
                       if (auto ec = dev->write(off + pos, byte_span(chunk).first(n))) return ec;
                       pos += n;
                     }
                     return std::error_code{};
                   },
                   releasing(h, [done = std::move(done)](std::error_code ec) mutable {
                     if (ec) return done(write_error());
                     done(good());
                   }));
             });
}

void disk_unit::unmap(task t, completion done) {
  // SBC-3 §5.28.
  const byte_span cdb = t.cdb;
  if (at(cdb, 1) & 0x01) return done(invalid_field_in_cdb(1, 0));  // ANCHOR: ANC_SUP = 0
  if (info_.read_only) return done(write_protected());
  std::size_t len = load_u16(cdb, 7);
  if (len == 0) return done(good());
  if (len < 8 || t.data_out.size() < len)
    return done(check_condition(sense_key::illegal_request, asc::parameter_list_length_error));
  byte_span params = byte_span(t.data_out).first(len);
  std::size_t bddl = load_u16(params, 2);
  std::size_t n = std::min(bddl, len - 8) / 16;
  if (n > info_.max_unmap_descriptors) return done(invalid_field_in_parameter_list(2));
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;  // byte offset, byte length
  std::uint64_t lo = UINT64_MAX, hi = 0, sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t lba = load_u64(params, 8 + i * 16);
    std::uint32_t count = load_u32(params, 8 + i * 16 + 8);
    if (auto e = check_range(lba, count)) return done(std::move(*e));
    sum += count;
    if (sum > info_.max_unmap_blocks)
      return done(invalid_field_in_parameter_list(static_cast<std::uint16_t>(8 + i * 16 + 8)));
    if (count == 0) continue;
    lo = std::min(lo, lba);
    hi = std::max(hi, lba + count);
    ranges.emplace_back(lba * info_.block_size, std::uint64_t{count} * info_.block_size);
  }
  if (ranges.empty()) return done(good());
  // Exclusive: a zero-copy READ in flight over the range sends from the file run it was mapped
  // to (read above), and a discarded qcow2 cluster may be reused for other data at once.
  with_range(lo, hi - lo, true,
             [this, ranges = std::move(ranges), done = std::move(done)](range_handle h) mutable {
               pool_.submit(
                   [dev = dev_, ranges = std::move(ranges)] {
                     for (auto [off, length] : ranges)
                       if (auto ec = dev->discard(off, length)) return ec;
                     return std::error_code{};
                   },
                   releasing(h, [done = std::move(done)](std::error_code ec) mutable {
                     if (ec) return done(write_error());
                     done(good());
                   }));
             });
}

void disk_unit::compare_and_write(task t, completion done) {
  // SBC-3 §5.2: compare NUMBER OF LOGICAL BLOCKS blocks with the first half of the data-out
  // buffer and, if equal, write the second half — atomically: the range is held exclusively.
  auto b = *decode_block_cdb(t.cdb);
  if (b.protect != 0) return done(invalid_field_in_cdb(1, 7));
  if (info_.read_only) return done(write_protected());
  if (b.blocks > info_.max_compare_and_write_blocks) return done(invalid_field_in_cdb(13));
  if (auto e = check_range(b.lba, b.blocks)) return done(std::move(*e));
  std::size_t len = std::size_t{b.blocks} * info_.block_size;
  // Exactly 2 * NUMBER OF LOGICAL BLOCKS blocks: verify data then write data. A mismatch means
  // the NUMBER OF LOGICAL BLOCKS field is wrong for the data sent (e.g. 256 blocks wrapped to 0
  // in the one-byte field): INVALID FIELD IN CDB, as libiscsi expects.
  if (t.data_out.size() != 2 * len) return done(invalid_field_in_cdb(13));
  if (b.blocks == 0) return done(good());
  std::uint64_t off = b.lba * info_.block_size;
  with_range(b.lba, b.blocks, true,
             [this, off, len, fua = b.fua, data = std::move(t.data_out),
              done = std::move(done)](range_handle h) mutable {
               pool_.submit(
                   [dev = dev_, off, len, fua, data = std::move(data)] {
                     io_result r;
                     bytes medium(len);
                     if ((r.ec = dev->read(off, medium))) return r;
                     r.mismatch = first_difference(byte_span(data).first(len), medium);
                     if (r.mismatch) return r;
                     r.ec = dev->write(off, byte_span(data).subspan(len), fua);
                     if (r.ec) r.data.resize(1);  // marks a write (not read) failure
                     return r;
                   },
                   releasing(h, [done = std::move(done)](io_result r) mutable {
                     if (r.ec) return done(r.data.empty() ? read_error() : write_error());
                     if (r.mismatch) return done(miscompare(*r.mismatch));
                     done(good());
                   }));
             });
}

void disk_unit::orwrite(task t, completion done) {
  // SBC-3 §5.9 ORWRITE(16): each block becomes (medium OR data-out), as one uninterrupted
  // read-modify-write: the range is held exclusively like COMPARE AND WRITE.
  auto b = *decode_block_cdb(t.cdb);
  if (b.protect != 0) return done(invalid_field_in_cdb(1, 7));
  if (info_.read_only) return done(write_protected());
  if (auto e = check_range(b.lba, b.blocks)) return done(std::move(*e));
  if (b.blocks == 0) return done(good());
  if (b.blocks > info_.max_transfer_blocks) return done(invalid_field_in_cdb(10));
  std::size_t len = std::size_t{b.blocks} * info_.block_size;
  if (t.data_out.size() < len) return done(short_data_out());
  t.data_out.resize(len);
  std::uint64_t off = b.lba * info_.block_size;
  with_range(b.lba, b.blocks, true,
             [this, off, len, fua = b.fua, data = std::move(t.data_out),
              done = std::move(done)](range_handle h) mutable {
               pool_.submit(
                   [dev = dev_, off, len, fua, data = std::move(data)]() mutable {
                     io_result r;
                     bytes medium(len);
                     if ((r.ec = dev->read(off, medium))) return r;
                     for (std::size_t i = 0; i < len; ++i) data[i] |= medium[i];
                     r.ec = dev->write(off, data, fua);
                     if (r.ec) r.data.resize(1);
                     return r;
                   },
                   releasing(h, [done = std::move(done)](io_result r) mutable {
                     if (r.ec) return done(r.data.empty() ? read_error() : write_error());
                     done(good());
                   }));
             });
}

void disk_unit::synchronize_cache(task t, completion done) {
  // SBC-3 §5.22/5.23: the whole cache is written back (fdatasync), whatever the range; the range
  // is still checked. IMMED = 1 returns GOOD once the CDB is validated.
  auto b = *decode_block_cdb(t.cdb);
  if (b.lba >= info_.blocks && !(b.lba == 0 && info_.blocks == 0)) return done(lba_out_of_range());
  if (auto e = check_range(b.lba, b.blocks)) return done(std::move(*e));
  if (b.immed) {
    done(good());
    pool_.submit([dev = dev_] { return dev->flush(); },
                 [](std::error_code ec) {
                   if (ec) log::scsi().warn("flush failed: {}", ec.message());
                 });
    return;
  }
  pool_.submit([dev = dev_] { return dev->flush(); },
               [done = std::move(done)](std::error_code ec) mutable {
                 if (ec) {
                   log::scsi().warn("flush failed: {}", ec.message());
                   return done(write_error());
                 }
                 done(good());
               });
}

void disk_unit::prefetch(task t, completion done) {
  // SBC-3 §5.11/5.12: the page cache does this on its own; GOOD means "not necessarily cached".
  auto b = *decode_block_cdb(t.cdb);
  if (auto e = check_range(b.lba, b.blocks)) return done(std::move(*e));
  done(good());
}

void disk_unit::get_lba_status(task t, completion done) {
  // SBC-3 §5.6. The block_device interface cannot tell holes from data, so every block is
  // reported mapped (PROVISIONING STATUS 0): one descriptor from the starting LBA to the end.
  const byte_span cdb = t.cdb;
  std::uint64_t lba = load_u64(cdb, 2);
  std::uint32_t alloc = load_u32(cdb, 10);
  if (lba >= info_.blocks) return done(lba_out_of_range());
  std::uint64_t count = std::min<std::uint64_t>(info_.blocks - lba, 0xffffffffULL);
  byte_writer w(24);
  w.u32(20).u32(0);
  w.u64(lba).u32(static_cast<std::uint32_t>(count)).u8(0).zeros(3);
  bytes d = w.take();
  if (d.size() > alloc) d.resize(alloc);
  done(good(std::move(d)));
}

void disk_unit::start_stop_unit(task t, completion done) {
  // SBC-3 §5.25. The unit is always ready; stopping it (START = 0) writes back the cache unless
  // NO_FLUSH is set. Power conditions other than the defined values are field errors.
  const byte_span cdb = t.cdb;
  std::uint8_t pc = at(cdb, 4) >> 4;
  bool start = (at(cdb, 4) & 0x01) != 0;
  bool no_flush = (at(cdb, 4) & 0x04) != 0;
  switch (pc) {
    case 0x0:
    case 0x1:
    case 0x2:
    case 0x3:
    case 0x7:
    case 0xa:
    case 0xb:
      break;
    default:
      return done(invalid_field_in_cdb(4, 7));
  }
  if (pc != 0 || start || no_flush || info_.read_only) return done(good());
  pool_.submit(
      [dev = dev_] { return dev->flush(); },
      [done = std::move(done)](std::error_code ec) mutable { done(ec ? write_error() : good()); });
}

}  // namespace diskless::scsi
