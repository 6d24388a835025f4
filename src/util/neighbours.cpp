#include "util/neighbours.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <string>
#include <vector>

namespace diskless {
namespace {

constexpr unsigned atf_com = 0x2;  // <linux/if_arp.h>: the entry is complete

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    auto start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

}  // namespace

std::optional<mac_address> arp_entry_for(std::string_view text, ipv4_address ip) {
  bool header = true;
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (header) {  // the first line names the columns
      header = false;
      continue;
    }
    auto f = fields(line);
    if (f.size() < 4) continue;
    auto addr = ipv4_address::parse(f[0]);
    if (!addr || *addr != ip) continue;
    auto flags_text = f[2];
    if (flags_text.starts_with("0x")) flags_text.remove_prefix(2);
    unsigned flags = 0;
    auto [p, ec] =
        std::from_chars(flags_text.data(), flags_text.data() + flags_text.size(), flags, 16);
    if (ec != std::errc() || !(flags & atf_com)) continue;
    auto mac = mac_address::parse(f[3]);
    if (mac && *mac != mac_address()) return mac;
  }
  return std::nullopt;
}

std::optional<mac_address> neighbour_mac(ipv4_address ip) {
  int fd = ::open("/proc/net/arp", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string text;
  char buf[8192];
  // Bounded: the kernel's table is bounded (gc_thresh3), and so is what we read of it.
  constexpr std::size_t max_bytes = 4 << 20;
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n <= 0 || text.size() > max_bytes) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return arp_entry_for(text, ip);
}

}  // namespace diskless
