#include "util/byte_buffer.hpp"

#include <algorithm>
#include <utility>

namespace diskless {

byte_buffer::byte_buffer(bytes v) : size_(v.size()) {
  if (v.empty()) return;
  auto owner = std::make_shared<bytes>(std::move(v));
  ptr_ = std::shared_ptr<std::byte>(owner, owner->data());
}

byte_buffer byte_buffer::for_overwrite(std::size_t n) {
  byte_buffer b;
  if (n == 0) return b;
  // make_shared_for_overwrite default-initializes: no zero-fill for std::byte.
  auto arr = std::make_shared_for_overwrite<std::byte[]>(n);
  b.ptr_ = std::shared_ptr<std::byte>(arr, arr.get());
  b.size_ = n;
  return b;
}

byte_buffer::byte_buffer(const byte_buffer& o) : byte_buffer(o.to_vector()) {}

byte_buffer& byte_buffer::operator=(const byte_buffer& o) {
  if (this != &o) *this = byte_buffer(o);
  return *this;
}

byte_buffer::byte_buffer(byte_buffer&& o) noexcept
    : ptr_(std::move(o.ptr_)), size_(std::exchange(o.size_, 0)) {}

byte_buffer& byte_buffer::operator=(byte_buffer&& o) noexcept {
  ptr_ = std::move(o.ptr_);
  size_ = std::exchange(o.size_, 0);
  return *this;
}

std::shared_ptr<const std::byte> byte_buffer::share() && {
  size_ = 0;
  return std::move(ptr_);
}

bool byte_buffer::equal(byte_span a, byte_span b) {
  return std::ranges::equal(a, b);
}

}  // namespace diskless
