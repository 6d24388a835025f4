#pragma once
// At most one log line per source and period, with a bounded table of sources.
//
// Contract: allow() is pure over its inputs (the caller passes the time). A source gets a line at
// its first event and then at most once per period; the events suppressed in between are counted
// and reported with the next line allowed. The table holds at most `capacity` sources: when it is
// full, sources whose period has passed are dropped (one sweep per period at most); while it is
// still full of fresh sources, a new source is suppressed, so a flood of distinct sources costs
// at most `capacity` lines per period and bounded memory.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace diskless {

class log_limiter {
 public:
  using clock = std::chrono::steady_clock;

  log_limiter(std::chrono::seconds period, std::size_t capacity)
      : period_(period), capacity_(capacity) {}

  // True when a line about `source` may be logged at `now`; *suppressed (if given) receives how
  // many events of that source were suppressed since its previous line.
  bool allow(std::string_view source, clock::time_point now, std::uint64_t* suppressed = nullptr);

  std::size_t size() const { return table_.size(); }
  // Events suppressed because the table was full of fresh sources.
  std::uint64_t overflowed() const { return overflowed_; }

 private:
  struct entry {
    clock::time_point last;
    std::uint64_t suppressed = 0;
  };
  void sweep(clock::time_point now);

  std::chrono::seconds period_;
  std::size_t capacity_;
  std::unordered_map<std::string, entry> table_;
  clock::time_point next_sweep_{};
  std::uint64_t overflowed_ = 0;
};

}  // namespace diskless
