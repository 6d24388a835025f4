#pragma once
// Small blocking file helpers for the CLI and start-up (never for the event loop's hot path).
#include <filesystem>
#include <string>

#include "util/result.hpp"

namespace diskless {

result<std::string> read_file(const std::filesystem::path& path);

// Writes content to path atomically: a temp file in the same directory, fsync, rename, fsync of
// the directory. Readers see the old file or the new one, never a mix.
result<void> write_file_atomic(const std::filesystem::path& path, const std::string& content);

// An exclusive advisory lock (flock) on "<path>.lock", held for the object's lifetime. Used for
// read-modify-write of the inventory so two editors cannot lose an edit.
class file_lock {
 public:
  explicit file_lock(const std::filesystem::path& path);
  ~file_lock();
  file_lock(const file_lock&) = delete;
  file_lock& operator=(const file_lock&) = delete;
  bool locked() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace diskless
