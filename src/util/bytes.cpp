#include "util/bytes.hpp"

namespace diskless {

bytes to_bytes(std::string_view s) {
  bytes out(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) out[i] = static_cast<std::byte>(s[i]);
  return out;
}

std::string to_string(byte_span b) {
  std::string out(b.size(), '\0');
  for (std::size_t i = 0; i < b.size(); ++i) out[i] = static_cast<char>(b[i]);
  return out;
}

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

bytes from_hex(std::string_view hex) {
  bytes out;
  int high = -1;
  for (char c : hex) {
    if (c == ' ' || c == ':' || c == '\n' || c == '\t' || c == '\r') continue;
    int v = hex_value(c);
    if (v < 0) return {};
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<std::byte>(high * 16 + v));
      high = -1;
    }
  }
  if (high >= 0) return {};
  return out;
}

std::string to_hex(byte_span b) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(b.size() * 2);
  for (std::byte x : b) {
    auto v = std::to_integer<unsigned>(x);
    out.push_back(digits[v >> 4]);
    out.push_back(digits[v & 15]);
  }
  return out;
}

bool byte_reader::need(std::size_t n) {
  if (!ok_ || data_.size() - pos_ < n) {
    ok_ = false;
    return false;
  }
  return true;
}

std::uint8_t byte_reader::u8() {
  if (!need(1)) return 0;
  return std::to_integer<std::uint8_t>(data_[pos_++]);
}

std::uint16_t byte_reader::u16() {
  if (!need(2)) return 0;
  auto v = load_u16(data_, pos_);
  pos_ += 2;
  return v;
}

std::uint32_t byte_reader::u24() {
  if (!need(3)) return 0;
  auto v = load_u24(data_, pos_);
  pos_ += 3;
  return v;
}

std::uint32_t byte_reader::u32() {
  if (!need(4)) return 0;
  auto v = load_u32(data_, pos_);
  pos_ += 4;
  return v;
}

std::uint64_t byte_reader::u48() {
  if (!need(6)) return 0;
  std::uint64_t v = 0;
  for (int i = 0; i < 6; ++i) v = (v << 8) | std::to_integer<std::uint64_t>(data_[pos_ + i]);
  pos_ += 6;
  return v;
}

std::uint64_t byte_reader::u64() {
  if (!need(8)) return 0;
  auto v = load_u64(data_, pos_);
  pos_ += 8;
  return v;
}

std::uint16_t byte_reader::u16le() {
  if (!need(2)) return 0;
  std::uint16_t v =
      std::to_integer<std::uint16_t>(data_[pos_]) |
      static_cast<std::uint16_t>(std::to_integer<std::uint16_t>(data_[pos_ + 1]) << 8);
  pos_ += 2;
  return v;
}

std::uint32_t byte_reader::u32le() {
  if (!need(4)) return 0;
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | std::to_integer<std::uint32_t>(data_[pos_ + i]);
  pos_ += 4;
  return v;
}

std::uint64_t byte_reader::u64le() {
  if (!need(8)) return 0;
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | std::to_integer<std::uint64_t>(data_[pos_ + i]);
  pos_ += 8;
  return v;
}

byte_span byte_reader::take(std::size_t n) {
  if (!need(n)) return {};
  auto s = data_.subspan(pos_, n);
  pos_ += n;
  return s;
}

byte_span byte_reader::rest() {
  if (!ok_) return {};
  auto s = data_.subspan(pos_);
  pos_ = data_.size();
  return s;
}

std::string byte_reader::cstring() {
  if (!ok_) return {};
  for (std::size_t i = pos_; i < data_.size(); ++i) {
    if (data_[i] == std::byte{0}) {
      std::string s = to_string(data_.subspan(pos_, i - pos_));
      pos_ = i + 1;
      return s;
    }
  }
  ok_ = false;
  return {};
}

