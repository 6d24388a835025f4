#include "tftp/transfer.hpp"

#include <algorithm>
#include <string>

namespace diskless::tftp {

negotiation negotiate(const std::vector<option>& requested, std::uint64_t file_size,
                      const transfer_limits& limits) {
  negotiation n;
  n.timeout = limits.default_timeout;
  for (const auto& o : requested) {
    auto v = parse_decimal(o.value);
    if (o.name == "blksize") {
      // RFC 2348: 8..65464 octets; the server may answer with a smaller value. We also clamp
      // to the interface MTU so firmware never has to reassemble fragments.
      if (!v || *v < 8) continue;
      std::uint64_t b = std::min<std::uint64_t>(*v, 65464);
      b = std::min<std::uint64_t>(b, std::max<std::uint16_t>(limits.max_blksize, 8));
      n.blksize = static_cast<std::uint16_t>(b);
      n.oack.push_back({o.name, std::to_string(b)});
    } else if (o.name == "tsize") {
      // RFC 2349 §4: in a RRQ the client sends 0 and the server answers with the size.
      if (!v) continue;
      n.oack.push_back({o.name, std::to_string(file_size)});
    } else if (o.name == "timeout") {
      // RFC 2349 §3: 1..255 seconds; the server must not answer with a different value.
      if (!v || *v < 1 || *v > 255) continue;
      n.timeout = std::chrono::seconds(*v);
      n.oack.push_back({o.name, std::to_string(*v)});
    } else if (o.name == "windowsize") {
      // RFC 7440 §3: 1..65535 blocks; the server may answer with a smaller value.
      if (!v || *v < 1 || *v > 65535) continue;
      std::uint64_t w = std::min<std::uint64_t>(*v, std::max<std::uint16_t>(limits.max_window, 1));
      n.windowsize = static_cast<std::uint16_t>(w);
      n.oack.push_back({o.name, std::to_string(w)});
    }
    // RFC 2347 §3: options the server does not support are omitted from the OACK.
  }
  return n;
}

transfer::transfer(negotiation n, std::uint64_t file_size, const transfer_limits& limits,
                   clock::time_point now)
    : n_(std::move(n)),
      size_(file_size),
      blocks_(file_size / n_.blksize + 1),
      limits_(limits),
      oack_pending_(!n_.oack.empty()),
      rto_(n_.timeout),
      last_progress_(now) {}

std::size_t transfer::block_length(std::uint64_t block) const {
  std::uint64_t off = block_offset(block);
  if (off >= size_) return 0;
  return static_cast<std::size_t>(std::min<std::uint64_t>(n_.blksize, size_ - off));
}

std::uint64_t transfer::window_end_offset() const {
  std::uint64_t end_block = std::min(base_ + n_.windowsize, blocks_ + 1);
  return std::min(block_offset(end_block), size_);
}

bool transfer::readable(std::uint64_t block, std::uint64_t readable_end) const {
  return block_offset(block) + block_length(block) <= readable_end;
}

void transfer::progress(clock::time_point now) {
  confirmed_ = true;
  last_progress_ = now;
  rto_ = n_.timeout;
}

transfer_output transfer::start(clock::time_point now, std::uint64_t readable_end) {
  if (oack_pending_) {
    // RFC 2347 §4: the OACK is acknowledged with ACK 0 before DATA 1 is sent.
    transfer_output out;
    out.send_oack = true;
    deadline_ = now + rto_;
    return out;
  }
  return fill(now, readable_end);
}

transfer_output transfer::fill(clock::time_point now, std::uint64_t readable_end) {
  transfer_output out;
  std::uint64_t limit = std::min(base_ + n_.windowsize, blocks_ + 1);
  out.first_block = next_;
  while (next_ < limit && readable(next_, readable_end)) ++next_;
  out.end_block = next_;
  // Retransmission timer runs while anything is in flight; otherwise we wait for data.
  deadline_ = next_ > base_ ? now + rto_ : clock::time_point::max();
  return out;
}

transfer_output transfer::on_ack(std::uint16_t block, clock::time_point now,
                                 std::uint64_t readable_end) {
  if (done_) return {};
  if (oack_pending_) {
    if (block != 0) return {};  // not the ACK of our OACK: ignore
    oack_pending_ = false;
    progress(now);
    return fill(now, readable_end);
  }
  // Map the 16-bit number onto the window [base-1, next-1]: the window is at most 65535 blocks
  // wide, so the mapping is unique and survives rollover.
  std::uint64_t prev = base_ - 1;
  std::uint64_t k = prev + static_cast<std::uint16_t>(block - wire_block(prev));
  if (k >= next_) return {};  // for a block we never sent (or a stale one from long ago)
  if (k == prev) return {};   // duplicate ACK: ignore (no sorcerer's apprentice, RFC 1123 4.2.3.1)
  base_ = k + 1;
  progress(now);
  if (k == blocks_) {
    done_ = true;
    deadline_ = clock::time_point::max();
    transfer_output out;
    out.done = out.success = true;
    return out;
  }
  // RFC 7440 §4: an ACK for a block inside the window means the client lost the one after it;
  // the window restarts from there.
  if (k + 1 < next_) next_ = k + 1;
  return fill(now, readable_end);
}

transfer_output transfer::on_error(const error_packet&) {
  done_ = true;
  deadline_ = clock::time_point::max();
  transfer_output out;
  out.done = true;
  return out;
}

transfer_output transfer::on_illegal() {
  done_ = true;
  deadline_ = clock::time_point::max();
  transfer_output out;
  out.error = request_error{error_code::illegal_operation, "illegal TFTP operation"};
  out.done = true;
  return out;
}

transfer_output transfer::on_data_ready(clock::time_point now, std::uint64_t readable_end) {
  if (done_ || oack_pending_) return {};
  // Only send blocks not yet sent; keep an already running retransmission timer.
  auto saved = deadline_;
  bool in_flight = next_ > base_;
  auto out = fill(now, readable_end);
  if (in_flight) deadline_ = saved;
  return out;
}

transfer_output transfer::on_timeout(clock::time_point now, std::uint64_t readable_end) {
  if (done_ || now < deadline_) return {};
  auto give_up =
      confirmed_ ? limits_.give_up : std::min(limits_.give_up, limits_.first_ack_give_up);
  if (now - last_progress_ >= give_up) {
    done_ = true;
    deadline_ = clock::time_point::max();
    transfer_output out;
    out.error = request_error{error_code::not_defined, "timed out"};
    out.done = true;
    return out;
  }
  // Back-off: double the timeout on every retry without progress, up to the cap.
  rto_ = std::min(rto_ * 2, std::max(limits_.max_timeout, n_.timeout));
  ++retransmissions_;
  if (oack_pending_) {
    transfer_output out;
    out.send_oack = true;
    deadline_ = now + rto_;
    return out;
  }
  // RFC 7440 §4: on timeout, resend the window from the oldest unacknowledged block.
  next_ = base_;
  return fill(now, readable_end);
}

}  // namespace diskless::tftp
