#include "util/log_limit.hpp"

#include <iterator>

namespace diskless {

bool log_limiter::allow(std::string_view source, clock::time_point now, std::uint64_t* suppressed) {
  if (suppressed) *suppressed = 0;
  auto it = table_.find(std::string(source));
  if (it != table_.end()) {
    if (now - it->second.last < period_) {
      ++it->second.suppressed;
      return false;
    }
    if (suppressed) *suppressed = it->second.suppressed;
    it->second = entry{now, 0};
    return true;
  }
  if (table_.size() >= capacity_) sweep(now);
  if (table_.size() >= capacity_) {
    ++overflowed_;
    return false;
  }
  table_.emplace(std::string(source), entry{now, 0});
  return true;
}

void log_limiter::sweep(clock::time_point now) {
  // A sweep is O(capacity); doing it at most once per period keeps a flood's cost per event O(1)
  // amortized.
  if (now < next_sweep_) return;
  next_sweep_ = now + period_;
  std::erase_if(table_, [&](const auto& kv) { return now - kv.second.last >= period_; });
}

}  // namespace diskless
