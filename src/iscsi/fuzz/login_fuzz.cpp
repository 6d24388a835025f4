// Fuzzes login text and the login state machine: the input is split into login request PDUs
// (first byte of each chunk: flags; then a length byte; then that many bytes of text).
#include <cstddef>
#include <cstdint>

#include "iscsi/login.hpp"
#include "iscsi/test_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace diskless;
  using namespace diskless::iscsi;
  static auto inv = testing::make_inventory();
  login_config cfg;
  cfg.inv = inv;
  cfg.random = [](std::span<std::byte> out) {
    for (auto& b : out) b = std::byte{0x42};
  };
  login_machine m(cfg);
  std::size_t i = 0;
  bytes all(size);
  for (std::size_t k = 0; k < size; ++k) all[k] = std::byte{data[k]};
  (void)parse_text(all);
  while (i + 2 <= size) {
    std::uint8_t flags = data[i], len = data[i + 1];
    i += 2;
    std::size_t n = std::min<std::size_t>(len, size - i);
    pdu p;
    p.bhs[0] = std::byte{0x43};
    p.bhs[1] = std::byte{flags};
    for (std::size_t k = 0; k < n; ++k) p.data.push_back(std::byte{data[i + k]});
    i += n;
    auto s = m.on_pdu(p);
    if (s.what != login_machine::kind::reply) break;
  }
  return 0;
}
