#pragma once
// The per-transfer state machine of a TFTP read (RRQ), sans I/O: it is fed ACKs, ERRORs, timer
// expiries and "more file data is in memory now", each with the current time, and answers with
// what to send. It never touches sockets, files or clocks.
//
// Blocks are numbered absolutely from 1 (a 64-bit index); the wire carries index & 0xffff, so the
// number rolls over from 65535 to 0 (RFC 1350 has no limit; every modern client expects 0, which
// is what tftp-hpa and dnsmasq do). A file of N bytes at blksize B has N / B + 1 blocks; the
// last one is shorter than B (possibly empty) and marks the end (RFC 1350 §6).
#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "tftp/wire.hpp"

namespace diskless::tftp {

using clock = std::chrono::steady_clock;

struct transfer_limits {
  std::uint16_t max_blksize = 1468;  // interface MTU - 32 (IPv4 + UDP + TFTP headers)
  std::uint16_t max_window = 64;
  std::chrono::milliseconds default_timeout{1000};  // first retransmission timeout
  std::chrono::milliseconds max_timeout{8000};      // back-off cap
  std::chrono::milliseconds give_up{30000};         // no progress for this long: abandon
  // Before the client's first ACK, abandon sooner: a real client answers within its own
  // timeout (firmware retries after 1-4 s), while a request that is never acknowledged (a spoofed
  // or flooding source) would hold a transfer slot for the whole give_up.
  std::chrono::milliseconds first_ack_give_up{5000};
};

// The outcome of option negotiation for one request.
struct negotiation {
  std::uint16_t blksize = 512;
  std::uint16_t windowsize = 1;
  std::chrono::milliseconds timeout{1000};
  std::vector<option> oack;  // empty: no OACK, the transfer starts with DATA 1 (RFC 2347 §3)
};

// RFC 2347/2348/2349/7440 negotiation. Only options that were requested and are accepted appear
// in `oack` (pxelinux aborts on unrequested ones), in the order the client sent them. Unknown and
// malformed options are ignored. blksize < 8 is ignored, above 65464 or the limit it is clamped;
// windowsize above the limit is clamped; timeout outside 1..255 is ignored; tsize is answered
// with `file_size`.
negotiation negotiate(const std::vector<option>& requested, std::uint64_t file_size,
                      const transfer_limits& limits);

// What the caller must do after an input.
struct transfer_output {
  bool send_oack = false;
  // Send DATA for absolute blocks [first_block, end_block) (empty when equal).
  std::uint64_t first_block = 0, end_block = 0;
  // Send this ERROR (and the transfer is then done).
  std::optional<request_error> error;
  bool done = false;     // the transfer is over: drop it
  bool success = false;  // done because the last block was acknowledged
};

class transfer {
 public:
  transfer(negotiation n, std::uint64_t file_size, const transfer_limits& limits,
           clock::time_point now);

  // `readable_end`: file bytes [0, readable_end) may be sent now (the caller keeps at least the
  // bytes from acked_offset() on in memory).
  transfer_output start(clock::time_point now, std::uint64_t readable_end);
  transfer_output on_ack(std::uint16_t block, clock::time_point now, std::uint64_t readable_end);
  // An ERROR from the client ends the transfer without a reply (RFC 1350 §7).
  transfer_output on_error(const error_packet& e);
  // Any other packet from the client's TID: ERROR 4, done.
  transfer_output on_illegal();
  // More data became readable (a read-ahead finished).
  transfer_output on_data_ready(clock::time_point now, std::uint64_t readable_end);
  // Call when now >= deadline().
  transfer_output on_timeout(clock::time_point now, std::uint64_t readable_end);

  // When on_timeout() is due; time_point::max() while nothing is outstanding.
  clock::time_point deadline() const { return deadline_; }

  const negotiation& options() const { return n_; }
  std::uint64_t file_size() const { return size_; }
  std::uint64_t block_count() const { return blocks_; }
  std::uint64_t block_offset(std::uint64_t block) const { return (block - 1) * n_.blksize; }
  std::size_t block_length(std::uint64_t block) const;
  static std::uint16_t wire_block(std::uint64_t block) { return block & 0xffff; }
  // Bytes the client has acknowledged: everything before this may be dropped from memory.
  std::uint64_t acked_offset() const { return block_offset(base_); }
  // The end of the current window in bytes: what should be in memory soon.
  std::uint64_t window_end_offset() const;
  std::uint64_t retransmissions() const { return retransmissions_; }
  // The client has acknowledged something (the OACK or a DATA): it is really there.
  bool confirmed() const { return confirmed_; }

 private:
  transfer_output fill(clock::time_point now, std::uint64_t readable_end);
  bool readable(std::uint64_t block, std::uint64_t readable_end) const;
  void progress(clock::time_point now);

  negotiation n_;
  std::uint64_t size_;
  std::uint64_t blocks_;
  transfer_limits limits_;
  bool oack_pending_;
  std::uint64_t base_ = 1;  // oldest unacknowledged block
  std::uint64_t next_ = 1;  // next block to send
  std::chrono::milliseconds rto_;
  clock::time_point last_progress_;
  clock::time_point deadline_ = clock::time_point::max();
  std::uint64_t retransmissions_ = 0;
  bool done_ = false;
  bool confirmed_ = false;
};

}  // namespace diskless::tftp
