#include "iscsi/md5.hpp"

#include <cstring>

namespace diskless::iscsi {
namespace {

// RFC 1321 §3.4: per-round shift amounts and T[i] = floor(2^32 * abs(sin(i + 1))).
constexpr std::uint32_t shifts[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                                      5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                                      4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                                      6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};
constexpr std::uint32_t k[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};

constexpr std::uint32_t rotl(std::uint32_t x, std::uint32_t c) {
  return (x << c) | (x >> (32 - c));
}

}  // namespace

md5::md5() : s_{0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476} {}

void md5::block(const std::byte* p) {
  std::uint32_t m[16];
  for (int i = 0; i < 16; ++i) {  // little-endian words (RFC 1321 §3.4)
    m[i] = std::to_integer<std::uint32_t>(p[i * 4]) |
           std::to_integer<std::uint32_t>(p[i * 4 + 1]) << 8 |
           std::to_integer<std::uint32_t>(p[i * 4 + 2]) << 16 |
           std::to_integer<std::uint32_t>(p[i * 4 + 3]) << 24;
  }
  std::uint32_t a = s_[0], b = s_[1], c = s_[2], d = s_[3];
  for (std::uint32_t i = 0; i < 64; ++i) {
    std::uint32_t f, g;
    if (i < 16) {
      f = (b & c) | (~b & d);
      g = i;
    } else if (i < 32) {
      f = (d & b) | (~d & c);
      g = (5 * i + 1) % 16;
    } else if (i < 48) {
      f = b ^ c ^ d;
      g = (3 * i + 5) % 16;
    } else {
      f = c ^ (b | ~d);
      g = (7 * i) % 16;
    }
    std::uint32_t tmp = d;
    d = c;
    c = b;
    b = b + rotl(a + f + k[i] + m[g], shifts[i]);
    a = tmp;
  }
  s_[0] += a;
  s_[1] += b;
  s_[2] += c;
  s_[3] += d;
}

md5& md5::update(byte_span data) {
  if (data.empty()) return *this;  // an empty span's data() may be null: no memcpy from it
  total_ += data.size();
  std::size_t i = 0;
  if (buffered_ > 0) {
    std::size_t n = std::min(data.size(), 64 - buffered_);
    std::memcpy(buf_.data() + buffered_, data.data(), n);
    buffered_ += n;
    i = n;
    if (buffered_ < 64) return *this;
    block(buf_.data());
    buffered_ = 0;
  }
  for (; i + 64 <= data.size(); i += 64) block(data.data() + i);
  std::memcpy(buf_.data(), data.data() + i, data.size() - i);
  buffered_ = data.size() - i;
  return *this;
}

md5::digest md5::finish() {
  // RFC 1321 §3.1-3.2: pad with 0x80, zeros to 56 mod 64, then the bit length little-endian.
  std::uint64_t bits = total_ * 8;
  std::byte pad[72] = {std::byte{0x80}};
  std::size_t padlen = (buffered_ < 56) ? 56 - buffered_ : 120 - buffered_;
  for (int i = 0; i < 8; ++i) pad[padlen + i] = std::byte(bits >> (8 * i));
  update(std::span<const std::byte>(pad, padlen + 8));
  digest out;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) out[i * 4 + j] = std::byte(s_[i] >> (8 * j));
  return out;
}

}  // namespace diskless::iscsi
