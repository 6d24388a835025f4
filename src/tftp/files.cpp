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

std::string to_netascii(std::string_view in) {
  std::string out;
  out.reserve(in.size() + in.size() / 16);
  for (char c : in) {
    if (c == '\n') {
      out += "\r\n";
    } else if (c == '\r') {
      out += '\r';
      out += '\0';
    } else {
      out += c;
    }
  }
  return out;
}

opened_file::opened_file(opened_file&& o) noexcept
    : fd(o.fd),
      memory(std::move(o.memory)),
      size(o.size),
      error(std::move(o.error)),
      where(std::move(o.where)) {
  o.fd = -1;
}

opened_file& opened_file::operator=(opened_file&& o) noexcept {
  if (this != &o) {
    if (fd >= 0) ::close(fd);
    fd = o.fd;
    o.fd = -1;
    memory = std::move(o.memory);
    size = o.size;
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
    constexpr std::uint64_t max_netascii = 64ull << 20;
    if (f.size > max_netascii) {
      f.error = request_error{error_code::not_defined, "file too large for netascii"};
      return f;
    }
    std::string raw(f.size, '\0');
    std::size_t got = 0;
    while (got < raw.size()) {
      ssize_t n = ::pread(f.fd, raw.data() + got, raw.size() - got, static_cast<off_t>(got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    raw.resize(got);
    auto text = std::make_shared<const std::string>(to_netascii(raw));
    f.size = text->size();
    f.memory = std::move(text);
    ::close(f.fd);
    f.fd = -1;
  }
  return f;
}

file_reader::file_reader(std::shared_ptr<const std::string> content)
    : memory_(std::move(content)), size_(memory_ ? memory_->size() : 0) {}

file_reader::file_reader(opened_file file, io_pool& pool, std::size_t blksize,
                         std::size_t chunk_size)
    : pool_(&pool), size_(file.size) {
  if (file.memory) {
    memory_ = std::move(file.memory);
    size_ = memory_->size();
    return;
  }
  blksize = std::max<std::size_t>(blksize, 1);
  chunk_size_ = std::max<std::size_t>(1, (chunk_size + blksize - 1) / blksize) * blksize;
  file_ = std::make_shared<opened_file>(std::move(file));
}

file_reader::~file_reader() = default;

std::uint64_t file_reader::readable_end() const {
  if (memory_ || !file_) return size_;
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
          std::size_t got = 0;
          while (got < len) {
            ssize_t n =
                ::pread(file->fd, r.data.data() + got, len - got, static_cast<off_t>(off + got));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            got += static_cast<std::size_t>(n);
          }
          r.ok = got == len;  // a file that shrank under us is a read error
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
