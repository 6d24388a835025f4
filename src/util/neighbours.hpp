#pragma once
// The kernel's IPv4 neighbour (ARP) table: which MAC an on-link address belongs to.
//
// Contract: arp_entry_for() is pure over the text of /proc/net/arp (header line, then
// "IP address  HW type  Flags  HW address  Mask  Device" per entry); only complete entries
// (flag ATF_COM, 0x2) count, so an unanswered ARP probe (00:00:00:00:00:00) names nobody.
// neighbour_mac() reads the table of the calling process's network namespace: one small procfs
// read, no waiting on the network (it never sends an ARP request).
#include <optional>
#include <string_view>

#include "util/net.hpp"

namespace diskless {

std::optional<mac_address> arp_entry_for(std::string_view proc_net_arp, ipv4_address ip);

std::optional<mac_address> neighbour_mac(ipv4_address ip);

}  // namespace diskless
