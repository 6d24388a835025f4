#include "tftp/connection.hpp"

#include "util/log.hpp"

namespace diskless::tftp {

std::string endpoint_str(const udp::endpoint& e) {
  return e.address().to_string() + ":" + std::to_string(e.port());
}

void active_transfer::begin(negotiation n, std::shared_ptr<file_reader> reader,
                            const transfer_limits& limits) {
  if (finished_) return;
  reader_ = std::move(reader);
  auto now = clock::now();
  auto size = reader_->size();
  if (!n.oack.empty()) oack_ = encode_oack(n.oack);
  t_.emplace(std::move(n), size, limits, now);
  reader_->set_on_ready([weak = weak_from_this()] {
    auto self = weak.lock();
    if (!self || self->finished_) return;
    if (self->reader_->failed()) {
      log::tftp().warn("{}: read error on '{}'", endpoint_str(self->peer_), self->name_);
      self->send_error({error_code::not_defined, "read error"}, self->peer_);
      self->finish();
      return;
    }
    self->apply(self->t_->on_data_ready(clock::now(), self->reader_->readable_end()));
  });
  reader_->prefetch(t_->window_end_offset());
  receive();
  apply(t_->start(now, reader_->readable_end()));
}

void active_transfer::refuse(const request_error& e) {
  send_error(e, peer_);
  finish();
}

void active_transfer::finish() {
  if (finished_) return;
  finished_ = true;
  boost::system::error_code ec;
  timer_.cancel();
  sock_.close(ec);
  if (reader_) reader_->set_on_ready(nullptr);
  auto self = shared_from_this();  // keep alive while the service drops its reference
  on_finished_(this);
}

void active_transfer::receive() {
  sock_.async_receive_from(
      asio::buffer(buf_), from_,
      [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
        if (self->finished_) return;
        if (ec) {
          // ICMP port unreachable surfaces as connection_refused: the
          // client is gone; let the timer give up.
          if (ec == asio::error::operation_aborted) return;
          self->receive();
          return;
        }
        self->on_packet(n);
        if (!self->finished_) self->receive();
      });
}

void active_transfer::on_packet(std::size_t n) {
  byte_span pkt(buf_.data(), n);
  if (from_ != peer_) {
    // RFC 1350 §4: a packet from a wrong TID gets ERROR 5 and does not disturb the transfer.
    log::tftp().debug("{}: packet from unknown TID {}", endpoint_str(peer_), endpoint_str(from_));
    send_error({error_code::unknown_tid, "unknown transfer ID"}, from_);
    return;
  }
  if (!t_) return;  // file still opening: the client is early; its retransmit will follow
  auto op = peek_opcode(pkt);
  auto now = clock::now();
  if (op == static_cast<std::uint16_t>(opcode::ack)) {
    auto block = parse_ack(pkt);
    if (!block) {
      log::tftp().debug("{}: malformed ACK dropped", endpoint_str(peer_));
      return;
    }
    apply(t_->on_ack(*block, now, reader_->readable_end()));
  } else if (op == static_cast<std::uint16_t>(opcode::error)) {
    auto e = parse_error(pkt);
    if (!e) {
      log::tftp().debug("{}: malformed ERROR dropped", endpoint_str(peer_));
      return;
    }
    log::tftp().info("{}: client ended '{}': error {} {}", endpoint_str(peer_), name_, e->code,
                     e->message);
    apply(t_->on_error(*e));
  } else if (!op) {
    log::tftp().debug("{}: runt packet dropped", endpoint_str(peer_));
  } else {
    apply(t_->on_illegal());
  }
}

void active_transfer::apply(const transfer_output& out) {
  if (out.send_oack) send(asio::buffer(oack_));
  for (auto b = out.first_block; b < out.end_block; ++b) {
    auto hdr = data_header(transfer::wire_block(b));
    auto len = t_->block_length(b);
    auto data = reader_->bytes(t_->block_offset(b), len);
    std::array<asio::const_buffer, 2> bufs{asio::buffer(hdr),
                                           asio::buffer(data.data(), data.size())};
    boost::system::error_code ec;
    // Non-blocking: a full socket buffer is a lost packet the retransmission repairs.
    sock_.send_to(bufs, peer_, 0, ec);
  }
  if (out.error) send_error(*out.error, peer_);
  if (out.done) {
    auto secs = std::chrono::duration<double>(clock::now() - started_).count();
    if (out.success)
      log::tftp().info("{}: sent '{}' ({} bytes, blksize {}, windowsize {}) in {:.3f} s",
                       endpoint_str(peer_), name_, t_->file_size(), t_->options().blksize,
                       t_->options().windowsize, secs);
    else if (out.error)
      log::tftp().info("{}: '{}' abandoned: {}", endpoint_str(peer_), name_, out.error->message);
    finish();
    return;
  }
  reader_->release_before(t_->acked_offset());
  reader_->prefetch(t_->window_end_offset());
  arm_timer();
}

void active_transfer::send(asio::const_buffer b) {
  boost::system::error_code ec;
  sock_.send_to(std::array<asio::const_buffer, 1>{b}, peer_, 0, ec);
}

void active_transfer::send_error(const request_error& e, const udp::endpoint& to) {
  auto pkt = encode_error(e.code, e.message);
  boost::system::error_code ec;
  sock_.send_to(asio::buffer(pkt), to, 0, ec);
}

// The timer is re-armed only when the deadline moves earlier; when it fires early (the deadline
// moved later, as on every ACK) it is simply re-armed. This keeps timer syscalls off the
// per-packet path.
void active_transfer::arm_timer() {
  auto d = t_->deadline();
  if (d == clock::time_point::max() || d >= timer_at_) return;
  timer_at_ = d;
  timer_.expires_at(d);
  timer_.async_wait([self = shared_from_this(), d](boost::system::error_code ec) {
    if (ec || self->finished_ || self->timer_at_ != d) return;
    self->timer_at_ = clock::time_point::max();
    auto now = clock::now();
    if (now >= self->t_->deadline())
      self->apply(self->t_->on_timeout(now, self->reader_->readable_end()));
    else
      self->arm_timer();
  });
}

}  // namespace diskless::tftp
