#pragma once
// A heap byte buffer for bulk data: unlike std::vector it can be created without zero-filling
// (for a read that overwrites every byte; at 1 MiB a memset costs as much as the read's own
// copy), and its bytes can be handed on as a shared read-only block without copying (one READ's
// data feeds several Data-In PDUs).
//
// Contract: for_overwrite(n) leaves the contents indeterminate — the caller must write all n
// bytes before anyone reads them. Copies are deep; moves leave the source empty.
#include <cstddef>
#include <memory>
#include <span>

#include "util/bytes.hpp"

namespace diskless {

class byte_buffer {
 public:
  using value_type = std::byte;
  using iterator = std::byte*;
  using const_iterator = const std::byte*;

  byte_buffer() = default;
  // Implicit: small results are built as vectors; the vector's storage is kept (no copy).
  byte_buffer(bytes v);  // NOLINT(google-explicit-constructor)
  static byte_buffer for_overwrite(std::size_t n);

  byte_buffer(const byte_buffer& o);
  byte_buffer& operator=(const byte_buffer& o);
  byte_buffer(byte_buffer&& o) noexcept;
  byte_buffer& operator=(byte_buffer&& o) noexcept;
  ~byte_buffer() = default;

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::byte* data() { return ptr_.get(); }
  const std::byte* data() const { return ptr_.get(); }
  iterator begin() { return data(); }
  iterator end() { return data() + size_; }
  const_iterator begin() const { return data(); }
  const_iterator end() const { return data() + size_; }
  std::byte& operator[](std::size_t i) { return ptr_.get()[i]; }
  const std::byte& operator[](std::size_t i) const { return ptr_.get()[i]; }
  operator byte_span() const { return {data(), size_}; }                 // NOLINT
  operator std::span<std::byte>() { return {data(), size_}; }           // NOLINT

  // Keeps the first n bytes; n >= size() changes nothing.
  void truncate(std::size_t n) {
    if (n < size_) size_ = n;
  }
  bytes to_vector() const { return bytes(begin(), end()); }
  // Gives the bytes away as a shared read-only block (no copy); the buffer is empty afterwards.
  std::shared_ptr<const std::byte> share() &&;

  friend bool operator==(const byte_buffer& a, const byte_buffer& b) {
    return equal(a, b);
  }
  friend bool operator==(const byte_buffer& a, const bytes& b) { return equal(a, b); }

 private:
  static bool equal(byte_span a, byte_span b);
  // Points at the first byte; owns either a vector or an array (aliasing shared_ptr).
  std::shared_ptr<std::byte> ptr_;
  std::size_t size_ = 0;
};

}  // namespace diskless
