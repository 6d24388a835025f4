#include "iscsi/writer.hpp"

#include <sys/sendfile.h>
#include <sys/socket.h>

#include <cerrno>

namespace diskless::iscsi {

file_piece file_piece::of(const out_pdu& p, const wire_frame& f) {
  file_piece pc;
  pc.head = f.head;
  pc.head_len = f.head_len;
  pc.fd = p.file_fd;
  pc.offset = p.offset;
  pc.length = p.length;
  pc.tail = f.tail;
  pc.tail_len = f.tail_len;
  return pc;
}

namespace {

// One send()/sendfile() step for the piece at byte pos; returns what the call returned, with
// -1/EIO when the file ended early (the image shrank: the promised bytes cannot be sent).
ssize_t send_step(int sock, const file_piece& pc, std::size_t pos) {
  if (pos < pc.head_len) {
    // MSG_MORE: the header joins the data that follows in one segment.
    return ::send(sock, pc.head.data() + pos, pc.head_len - pos, MSG_NOSIGNAL | MSG_MORE);
  }
  if (pos < pc.head_len + pc.length) {
    std::size_t done = pos - pc.head_len;
    off_t off = static_cast<off_t>(pc.offset + done);
    ssize_t k = ::sendfile(sock, pc.fd, &off, pc.length - done);
    if (k == 0) {
      errno = EIO;
      return -1;
    }
    return k;
  }
  std::size_t done = pos - pc.head_len - pc.length;
  return ::send(sock, pc.tail.data() + done, pc.tail_len - done, MSG_NOSIGNAL);
}

}  // namespace

file_progress send_pieces(int sock, const std::vector<file_piece>& pieces, std::size_t pos) {
  file_progress p;
  p.pos = pos;
  for (const auto& pc : pieces) {
    while (p.pos < pc.total()) {
      ssize_t k = send_step(sock, pc, p.pos);
      if (k < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) p.err = errno;
        return p;
      }
      p.pos += static_cast<std::size_t>(k);
    }
    ++p.items;
    p.pos = 0;
  }
  return p;
}

}  // namespace diskless::iscsi