byte_writer& byte_writer::u8(std::uint8_t v) {
  buf_.push_back(static_cast<std::byte>(v));
  return *this;
}
byte_writer& byte_writer::u16(std::uint16_t v) {
  return u8(v >> 8).u8(v & 0xff);
}
byte_writer& byte_writer::u24(std::uint32_t v) {
  return u8((v >> 16) & 0xff).u16(v & 0xffff);
}
byte_writer& byte_writer::u32(std::uint32_t v) {
  return u16(v >> 16).u16(v & 0xffff);
}
byte_writer& byte_writer::u48(std::uint64_t v) {
  return u16((v >> 32) & 0xffff).u32(static_cast<std::uint32_t>(v));
}
byte_writer& byte_writer::u64(std::uint64_t v) {
  return u32(static_cast<std::uint32_t>(v >> 32)).u32(static_cast<std::uint32_t>(v));
}
byte_writer& byte_writer::u16le(std::uint16_t v) {
  return u8(v & 0xff).u8(v >> 8);
}
byte_writer& byte_writer::u32le(std::uint32_t v) {
  return u16le(v & 0xffff).u16le(static_cast<std::uint16_t>(v >> 16));
}
byte_writer& byte_writer::u64le(std::uint64_t v) {
  return u32le(static_cast<std::uint32_t>(v)).u32le(static_cast<std::uint32_t>(v >> 32));
}
byte_writer& byte_writer::append(byte_span b) {
  buf_.insert(buf_.end(), b.begin(), b.end());
  return *this;
}
byte_writer& byte_writer::append(std::string_view s) {
  for (char c : s) buf_.push_back(static_cast<std::byte>(c));
  return *this;
}
byte_writer& byte_writer::cstring(std::string_view s) {
  return append(s).u8(0);
}
byte_writer& byte_writer::zeros(std::size_t n) {
  buf_.insert(buf_.end(), n, std::byte{0});
  return *this;
}
bool byte_writer::put_u8_at(std::size_t pos, std::uint8_t v) {
  if (pos >= buf_.size()) return false;
  buf_[pos] = static_cast<std::byte>(v);
  return true;
}
bool byte_writer::put_u16_at(std::size_t pos, std::uint16_t v) {
  if (pos + 2 > buf_.size()) return false;
  store_u16(buf_, pos, v);
  return true;
}
bool byte_writer::put_u24_at(std::size_t pos, std::uint32_t v) {
  if (pos + 3 > buf_.size()) return false;
  store_u24(buf_, pos, v);
  return true;
}
bool byte_writer::put_u32_at(std::size_t pos, std::uint32_t v) {
  if (pos + 4 > buf_.size()) return false;
  store_u32(buf_, pos, v);
  return true;
}

namespace {
std::uint64_t load_be(byte_span b, std::size_t pos, std::size_t n) {
  if (pos > b.size() || b.size() - pos < n) return 0;
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | std::to_integer<std::uint64_t>(b[pos + i]);
  return v;
}
void store_be(std::span<std::byte> b, std::size_t pos, std::uint64_t v, std::size_t n) {
  if (pos > b.size() || b.size() - pos < n) return;
  for (std::size_t i = 0; i < n; ++i)
    b[pos + n - 1 - i] = static_cast<std::byte>((v >> (8 * i)) & 0xff);
}
}  // namespace

std::uint16_t load_u16(byte_span b, std::size_t pos) {
  return static_cast<std::uint16_t>(load_be(b, pos, 2));
}
std::uint32_t load_u24(byte_span b, std::size_t pos) {
  return static_cast<std::uint32_t>(load_be(b, pos, 3));
}
std::uint32_t load_u32(byte_span b, std::size_t pos) {
  return static_cast<std::uint32_t>(load_be(b, pos, 4));
}
std::uint64_t load_u64(byte_span b, std::size_t pos) {
  return load_be(b, pos, 8);
}
void store_u16(std::span<std::byte> b, std::size_t pos, std::uint16_t v) {
  store_be(b, pos, v, 2);
}
void store_u24(std::span<std::byte> b, std::size_t pos, std::uint32_t v) {
  store_be(b, pos, v, 3);
}
void store_u32(std::span<std::byte> b, std::size_t pos, std::uint32_t v) {
  store_be(b, pos, v, 4);
}
void store_u64(std::span<std::byte> b, std::size_t pos, std::uint64_t v) {
  store_be(b, pos, v, 8);
}

}  // namespace diskless
