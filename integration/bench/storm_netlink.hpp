#pragma once
// Puts an IPv4 address on an interface (RTM_NEWADDR over rtnetlink), as a PC's network stack
// does once DHCP has given it one. Bench code (storm_pc).
#include <cstdint>
#include <string>

namespace storm {

class netlink {
 public:
  netlink();
  ~netlink();
  netlink(const netlink&) = delete;
  netlink& operator=(const netlink&) = delete;
  // Adds address/prefix to ifindex; an address already there is fine. Returns "" or the error.
  std::string add_address(int ifindex, std::uint32_t address, int prefix);

 private:
  int fd_ = -1;
  std::uint32_t seq_ = 0;
};

}  // namespace storm
