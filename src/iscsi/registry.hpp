#pragma once
// The iSCSI service's logical units, shared by the sessions of one host (I/O-free, loop thread
// only). The first session of a host asks the lun_provider to open the unit; sessions that log in
// meanwhile wait for the same open; the unit is dropped when the host's last session ends.
#include <array>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "iscsi/lun_provider.hpp"

namespace diskless::iscsi {

class unit_registry {
 public:
  using waiter = unique_function<void(result<lu_ptr>)>;

  // A session of `host` wants its unit: `done` runs now if the unit is open, else when it is.
  // Returns true when the caller must start opening it (then report with opened()).
  bool attach(const std::string& host, waiter done);
  // The open started by attach() finished: every waiter gets the unit (or the error). Waiters
  // may call detach() re-entrantly.
  void opened(const std::string& host, result<lu_ptr> lu);
  // A session of `host` ended. Returns the host's unit (null if not open) so the caller can tell
  // it the nexus is gone; the registry lets go of it after the last session unless an open is
  // still running (it then completes with no waiter).
  lu_ptr detach(const std::string& host);
  void clear() { units_.clear(); }

  // For tests and status: sessions counted for the host (0 when unknown), whether it is known.
  int sessions(const std::string& host) const;
  bool has(const std::string& host) const { return units_.count(host) != 0; }

 private:
  struct unit {
    lu_ptr lu;
    int sessions = 0;
    bool opening = false;
    std::vector<waiter> waiters;
  };
  std::map<std::string, unit> units_;
};

// The target's sessions by identity (I/O-free, loop thread only). RFC 7143 §4.4.3: a session is
// named by the initiator name, its ISID and the target; a login carrying the identity of a live
// session reinstates it (§6.3.5): the old session ends and its tasks are not reported lost.
class session_table {
 public:
  using handle = const void*;  // the caller's session; only compared, never dereferenced

  // Registers session `s` of `target`; returns the live session it reinstates (now removed from
  // the table), which the caller must end.
  std::optional<handle> add(handle s, const std::string& initiator,
                            const std::array<std::byte, 6>& isid, const std::string& target);
  // The session ended (a no-op for one already reinstated or never added).
  void remove(handle s);
  std::size_t size() const { return by_handle_.size(); }

 private:
  using key = std::tuple<std::string, std::array<std::byte, 6>, std::string>;
  std::map<key, handle> by_key_;
  std::map<handle, key> by_handle_;
};

}  // namespace diskless::iscsi
