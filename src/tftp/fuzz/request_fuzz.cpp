// Fuzz target for the TFTP request/option parser: parse_request, path normalisation, option
// negotiation, and the other packet decoders on the same bytes. Must never crash or throw.
#include <cstddef>
#include <cstdint>

#include "tftp/files.hpp"
#include "tftp/transfer.hpp"
#include "tftp/wire.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace diskless;
  using namespace diskless::tftp;
  byte_span in = std::as_bytes(std::span(data, size));  // fuzzer ABI: raw bytes
  (void)peek_opcode(in);
  (void)parse_ack(in);
  (void)parse_error(in);
  // The streaming netascii encoder, in output pieces sized by the first byte, must equal the
  // whole conversion and its counted size.
  if (size > 0) {
    std::size_t step = data[0] % 17 + 1, used = 0;
    netascii_encoder enc;
    diskless::bytes all;
    for (std::size_t guard = 0; guard <= 2 * size + 1; ++guard) {
      diskless::bytes out;
      used += enc.encode(in.subspan(used), out, step);
      if (out.empty()) break;
      all.insert(all.end(), out.begin(), out.end());
    }
    auto whole = to_netascii(to_string(in));
    if (to_string(all) != whole || netascii_size(in) != whole.size()) __builtin_trap();
  }
  auto p = parse_request(in);
  if (!p.req) return 0;
  (void)normalise_path(p.req->filename);
  transfer_limits limits;
  auto n = negotiate(p.req->options, size * 1000, limits);
  if (n.blksize < 8 || n.blksize > 65464 || n.windowsize < 1 || n.windowsize > 64) __builtin_trap();
  // Drive a transfer with the input's bytes as ACK numbers.
  auto now = clock::now();
  transfer t(n, size * 100, limits, now);
  auto out = t.start(now, size * 100);
  for (std::size_t i = 0; i + 1 < size && !out.done; i += 2) {
    std::uint16_t block = static_cast<std::uint16_t>(data[i] << 8 | data[i + 1]);
    out = t.on_ack(block, now, size * 100);
    if (out.end_block < out.first_block) __builtin_trap();
  }
  return 0;
}
