#pragma once
// The blocking half of the connection's writer: file-backed PDUs (Data-In that stays in the
// image) go out as header bytes, a sendfile() range and trailer bytes, on a pool thread and a
// non-blocking socket. No Asio here; connection.cpp queues, frames and resumes.
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "iscsi/pdu.hpp"

namespace diskless::iscsi {

// One file-backed PDU as it goes on the wire.
struct file_piece {
  std::array<std::byte, bhs_size + 4> head{};
  std::size_t head_len = 0;
  int fd = -1;
  std::uint64_t offset = 0;
  std::size_t length = 0;
  std::array<std::byte, 8> tail{};
  std::size_t tail_len = 0;
  std::size_t total() const { return head_len + length + tail_len; }
  // p must be from_file(); f is its frame_for().
  static file_piece of(const out_pdu& p, const wire_frame& f);
};

struct file_progress {
  std::size_t items = 0;  // pieces completely sent
  std::size_t pos = 0;    // bytes of the next piece already sent
  int err = 0;            // errno of a failure (the connection must end), 0 if none
};

// Sends pieces from byte `pos` of the first on non-blocking socket `sock` until all are sent or
// the socket is full (EAGAIN: progress says how far it got). May block on the disk (sendfile):
// pool threads only.
file_progress send_pieces(int sock, const std::vector<file_piece>& pieces, std::size_t pos);

}  // namespace diskless::iscsi
