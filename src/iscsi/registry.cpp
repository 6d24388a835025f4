#include "iscsi/registry.hpp"

namespace diskless::iscsi {

bool unit_registry::attach(const std::string& host, waiter done) {
  auto& u = units_[host];
  ++u.sessions;
  if (u.lu) {
    done(u.lu);
    return false;
  }
  u.waiters.push_back(std::move(done));
  if (u.opening) return false;
  u.opening = true;
  return true;
}

void unit_registry::opened(const std::string& host, result<lu_ptr> lu) {
  auto it = units_.find(host);
  if (it == units_.end()) return;  // every waiter went away meanwhile
  auto waiters = std::move(it->second.waiters);
  it->second.waiters.clear();
  it->second.opening = false;
  if (lu) it->second.lu = *lu;
  // `it` is stale after the waiters ran: one may end its session and so erase the unit.
  for (auto& w : waiters) {
    if (lu)
      w(*lu);
    else
      w(error{lu.error_message()});
  }
  // Every session went away while the unit opened: let go of it now (else the host's next
  // login would get this unit without asking the provider, skipping what a login decides).
  it = units_.find(host);
  if (it != units_.end() && it->second.sessions <= 0 && !it->second.opening) units_.erase(it);
}

lu_ptr unit_registry::detach(const std::string& host) {
  auto it = units_.find(host);
  if (it == units_.end()) return nullptr;
  lu_ptr lu = it->second.lu;
  if (--it->second.sessions > 0 || it->second.opening) return lu;
  units_.erase(it);  // the provider lets go of the disk when the unit is dropped
  return lu;
}

int unit_registry::sessions(const std::string& host) const {
  auto it = units_.find(host);
  return it == units_.end() ? 0 : it->second.sessions;
}

std::optional<session_table::handle> session_table::add(handle s, const std::string& initiator,
                                                        const std::array<std::byte, 6>& isid,
                                                        const std::string& target) {
  key k{initiator, isid, target};
  std::optional<handle> old;
  if (auto it = by_key_.find(k); it != by_key_.end()) {
    old = it->second;
    by_handle_.erase(it->second);
    it->second = s;
  } else {
    by_key_.emplace(k, s);
  }
  by_handle_[s] = std::move(k);
  return old;
}

void session_table::remove(handle s) {
  auto it = by_handle_.find(s);
  if (it == by_handle_.end()) return;
  by_key_.erase(it->second);
  by_handle_.erase(it);
}

}  // namespace diskless::iscsi
