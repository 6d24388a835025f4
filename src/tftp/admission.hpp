#pragma once
// Who gets a transfer slot, sans I/O. The server's slots are a resource any client can make it
// hold, so they are bounded twice: per source address (one address, whatever its ports, cannot
// take more than a few) and in total; when the table is full, the oldest transfer whose client
// never acknowledged anything gives way to the new request (a real client acknowledges within
// one round trip, a flood of unanswered requests does not), so a fresh PC still gets its file.
// Drops are logged through a log_gate: at most one line per period, with what was left out.
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace diskless::tftp {

struct admission_limits {
  std::size_t max_transfers = 256;  // <tftp max-transfers>
  // A PXE client runs one transfer at a time (iPXE a few); 8 leaves room for NAT and retries.
  std::size_t per_client = 8;
};

enum class verdict {
  admit,           // room: start the transfer
  admit_evicting,  // full: end the oldest unconfirmed transfer, then start this one
  refuse_client,   // this address already holds per_client transfers
  refuse_busy,     // full of confirmed transfers
};

// running: transfers in the table; from_client: those of the request's source address;
// unconfirmed: whether any transfer in the table has never been acknowledged by its client.
verdict admit(std::size_t running, std::size_t from_client, bool unconfirmed,
              const admission_limits& limits);

// Rate limit for a log line about repeated events (drops, refusals): the first event is logged,
// then at most one per period, each telling how many were not logged since the previous one.
class log_gate {
 public:
  using clock = std::chrono::steady_clock;
  explicit log_gate(clock::duration period = std::chrono::seconds(10)) : period_(period) {}
  // Counts `n` events at `now`; true when a line should be logged now.
  bool allow(clock::time_point now, std::uint64_t n = 1);
  // Events counted but not logged before the current one (valid right after allow() is true).
  std::uint64_t suppressed() const { return reported_suppressed_; }

 private:
  clock::duration period_;
  bool logged_once_ = false;
  clock::time_point last_{};
  std::uint64_t pending_ = 0;
  std::uint64_t reported_suppressed_ = 0;
};

}  // namespace diskless::tftp
