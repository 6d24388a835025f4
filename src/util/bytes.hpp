#pragma once
// Bounds-checked readers and writers over raw bytes, big-endian (network order) by default.
//
// Contract: every accessor checks the remaining length. On a short read the reader enters a sticky
// failed state: the failing call and every later call return zero values, and ok() stays false. A
// decoder therefore reads a whole structure and checks ok() once at the end. No pointer casts,
// no packed structs: all multi-byte values are assembled byte by byte.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace diskless {

using bytes = std::vector<std::byte>;
using byte_span = std::span<const std::byte>;

// Helpers for tests and literals.
bytes to_bytes(std::string_view s);
std::string to_string(byte_span b);
// Parses hex with optional whitespace/colons ("0a 0b", "0a:0b"); returns empty on bad input.
bytes from_hex(std::string_view hex);
std::string to_hex(byte_span b);

class byte_reader {
 public:
  explicit byte_reader(byte_span data) : data_(data) {}

  bool ok() const { return ok_; }
  std::size_t position() const { return pos_; }
  std::size_t remaining() const { return ok_ ? data_.size() - pos_ : 0; }
  bool empty() const { return remaining() == 0; }

  std::uint8_t u8();
  std::uint16_t u16();  // big-endian
  std::uint32_t u24();  // big-endian, 3 bytes
  std::uint32_t u32();  // big-endian
  std::uint64_t u48();  // big-endian, 6 bytes
  std::uint64_t u64();  // big-endian
  std::uint16_t u16le();
  std::uint32_t u32le();
  std::uint64_t u64le();
  // Returns a view of the next n bytes (empty and failed when short).
  byte_span take(std::size_t n);
  // The rest of the input (never fails).
  byte_span rest();
  void skip(std::size_t n) { (void)take(n); }
  // Reads a NUL-terminated string (the NUL is consumed, not returned); fails without a NUL.
  std::string cstring();
  // A reader over the next n bytes; the parent advances past them.
  byte_reader sub(std::size_t n) {
    auto s = take(n);
    return byte_reader(s, ok_);
  }
  void fail() { ok_ = false; }

 private:
  byte_reader(byte_span data, bool ok) : data_(data), ok_(ok) {}
  bool need(std::size_t n);
  byte_span data_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

// Appends to a growable buffer; never fails. put_*_at() patch earlier positions (for lengths).
class byte_writer {
 public:
  byte_writer() = default;
  explicit byte_writer(std::size_t reserve) { buf_.reserve(reserve); }

  byte_writer& u8(std::uint8_t v);
  byte_writer& u16(std::uint16_t v);
  byte_writer& u24(std::uint32_t v);
  byte_writer& u32(std::uint32_t v);
  byte_writer& u48(std::uint64_t v);
  byte_writer& u64(std::uint64_t v);
  byte_writer& u16le(std::uint16_t v);
  byte_writer& u32le(std::uint32_t v);
  byte_writer& u64le(std::uint64_t v);
  byte_writer& append(byte_span b);
  byte_writer& append(std::string_view s);
  byte_writer& cstring(std::string_view s);  // s + NUL
  byte_writer& zeros(std::size_t n);
  // Overwrite already written bytes; out-of-range writes are ignored (and return false).
  bool put_u8_at(std::size_t pos, std::uint8_t v);
  bool put_u16_at(std::size_t pos, std::uint16_t v);
  bool put_u24_at(std::size_t pos, std::uint32_t v);
  bool put_u32_at(std::size_t pos, std::uint32_t v);

  std::size_t size() const { return buf_.size(); }
  const bytes& data() const { return buf_; }
  bytes take() { return std::move(buf_); }

 private:
  bytes buf_;
};

// Free helpers for fixed positions in a span (bounds-checked; out of range reads give 0).
std::uint16_t load_u16(byte_span b, std::size_t pos);
std::uint32_t load_u24(byte_span b, std::size_t pos);
std::uint32_t load_u32(byte_span b, std::size_t pos);
std::uint64_t load_u64(byte_span b, std::size_t pos);
void store_u16(std::span<std::byte> b, std::size_t pos, std::uint16_t v);
void store_u24(std::span<std::byte> b, std::size_t pos, std::uint32_t v);
void store_u32(std::span<std::byte> b, std::size_t pos, std::uint32_t v);
void store_u64(std::span<std::byte> b, std::size_t pos, std::uint64_t v);

}  // namespace diskless
