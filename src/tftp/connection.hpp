#pragma once
// One TFTP read transfer on the wire: its own socket (TID), timer, the sans-I/O state machine
// (tftp/transfer.hpp) and the file reader. The service (tftp/server.cpp) admits requests and
// creates these; a transfer reports its end through on_finished. Loop thread only.
#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "tftp/files.hpp"
#include "tftp/transfer.hpp"
#include "tftp/wire.hpp"
#include "util/asio.hpp"

namespace diskless::tftp {

using udp = asio::ip::udp;

std::string endpoint_str(const udp::endpoint& e);

// One read transfer: its own socket (TID), timer, state machine and file reader.
class active_transfer : public std::enable_shared_from_this<active_transfer> {
 public:
  active_transfer(std::function<void(active_transfer*)> on_finished, udp::socket sock,
                  udp::endpoint peer, std::string name)
      : on_finished_(std::move(on_finished)),
        sock_(std::move(sock)),
        timer_(sock_.get_executor()),
        peer_(peer),
        name_(std::move(name)),
        started_(clock::now()) {}

  // Starts once the file is known.
  void begin(negotiation n, std::shared_ptr<file_reader> reader, const transfer_limits& limits);
  // Refuses the request from this transfer's socket and ends.
  void refuse(const request_error& e);
  void finish();
  const udp::endpoint& peer() const { return peer_; }
  bool finished() const { return finished_; }
  // The client has acknowledged something; false while the file is still being opened.
  bool confirmed() const { return t_ && t_->confirmed(); }

 private:
  void receive();
  void on_packet(std::size_t n);
  void apply(const transfer_output& out);
  void send(asio::const_buffer b);
  void send_error(const request_error& e, const udp::endpoint& to);
  void arm_timer();

  std::function<void(active_transfer*)> on_finished_;  // the service drops its reference
  udp::socket sock_;
  asio::steady_timer timer_;
  clock::time_point timer_at_ = clock::time_point::max();
  udp::endpoint peer_;
  udp::endpoint from_;
  std::string name_;
  std::optional<transfer> t_;
  std::shared_ptr<file_reader> reader_;
  bytes oack_;
  std::array<std::byte, 2048> buf_{};
  clock::time_point started_;
  bool finished_ = false;
};

}  // namespace diskless::tftp
