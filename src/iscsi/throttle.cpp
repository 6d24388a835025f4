#include "iscsi/throttle.hpp"

#include <algorithm>

namespace diskless::iscsi {

auth_throttle::verdict auth_throttle::check(const std::string& source, clock::time_point now) {
  auto it = table_.find(source);
  if (it == table_.end()) return verdict::allow;
  auto& e = it->second;
  // Failures age out as a whole once a period has passed without a new one.
  if (now - e.last_failure >= limits_.period) {
    table_.erase(it);
    return verdict::allow;
  }
  if (e.failures >= limits_.refuse_after) return verdict::refuse;
  if (e.failures < limits_.slow_after) return verdict::allow;
  // Backoff 1 s, 2 s, 4 s ... from the last failure, never longer than the period.
  const auto steps = std::min<std::uint32_t>(e.failures - limits_.slow_after, 20);
  const auto backoff =
      std::min<clock::duration>(std::chrono::seconds(1) * (1u << steps), limits_.period);
  return now - e.last_failure < backoff ? verdict::wait : verdict::allow;
}

void auth_throttle::failed(const std::string& source, clock::time_point now) {
  auto it = table_.find(source);
  if (it == table_.end()) {
    if (table_.size() >= limits_.max_sources) evict_one();
    it = table_.emplace(source, entry{}).first;
  } else if (now - it->second.last_failure >= limits_.period) {
    it->second = entry{};
  }
  ++it->second.failures;
  it->second.last_failure = now;
}

bool auth_throttle::should_log(const std::string& source, clock::time_point now) {
  auto it = table_.find(source);
  if (it == table_.end()) return true;
  auto& e = it->second;
  if (e.logged && now - e.last_log < limits_.period) return false;
  e.logged = true;
  e.last_log = now;
  return true;
}

void auth_throttle::evict_one() {
  auto oldest = std::min_element(table_.begin(), table_.end(), [](const auto& a, const auto& b) {
    return a.second.last_failure < b.second.last_failure;
  });
  if (oldest != table_.end()) table_.erase(oldest);
}

}  // namespace diskless::iscsi
