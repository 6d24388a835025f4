#pragma once
// The lease table of full mode: the dynamic pool, offers, bindings, declined addresses, and their
// persistence as a text journal (sans-I/O: the server writes what take_journal() returns).
//
// Keyed by chaddr (MAC), not option 61: a diskless PC goes PXE ROM -> iPXE -> OS, each with its
// own client identifier, and must keep one address through all of them.
//
// Journal format (one record a line, replayed in order; unparsable lines, e.g. a torn last line
// after a crash, are skipped and counted):
//   B <mac> <ip> <expiry unix seconds>   bound (ACKed)
//   F <mac> <ip>                         freed (RELEASE)
//   D <ip> <until unix seconds>          declined (RFC 2131 §4.3.3: quarantined)
// A snapshot (compaction) is the same format holding only what is live.
//
// Invariant: an address is held by at most one MAC (offered or bound, unexpired).
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "util/net.hpp"

namespace diskless::dhcp {

using sys_time = std::chrono::system_clock::time_point;

struct lease {
  mac_address mac;
  ipv4_address ip;
  sys_time expires;
  bool bound = false;  // false: only offered (held for offer_hold, not persisted)
};

class lease_table {
 public:
  static constexpr std::chrono::seconds offer_hold{60};

  // The dynamic pool (inclusive) and addresses never handed out dynamically (static host
  // addresses, the server's own). Existing leases are kept.
  void configure(std::optional<ipv4_address> first, std::optional<ipv4_address> last,
                 std::unordered_set<ipv4_address> reserved);
  bool in_pool(ipv4_address ip) const;

  const lease* by_mac(const mac_address& mac) const;
  // The unexpired lease or offer holding ip, if any.
  const lease* holder(ipv4_address ip, sys_time now) const;

  // Whether mac may have ip now: not held by another MAC, not declined. (Pool membership and
  // reservations are the caller's policy: static addresses are outside the pool.)
  bool free_for(ipv4_address ip, const mac_address& mac, sys_time now) const;
  // In the pool, not reserved, and free for mac.
  bool assignable(ipv4_address ip, const mac_address& mac, sys_time now) const {
    return in_pool(ip) && !reserved_.contains(ip) && free_for(ip, mac, now);
  }
  // A free pool address for mac (its previous one when still free), or nullopt when exhausted.
  std::optional<ipv4_address> allocate(const mac_address& mac, sys_time now);

  // For a pool that allocate() found exhausted: frees an address that is only offered (not bound)
  // to a MAC for which evictable(mac) is true, and returns it for mac; nullopt when none.
  std::optional<ipv4_address> reclaim_offer(
      const mac_address& mac, sys_time now,
      const std::function<bool(const mac_address&)>& evictable);

  void offer(const mac_address& mac, ipv4_address ip, sys_time now);
  void bind(const mac_address& mac, ipv4_address ip, sys_time expires);
  void release(const mac_address& mac, ipv4_address ip);
  void decline(ipv4_address ip, sys_time until);

  // Persistence.
  std::size_t load(std::string_view journal);  // returns the number of skipped lines
  std::string snapshot(sys_time now) const;
  std::string take_journal();
  bool journal_pending() const { return !journal_.empty(); }
  std::size_t records_since_snapshot() const { return records_; }
  void mark_compacted() { records_ = 0; }
  // Compaction policy: rewrite the journal as a snapshot once it holds more than 4096 records
  // and more than four times the live entries (so the file stays O(leases) and a rewrite is rare).
  bool should_compact() const { return records_ > 4096 && records_ > 4 * by_mac_.size(); }

  std::size_t size() const { return by_mac_.size(); }
  std::size_t bound_count(sys_time now) const;

 private:
  void remove_mac(const mac_address& mac);
  void put(const lease& l);
  bool declined(ipv4_address ip, sys_time now) const;

  std::unordered_map<mac_address, lease> by_mac_;
  std::unordered_map<ipv4_address, mac_address> by_ip_;
  std::unordered_map<ipv4_address, sys_time> declined_;
  std::unordered_set<ipv4_address> reserved_;
  std::uint32_t first_ = 0, last_ = 0;  // pool, host order; empty when first_ > last_ or 0
  bool have_pool_ = false;
  std::uint32_t cursor_ = 0;
  std::string journal_;
  std::size_t records_ = 0;
};

}  // namespace diskless::dhcp
