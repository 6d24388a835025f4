#pragma once
// RFC 764 netascii as RFC 1350 mode "netascii" uses it: LF goes on the wire as CR LF and a bare
// CR as CR NUL; every other byte as is. The encoder is streaming so a transfer converts block by
// block while it sends, never the whole file at once; pure (no I/O).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "util/bytes.hpp"

namespace diskless::tftp {

// The whole conversion of `in` at once (small texts; the reference for the streaming encoder).
std::string to_netascii(std::string_view in);

// The size of in's netascii form: its size plus one for every CR and LF.
std::uint64_t netascii_size(std::span<const std::byte> in);

// Converts a byte stream in pieces. Output is produced up to an exact limit; a CR or LF whose
// two-byte form straddles the limit leaves its second byte owed, emitted first by the next call.
class netascii_encoder {
 public:
  // Appends to out the netascii form of `in`, stopping when out.size() reaches `limit`.
  // Returns how many bytes of `in` were consumed (all of them unless the limit stopped it).
  std::size_t encode(std::span<const std::byte> in, diskless::bytes& out, std::size_t limit);
  // Emits an owed byte (if any) while out.size() < limit; true when nothing is owed any more.
  bool flush(diskless::bytes& out, std::size_t limit);
  bool owes() const { return owes_; }

 private:
  std::byte owed_{};
  bool owes_ = false;
};

}  // namespace diskless::tftp
