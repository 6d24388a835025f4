#include "iscsi/pdu.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "iscsi/crc32c.hpp"

namespace diskless::iscsi {
namespace {

// Digests go on the wire least significant byte first (RFC 7143 §12.1, as RFC 3720 Appendix B's
// examples show).
void put_le32(std::byte* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = std::byte(v >> (8 * i));
}
std::uint32_t get_le32(const std::byte* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::to_integer<std::uint32_t>(p[i]) << (8 * i);
  return v;
}

}  // namespace

void out_pdu::attach(std::shared_ptr<const bytes> b, std::size_t off, std::size_t len) {
  const std::byte* first = b->data();
  attach(std::shared_ptr<const std::byte>(std::move(b), first), off, len);
}

void out_pdu::attach(std::shared_ptr<const std::byte> b, std::size_t off, std::size_t len) {
  buf = std::move(b);
  offset = off;
  length = len;
  store_u24(bhs, 5, static_cast<std::uint32_t>(len));
}

void out_pdu::attach_file(std::shared_ptr<const void> hold, int fd, std::uint64_t off,
                          std::size_t len) {
  buf.reset();
  file_hold = std::move(hold);
  file_fd = fd;
  offset = static_cast<std::size_t>(off);
  length = len;
  store_u24(bhs, 5, static_cast<std::uint32_t>(len));
}

void out_pdu::attach(bytes b) {
  auto n = b.size();
  attach(std::make_shared<const bytes>(std::move(b)), 0, n);
}

std::uint64_t decode_lun(std::uint64_t field) {
  auto method = static_cast<unsigned>(field >> 62);
  if (method == 0) return (field >> 48) & 0xff;    // peripheral device (bus 0)
  if (method == 1) return (field >> 48) & 0x3fff;  // flat space
  return 0xffffffffffffffffull;                    // not a LUN we could have
}

std::uint64_t encode_lun(std::uint64_t lun) {
  if (lun < 256) return lun << 48;
  return (0x4000ull | (lun & 0x3fff)) << 48;
}

wire_frame frame_for(const out_pdu& p, bool header_digest, bool data_digest) {
  wire_frame f;
  std::memcpy(f.head.data(), p.bhs.data(), bhs_size);
  f.head_len = bhs_size;
  if (header_digest) {
    put_le32(f.head.data() + bhs_size, crc32c(p.bhs));
    f.head_len += 4;
  }
  auto d = p.data();
  std::size_t pad = (4 - p.length % 4) % 4;
  f.tail_len = pad;  // tail is zero-initialised
  if (data_digest && !d.empty() && !p.from_file()) {
    auto crc = crc32c_update(0, d);
    crc = crc32c_update(crc, byte_span(f.tail.data(), pad));
    put_le32(f.tail.data() + pad, crc);
    f.tail_len += 4;
  }
  return f;
}

bytes serialize(const out_pdu& p, bool header_digest, bool data_digest) {
  auto f = frame_for(p, header_digest, data_digest);
  bytes out(f.head.begin(), f.head.begin() + f.head_len);
  if (p.from_file()) {  // tests: read the file's bytes (short or failed reads leave zeros)
    std::size_t at = out.size();
    out.resize(at + p.length);
    std::size_t got = 0;
    while (got < p.length) {
      ssize_t n = ::pread(p.file_fd, out.data() + at + got, p.length - got,
                          static_cast<off_t>(p.offset + got));
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
  } else {
    auto d = p.data();
    out.insert(out.end(), d.begin(), d.end());
  }
  out.insert(out.end(), f.tail.begin(), f.tail.begin() + f.tail_len);
  return out;
}

framer::status framer::fail(std::string why) {
  error_ = std::move(why);
  return status::error;
}

framer::status framer::feed(byte_span& in) {
  if (!error_.empty()) return status::error;
  auto copy = [&](std::byte* dst, std::size_t want) {
    std::size_t n = std::min(want - got_, in.size());
    if (n) std::memcpy(dst + got_, in.data(), n);
    got_ += n;
    in = in.subspan(n);
    return got_ == want;
  };
  for (;;) {
    switch (stage_) {
      case stage::header: {
        if (!copy(cur_.bhs.data(), bhs_size)) return status::need_more;
        got_ = 0;
        // §11.2.1: TotalAHSLength in 4-byte words, DataSegmentLength excluding padding. Check
        // both before allocating anything.
        std::size_t ahs_len = std::to_integer<std::size_t>(cur_.bhs[4]) * 4;
        std::uint32_t dlen = cur_.data_length();
        if (dlen > limits_.max_data)
          return fail("DataSegmentLength " + std::to_string(dlen) + " exceeds " +
                      std::to_string(limits_.max_data));
        cur_.ahs.assign(ahs_len, std::byte{0});
        cur_.data.clear();
        stage_ = ahs_len ? stage::ahs : limits_.header_digest ? stage::hdigest : stage::data;
        break;
      }
      case stage::ahs:
        if (!copy(cur_.ahs.data(), cur_.ahs.size())) return status::need_more;
        got_ = 0;
        stage_ = limits_.header_digest ? stage::hdigest : stage::data;
        break;
      case stage::hdigest: {
        if (!copy(digest_.data(), 4)) return status::need_more;
        got_ = 0;
        auto crc = crc32c_update(crc32c(cur_.bhs), cur_.ahs);
        if (crc != get_le32(digest_.data())) {
          header_digest_error_ = true;  // §7.8: the header cannot be trusted; ERL 0 drops
          return fail("header digest mismatch");
        }
        stage_ = stage::data;
        break;
      }
      case stage::data: {
        std::uint32_t dlen = cur_.data_length();
        if (cur_.data.size() != dlen) cur_.data.resize(dlen);
        if (!copy(cur_.data.data(), dlen)) return status::need_more;
        got_ = 0;
        pad_ = (4 - dlen % 4) % 4;
        stage_ = stage::pad;
        break;
      }
      case stage::pad: {
        std::array<std::byte, 4> padbuf{};
        if (!copy(digest_.data(), pad_)) return status::need_more;
        std::memcpy(padbuf.data(), digest_.data(), pad_);
        got_ = 0;
        if (limits_.data_digest && !cur_.data.empty()) {
          stage_ = stage::ddigest;
          std::memcpy(padbuf_.data(), padbuf.data(), 4);
          break;
        }
        stage_ = stage::header;
        return status::pdu;
      }
      case stage::ddigest: {
        if (!copy(digest_.data(), 4)) return status::need_more;
        got_ = 0;
        stage_ = stage::header;
        auto crc = crc32c_update(crc32c(cur_.data), byte_span(padbuf_.data(), pad_));
        if (crc != get_le32(digest_.data())) {
          data_digest_error_ = true;
          return status::pdu;  // the header is sound: the caller answers (§7.8.2: Reject)
        }
        return status::pdu;
      }
    }
  }
}

}  // namespace diskless::iscsi
