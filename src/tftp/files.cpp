#include "tftp/files.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "util/io_pool.hpp"

namespace diskless::tftp {

std::optional<std::string> normalise_path(std::string_view requested) {
  std::string out;
  std::size_t i = 0;
  while (i <= requested.size()) {
    std::size_t j = i;
    while (j < requested.size() && requested[j] != '/' && requested[j] != '\\') {
      if (requested[j] == '\0') return std::nullopt;
      ++j;
    }
    std::string_view part = requested.substr(i, j - i);
    if (part == "..") return std::nullopt;  // never climb, not even inside the root
    if (!part.empty() && part != ".") {
      if (!out.empty()) out += '/';
      out += part;
    }
    i = j + 1;
  }
  if (out.empty()) return std::nullopt;
  return out;
}

namespace {

// Reads from fd at offset until `len` bytes or end of file; the bytes read.
std::size_t read_at(int fd, std::byte* to, std::size_t len, std::uint64_t offset) {
  std::size_t got = 0;
  while (got < len) {
    ssize_t n = ::pread(fd, to + got, len - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  return got;
}

constexpr std::size_t source_piece = 64 * 1024;  // netascii reads the file in pieces this big

}  // namespace

opened_file::opened_file(opened_file&& o) noexcept
    : fd(o.fd),
      size(o.size),
      netascii(o.netascii),
      error(std::move(o.error)),
      where(std::move(o.where)) {
  o.fd = -1;
}

opened_file& opened_file::operator=(opened_file&& o) noexcept {
  if (this != &o) {
    if (fd >= 0) ::close(fd);
    fd = o.fd;
    o.fd = -1;
    size = o.size;
    netascii = o.netascii;
    error = std::move(o.error);
    where = std::move(o.where);
  }
  return *this;
}

opened_file::~opened_file() {
  if (fd >= 0) ::close(fd);
}

opened_file open_file(const boot::disk_file& file, transfer_mode mode) {
  opened_file f;
  // Callers pass normalise_path() output; anything else is refused here too.
  if (normalise_path(file.rel) != file.rel) {
    f.error = request_error{error_code::access_violation, "access violation"};
    return f;
  }
  auto o = boot::open_disk(file);
  using st = boot::opened::status;
  if (o.what == st::refused) {
    // An escape from the root, a symlink loop or magic link, or permissions.
    f.error = request_error{error_code::access_violation, "access violation"};
    return f;
  }
  if (o.what == st::not_regular) {
    f.error = request_error{error_code::file_not_found, "not a regular file"};
    return f;
  }
  if (o.what == st::missing) {
    f.error = request_error{error_code::file_not_found, "file not found"};
    return f;
  }
  f.fd = o.fd;
  f.size = o.size;
  f.where = std::move(o.where);
  if (mode == transfer_mode::netascii) {
    // One pass in fixed-size pieces to learn the converted size (tsize, the last block); the
    // conversion itself happens chunk by chunk as the transfer goes.
    diskless::bytes piece(source_piece);
    std::uint64_t raw = 0, converted = 0;
    while (raw < f.size) {
      auto want = static_cast<std::size_t>(std::min<std::uint64_t>(piece.size(), f.size - raw));
      auto got = read_at(f.fd, piece.data(), want, raw);
      if (got != want) {
        f.error = request_error{error_code::not_defined, "read error"};
        return f;
      }
      converted += netascii_size(byte_span(piece.data(), got));
      raw += got;
    }
    f.size = converted;
    f.netascii = true;
  }
  return f;
}

file_reader::file_reader(std::shared_ptr<const std::string> content)
    : memory_(std::move(content)), size_(memory_ ? memory_->size() : 0) {}

file_reader::file_reader(std::shared_ptr<const std::string> content, std::uint64_t converted_size,
                         io_pool& pool, std::size_t blksize, std::size_t chunk_size)
    : pool_(&pool), size_(converted_size), netascii_(true), memory_src_(std::move(content)) {
  set_chunk_size(blksize, chunk_size);
}

file_reader::file_reader(opened_file file, io_pool& pool, std::size_t blksize,
                         std::size_t chunk_size)
    : pool_(&pool), size_(file.size), netascii_(file.netascii) {
  set_chunk_size(blksize, chunk_size);
  file_ = std::make_shared<opened_file>(std::move(file));
}

void file_reader::set_chunk_size(std::size_t blksize, std::size_t chunk_size) {
  blksize = std::max<std::size_t>(blksize, 1);
  chunk_size_ = std::max<std::size_t>(1, (chunk_size + blksize - 1) / blksize) * blksize;
}

file_reader::~file_reader() = default;

std::uint64_t file_reader::readable_end() const {
  if (memory_ || (!file_ && !memory_src_)) return size_;
  std::uint64_t end = kept_begin_;
  for (const auto& c : chunks_) {
    if (!c.loaded) break;
    end = c.offset + c.data.size();
  }
  return end;
}

byte_span file_reader::bytes(std::uint64_t offset, std::size_t len) const {
  if (len == 0) return {};
  if (memory_) {
    if (offset + len > memory_->size()) return {};
    return std::as_bytes(std::span<const char>(memory_->data() + offset, len));
  }
  for (const auto& c : chunks_) {
    if (c.loaded && offset >= c.offset && offset + len <= c.offset + c.data.size())
      return byte_span(c.data).subspan(static_cast<std::size_t>(offset - c.offset), len);
  }
  return {};
}

void file_reader::release_before(std::uint64_t offset) {
  while (!chunks_.empty() && chunks_.front().loaded &&
         chunks_.front().offset + chunks_.front().data.size() <= offset) {
    kept_begin_ = chunks_.front().offset + chunks_.front().data.size();
    chunks_.erase(chunks_.begin());
  }
}

void file_reader::prefetch(std::uint64_t until) {
  if (netascii_) return prefetch_netascii(until);
  if (!file_ || failed_) return;
  std::uint64_t target = std::min<std::uint64_t>(size_, until + chunk_size_);
  while (next_read_ < target) {
    std::uint64_t off = next_read_;
    std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_size_, size_ - off));
    chunks_.push_back(chunk{off, {}, false});
    next_read_ += len;
    // The work owns the descriptor (shared) so it stays valid even if the transfer is gone; the
    // completion only touches the reader if it still exists.
    pool_->submit(
        [file = file_, off, len]() {
          read_result r;
          r.offset = off;
          r.data.resize(len);
          // A file that shrank under us is a read error.
          r.ok = read_at(file->fd, r.data.data(), len, off) == len;
          return r;
        },
        [weak = weak_from_this()](read_result r) {
          if (auto self = weak.lock()) self->completed(std::move(r));
        });
  }
}

void file_reader::completed(read_result r) {
  if (!r.ok) {
    failed_ = true;
  } else {
    for (auto& c : chunks_) {
      if (c.offset == r.offset && !c.loaded) {
        c.data = std::move(r.data);
        c.loaded = true;
        break;
      }
    }
  }
  if (on_ready_) on_ready_();
}

}  // namespace diskless::tftp

