#include "tftp/netascii.hpp"

namespace diskless::tftp {

std::string to_netascii(std::string_view in) {
  std::string out;
  out.reserve(in.size() + in.size() / 16);
  for (char c : in) {
    if (c == '\n') {
      out += "\r\n";
    } else if (c == '\r') {
      out += '\r';
      out += '\0';
    } else {
      out += c;
    }
  }
  return out;
}

std::uint64_t netascii_size(std::span<const std::byte> in) {
  std::uint64_t n = in.size();
  for (auto b : in)
    if (b == std::byte{'\n'} || b == std::byte{'\r'}) ++n;
  return n;
}

bool netascii_encoder::flush(diskless::bytes& out, std::size_t limit) {
  if (owes_ && out.size() < limit) {
    out.push_back(owed_);
    owes_ = false;
  }
  return !owes_;
}

std::size_t netascii_encoder::encode(std::span<const std::byte> in, diskless::bytes& out,
                                     std::size_t limit) {
  if (!flush(out, limit)) return 0;
  std::size_t i = 0;
  for (; i < in.size() && out.size() < limit; ++i) {
    auto b = in[i];
    // RFC 764: LF is sent as CR LF, a CR not followed by LF as CR NUL (RFC 1350 §1 mode).
    if (b == std::byte{'\n'} || b == std::byte{'\r'}) {
      out.push_back(std::byte{'\r'});
      owed_ = b == std::byte{'\n'} ? std::byte{'\n'} : std::byte{0};
      owes_ = true;
      flush(out, limit);
    } else {
      out.push_back(b);
    }
  }
  return i;
}

}  // namespace diskless::tftp
