#pragma once
// Throttles CHAP guessing per source address (sans-I/O: the caller passes the time). After
// slow_after failed logins within `period`, each further attempt must wait a backoff that doubles
// from 1 s (capped at `period`); after refuse_after failures the address is refused until
// `period` has passed since its last failure. The table holds at most max_sources addresses;
// when full, the entry that failed longest ago is forgotten.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace diskless::iscsi {

struct throttle_limits {
  std::uint32_t slow_after = 3;
  std::uint32_t refuse_after = 10;
  std::chrono::seconds period{300};
  std::size_t max_sources = 4096;
};

class auth_throttle {
 public:
  using clock = std::chrono::steady_clock;
  explicit auth_throttle(throttle_limits l = {}) : limits_(l) {}

  enum class verdict { allow, wait, refuse };
  // May a new connection from `source` try to log in now?
  verdict check(const std::string& source, clock::time_point now);
  // A login from `source` failed authentication.
  void failed(const std::string& source, clock::time_point now);
  // True once per source and period: the caller logs the refusal only then.
  bool should_log(const std::string& source, clock::time_point now);
  std::size_t sources() const { return table_.size(); }
  void set_limits(throttle_limits l) { limits_ = l; }

 private:
  struct entry {
    std::uint32_t failures = 0;
    clock::time_point last_failure{}, last_log{};
    bool logged = false;
  };
  void evict_one();

  throttle_limits limits_;
  std::unordered_map<std::string, entry> table_;
};

}  // namespace diskless::iscsi