namespace diskless::tftp {

void file_reader::prefetch_netascii(std::uint64_t until) {
  wanted_ = std::max(wanted_, until);
  if (failed_ || converting_) return;
  std::uint64_t target = std::min<std::uint64_t>(size_, wanted_ + chunk_size_);
  if (next_read_ >= target) return;
  std::uint64_t off = next_read_;
  std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_size_, size_ - off));
  chunks_.push_back(chunk{off, {}, false});
  next_read_ += len;
  converting_ = true;
  // The work holds the source (shared) so it stays valid even if the transfer is gone.
  pool_->submit([memory = memory_src_, file = file_, off, len, from = source_next_,
                 enc = encoder_]() { return convert(memory, file, off, len, from, enc); },
                [weak = weak_from_this()](convert_result r) {
                  if (auto self = weak.lock()) self->converted(std::move(r));
                });
}

// Runs on the io_pool: `len` converted bytes starting at source offset `from` with the encoder
// state the previous chunk left. Reads the file in pieces, so memory is the chunk plus a piece.
file_reader::convert_result file_reader::convert(const std::shared_ptr<const std::string>& memory,
                                                 const std::shared_ptr<opened_file>& file,
                                                 std::uint64_t offset, std::size_t len,
                                                 std::uint64_t from, netascii_encoder enc) {
  convert_result r;
  r.offset = offset;
  r.data.reserve(len);
  enc.flush(r.data, len);
  diskless::bytes piece;
  while (r.data.size() < len) {
    byte_span in;
    if (memory) {
      if (from >= memory->size()) break;
      in = std::as_bytes(std::span<const char>(memory->data() + from, memory->size() - from));
    } else {
      piece.resize(source_piece);
      piece.resize(read_at(file->fd, piece.data(), piece.size(), from));
      if (piece.empty()) break;
      in = byte_span(piece);
    }
    from += enc.encode(in, r.data, len);
  }
  r.ok = r.data.size() == len;  // a source that shrank under us is a read error
  r.source_next = from;
  r.encoder = enc;
  return r;
}

void file_reader::converted(convert_result r) {
  converting_ = false;
  if (!r.ok) {
    failed_ = true;
  } else {
    source_next_ = r.source_next;
    encoder_ = r.encoder;
    for (auto& c : chunks_) {
      if (c.offset == r.offset && !c.loaded) {
        c.data = std::move(r.data);
        c.loaded = true;
        break;
      }
    }
    prefetch_netascii(wanted_);
  }
  if (on_ready_) on_ready_();
}

}  // namespace diskless::tftp
