// libFuzzer target: the lease journal reader (leases.hpp lease_table::load) over the input as a
// journal file, then leases handed out on top of what it loaded. What a table writes as its
// snapshot must load back whole (no line skipped) into the same leases.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "dhcp/leases.hpp"

using namespace diskless;

namespace {
std::vector<std::string_view> sorted_lines(std::string_view s) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    auto nl = s.find('\n');
    out.push_back(s.substr(0, nl));
    s.remove_prefix(nl == std::string_view::npos ? s.size() : nl + 1);
  }
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(data, data + size);  // the input bytes as text (a copy, no cast)
  std::string_view journal = text;
  const dhcp::sys_time now{std::chrono::seconds(1800000000)};
  dhcp::lease_table t;
  t.configure(ipv4_address(0x0a000064), ipv4_address(0x0a000066), {ipv4_address(0x0a000001)});
  (void)t.load(journal);
  const auto mac = *mac_address::parse("52:54:00:00:00:09");
  if (auto ip = t.allocate(mac, now)) t.bind(mac, *ip, now + std::chrono::hours(1));
  const auto snap = t.snapshot(now);
  dhcp::lease_table back;
  back.configure(ipv4_address(0x0a000064), ipv4_address(0x0a000066), {ipv4_address(0x0a000001)});
  if (back.load(snap) != 0) std::abort();
  if (sorted_lines(back.snapshot(now)) != sorted_lines(snap)) std::abort();
  (void)t.take_journal();
  return 0;
}
