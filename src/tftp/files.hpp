#pragma once
// What a TFTP read serves, once the boot catalog (boot/catalog.hpp) has said where a name lives:
// bytes in memory (scripts, kernels, initrds) or a file on disk (the TFTP root, then the ipxe
// package), opened here on the io_pool and read ahead in chunks.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "boot/open.hpp"
#include "tftp/netascii.hpp"
#include "tftp/wire.hpp"
#include "util/bytes.hpp"

namespace diskless {
class io_pool;
}

namespace diskless::tftp {

// Turns a requested filename into a path relative to the root: '\' is taken as '/', leading and
// repeated '/' and "." components are dropped. nullopt (refuse with ERROR 2) for a ".."
// component, a NUL byte, or nothing left.
std::optional<std::string> normalise_path(std::string_view requested);

// An open file, ready to be read; owns its descriptor.
struct opened_file {
  opened_file() = default;
  opened_file(opened_file&& o) noexcept;
  opened_file& operator=(opened_file&& o) noexcept;
  opened_file(const opened_file&) = delete;
  opened_file& operator=(const opened_file&) = delete;
  ~opened_file();

  int fd = -1;             // when served from disk
  std::uint64_t size = 0;  // the bytes served: for netascii, the converted size
  bool netascii = false;   // converted while sent (file_reader); size is the converted size
  std::optional<request_error> error;  // set when the file cannot be served
  std::filesystem::path where;         // for logs
};

// Opens f (its rel normalised) with boot::open_disk: the root jailed, then the fallbacks.
// BLOCKING: run it on the io_pool. Errors: ERROR 1 when missing everywhere or not a regular file,
// ERROR 2 for an escape, an unnormalised name or a permission problem. For netascii the file is
// read through once in small pieces to count its converted size (so tsize is exact); it is
// converted later, chunk by chunk, by the file_reader.
opened_file open_file(const boot::disk_file& f, transfer_mode mode);

// One transfer's view of a file's bytes: served from memory, filled by large read-ahead chunks
// (pread on the io_pool) so the loop never waits for the disk. Chunks are whole multiples of the
// block size, so any block lies within one chunk. In netascii mode the chunks hold converted
// bytes, produced on the io_pool one after the other (each starts where the previous one's
// conversion stopped), from memory or from the file: memory held is a few chunks per transfer,
// never a converted copy of the file. Used on the loop thread only.
class file_reader : public std::enable_shared_from_this<file_reader> {
 public:
  // A file in memory (virtual files), served as is.
  explicit file_reader(std::shared_ptr<const std::string> content);
  // A file in memory served as netascii; converted_size is netascii_size(*content).
  file_reader(std::shared_ptr<const std::string> content, std::uint64_t converted_size,
              io_pool& pool, std::size_t blksize, std::size_t chunk_size);
  // A file on disk (takes the descriptor). chunk_size is rounded up to a multiple of blksize.
  file_reader(opened_file file, io_pool& pool, std::size_t blksize, std::size_t chunk_size);
  ~file_reader();
  file_reader(const file_reader&) = delete;
  file_reader& operator=(const file_reader&) = delete;

  std::uint64_t size() const { return size_; }
  // Bytes [kept_begin, readable_end) are in memory.
  std::uint64_t readable_end() const;
  // The bytes [offset, offset+len) — which must be in memory and within one chunk.
  byte_span bytes(std::uint64_t offset, std::size_t len) const;
  // Drop chunks wholly before offset.
  void release_before(std::uint64_t offset);
  // Start reads so that everything up to `until` (plus one chunk of read-ahead) arrives.
  void prefetch(std::uint64_t until);
  // Called on the loop when a read completes (data or failure).
  void set_on_ready(std::function<void()> f) { on_ready_ = std::move(f); }
  bool failed() const { return failed_; }

 private:
  struct chunk {
    std::uint64_t offset = 0;
    diskless::bytes data;
    bool loaded = false;
  };
  struct read_result {
    std::uint64_t offset = 0;
    diskless::bytes data;
    bool ok = false;
  };
  struct convert_result {
    std::uint64_t offset = 0;  // converted offset of the chunk
    diskless::bytes data;
    std::uint64_t source_next = 0;  // source offset where the next chunk's conversion starts
    netascii_encoder encoder;       // its state there (a CR's second byte still owed)
    bool ok = false;
  };
  void completed(read_result r);
  void converted(convert_result r);
  void set_chunk_size(std::size_t blksize, std::size_t chunk_size);
  void prefetch_netascii(std::uint64_t until);
  static convert_result convert(const std::shared_ptr<const std::string>& memory,
                                const std::shared_ptr<opened_file>& file, std::uint64_t offset,
                                std::size_t len, std::uint64_t source_offset,
                                netascii_encoder encoder);

  std::shared_ptr<const std::string> memory_;
  std::shared_ptr<opened_file> file_;
  io_pool* pool_ = nullptr;
  std::uint64_t size_ = 0;
  std::size_t chunk_size_ = 0;
  std::vector<chunk> chunks_;     // ascending offsets, contiguous
  std::uint64_t kept_begin_ = 0;  // offset of the first chunk kept (or to be read)
  std::uint64_t next_read_ = 0;   // offset of the next chunk to request
  bool failed_ = false;
  // netascii: the source (memory_src_ or file_) and where its conversion stands.
  bool netascii_ = false;
  std::shared_ptr<const std::string> memory_src_;
  std::uint64_t source_next_ = 0;
  netascii_encoder encoder_;
  bool converting_ = false;  // one conversion in flight at a time (each continues the last)
  std::uint64_t wanted_ = 0;
  std::function<void()> on_ready_;
};

}  // namespace diskless::tftp
