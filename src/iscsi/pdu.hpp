#pragma once
// iSCSI PDUs (RFC 7143 §11): the 48-byte Basic Header Segment kept as bytes with typed accessors
// (no structs laid over buffers), and incremental framing of a TCP byte stream.
#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "util/bytes.hpp"

namespace diskless::iscsi {

constexpr std::size_t bhs_size = 48;
constexpr std::uint32_t reserved_tag = 0xffffffffu;

// Opcodes (RFC 7143 §11.1.1).
enum class opcode : std::uint8_t {
  nop_out = 0x00,
  scsi_command = 0x01,
  task_mgmt = 0x02,
  login = 0x03,
  text = 0x04,
  data_out = 0x05,
  logout = 0x06,
  snack = 0x10,
  nop_in = 0x20,
  scsi_response = 0x21,
  task_mgmt_response = 0x22,
  login_response = 0x23,
  text_response = 0x24,
  data_in = 0x25,
  logout_response = 0x26,
  r2t = 0x31,
  async_message = 0x32,
  reject = 0x3f,
};

using bhs_bytes = std::array<std::byte, bhs_size>;

// Field access by byte offset into a BHS (§11.2.1).
struct bhs_view {
  bhs_bytes& b;
  std::uint8_t u8(std::size_t at) const { return std::to_integer<std::uint8_t>(b[at]); }
  std::uint32_t u32(std::size_t at) const { return load_u32(b, at); }
  std::uint16_t u16(std::size_t at) const { return load_u16(b, at); }
  void set_u8(std::size_t at, std::uint8_t v) { b[at] = std::byte{v}; }
  void set_u16(std::size_t at, std::uint16_t v) { store_u16(b, at, v); }
  void set_u32(std::size_t at, std::uint32_t v) { store_u32(b, at, v); }
};

// A received PDU.
struct pdu {
  bhs_bytes bhs{};
  bytes ahs;
  bytes data;  // without padding

  opcode op() const { return static_cast<opcode>(std::to_integer<std::uint8_t>(bhs[0]) & 0x3f); }
  bool immediate() const { return (std::to_integer<std::uint8_t>(bhs[0]) & 0x40) != 0; }
  std::uint8_t flags() const { return std::to_integer<std::uint8_t>(bhs[1]); }
  bool final_bit() const { return (flags() & 0x80) != 0; }
  std::uint8_t u8(std::size_t at) const { return std::to_integer<std::uint8_t>(bhs[at]); }
  std::uint16_t u16(std::size_t at) const { return load_u16(bhs, at); }
  std::uint32_t u32(std::size_t at) const { return load_u32(bhs, at); }
  std::uint64_t lun_field() const { return load_u64(bhs, 8); }
  std::uint32_t itt() const { return u32(16); }
  std::uint32_t data_length() const { return load_u24(bhs, 5); }
};

// A PDU to send: header plus a view of a (possibly shared) data buffer, so Data-In PDUs split from
// one read share it without copies. The sender adds padding and digests.
struct out_pdu {
  bhs_bytes bhs{};
  std::shared_ptr<const std::byte> buf;  // the data's first byte; keeps its owner alive
  std::size_t offset = 0, length = 0;
  // Or the data stays in a file: bytes [offset, offset + length) of file_fd, sent by sendfile;
  // file_hold keeps the descriptor open (and the SCSI range locked) until the PDU is dropped.
  std::shared_ptr<const void> file_hold;
  int file_fd = -1;

  bool from_file() const { return file_fd >= 0; }

  bhs_view h() { return bhs_view{bhs}; }
  byte_span data() const { return buf ? byte_span(buf.get() + offset, length) : byte_span{}; }
  // Sets opcode byte and DataSegmentLength from the attached data.
  void set_opcode(opcode op) { bhs[0] = std::byte{static_cast<std::uint8_t>(op)}; }
  void attach(std::shared_ptr<const bytes> b, std::size_t off, std::size_t len);
  // The same for a block without a vector (byte_buffer::share()); [off, off+len) must be in it.
  void attach(std::shared_ptr<const std::byte> b, std::size_t off, std::size_t len);
  void attach(bytes b);
  void attach_file(std::shared_ptr<const void> hold, int fd, std::uint64_t off, std::size_t len);
};

// 8-byte LUN field (SAM-5 §4.7) → LUN number; single-level peripheral and flat addressing.
std::uint64_t decode_lun(std::uint64_t field);
std::uint64_t encode_lun(std::uint64_t lun);

// Header and trailer bytes of an out_pdu as they go on the wire (§11.2: BHS, header digest; data
// padding to 4 bytes, data digest). Data itself is sent from out_pdu::data() (or its file). File
// PDUs get no data digest: the caller must not ask for one (the bytes are not in memory).
struct wire_frame {
  std::array<std::byte, bhs_size + 4> head{};
  std::size_t head_len = 0;
  std::array<std::byte, 8> tail{};
  std::size_t tail_len = 0;
};
wire_frame frame_for(const out_pdu& p, bool header_digest, bool data_digest);
// The whole PDU in one buffer (tests, login).
bytes serialize(const out_pdu& p, bool header_digest = false, bool data_digest = false);

// Incremental framing of the byte stream from the initiator. Checks the header (AHS and data
// lengths against the negotiated limit, header digest) before allocating the data segment.
class framer {
 public:
  enum class status { need_more, pdu, error };
  struct limits {
    std::uint32_t max_data = 8192;  // our MaxRecvDataSegmentLength (login: 8192, §13.12)
    bool header_digest = false;
    bool data_digest = false;
  };
  framer() = default;
  explicit framer(limits l) : limits_(l) {}
  void set_limits(limits l) { limits_ = l; }
  const limits& get_limits() const { return limits_; }

  // Consumes bytes from `in` (advancing it) until a PDU is complete (then take() it), the input
  // is exhausted (need_more) or the stream is broken (error; error_message() says why, and
  // error_header() holds the offending BHS if it was read).
  status feed(byte_span& in);
  pdu take() {
    data_digest_failed_ = data_digest_error_;
    data_digest_error_ = false;
    return std::move(cur_);
  }
  // The PDU last taken had a data digest mismatch (its header is sound).
  bool data_digest_failed() const { return data_digest_failed_; }
  const std::string& error_message() const { return error_; }
  const bhs_bytes& error_header() const { return cur_.bhs; }
  bool header_digest_error() const { return header_digest_error_; }

 private:
  enum class stage { header, ahs, hdigest, data, pad, ddigest };
  status fail(std::string why);
  limits limits_;
  stage stage_ = stage::header;
  pdu cur_;
  std::size_t got_ = 0;  // bytes of the current stage received
  std::array<std::byte, 4> digest_{};
  std::array<std::byte, 4> padbuf_{};
  bool data_digest_error_ = false, data_digest_failed_ = false;
  std::uint32_t pad_ = 0;
  std::string error_;
  bool header_digest_error_ = false;
};

}  // namespace diskless::iscsi
