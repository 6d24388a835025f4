#pragma once
// MD5 (RFC 1321), only for CHAP (RFC 1994, RFC 7143 §12.1.3). Not for anything needing collision
// resistance.
#include <array>
#include <cstdint>

#include "util/bytes.hpp"

namespace diskless::iscsi {

class md5 {
 public:
  using digest = std::array<std::byte, 16>;
  md5();
  md5& update(byte_span data);
  digest finish();  // the object must not be used afterwards

  static digest of(byte_span data) { return md5().update(data).finish(); }

 private:
  void block(const std::byte* p);
  std::array<std::uint32_t, 4> s_;
  std::array<std::byte, 64> buf_{};
  std::size_t buffered_ = 0;
  std::uint64_t total_ = 0;
};

}  // namespace diskless::iscsi
