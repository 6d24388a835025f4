// Fuzzes PDU framing: arbitrary bytes through the framer with and without digests, split at a
// position taken from the input; every PDU that comes out is re-serialised.
#include <cstddef>
#include <cstdint>

#include "iscsi/pdu.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace diskless;
  using namespace diskless::iscsi;
  bytes in(size);
  for (std::size_t i = 0; i < size; ++i) in[i] = std::byte{data[i]};
  std::size_t cut = size ? data[0] % (size + 1) : 0;
  for (int mode = 0; mode < 3; ++mode) {
    framer f({mode == 2 ? 262144u : 8192u, mode >= 1, mode >= 1});
    byte_span a = byte_span(in).subspan(0, cut), b = byte_span(in).subspan(cut);
    for (byte_span* part : {&a, &b}) {
      while (!part->empty()) {
        auto st = f.feed(*part);
        if (st == framer::status::error) break;
        if (st == framer::status::pdu) {
          auto p = f.take();
          out_pdu o;
          o.bhs = p.bhs;
          o.attach(std::move(p.data));
          (void)serialize(o, mode >= 1, mode >= 1);
          (void)decode_lun(p.lun_field());
        }
      }
    }
  }
  return 0;
}
