#include "tftp/admission.hpp"

namespace diskless::tftp {

verdict admit(std::size_t running, std::size_t from_client, bool unconfirmed,
              const admission_limits& limits) {
  // The per-address bound comes first: an address over it never evicts anyone.
  if (from_client >= limits.per_client) return verdict::refuse_client;
  if (running < limits.max_transfers) return verdict::admit;
  return unconfirmed ? verdict::admit_evicting : verdict::refuse_busy;
}

bool log_gate::allow(clock::time_point now, std::uint64_t n) {
  if (!logged_once_ || now - last_ >= period_) {
    logged_once_ = true;
    last_ = now;
    reported_suppressed_ = pending_ + (n > 0 ? n - 1 : 0);
    pending_ = 0;
    return true;
  }
  pending_ += n;
  return false;
}

}  // namespace diskless::tftp
