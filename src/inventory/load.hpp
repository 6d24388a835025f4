#pragma once
// Loading and validating the inventory XML (elements: man diskless.xml,
// config/diskless.xml.5; see src/inventory/README.md).
//
// Contract: load() never throws and reports every problem it finds at once, each with the file
// and line it is about and a message that says what is wrong and what to write instead. The
// inventory is returned unless an error concerns the whole server: a problem confined to one host
// or image (a missing image file, a host naming an undefined image) disables that entry only, so
// one bad entry never stops the lab.
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "inventory/model.hpp"

namespace diskless::inventory {

// The <host> attributes the loader accepts, in the schema's order: what `diskless host add/set`
// and the API may write.
const std::vector<std::string>& host_attribute_names();

struct problem {
  enum class level { error, warning };
  level severity = level::error;
  std::string file;
  int line = 0;  // 0 when it is about the file as a whole
  std::string message;
  // The host or image the problem is confined to (empty: it concerns the whole server). An error
  // confined to a host or image disables only that entry (inventory::disabled_hosts/_images).
  std::string host, image;
  bool scoped() const { return !host.empty() || !image.empty(); }
  // "FILE:LINE: message" (warnings: "FILE:LINE: warning: message").
  std::string str() const;
};

struct load_result {
  // Null when an error concerns the whole server; otherwise set even when errors confined to
  // hosts or images disabled them (listed in inv->disabled_hosts/_images).
  std::shared_ptr<inventory> inv;
  std::vector<problem> problems;
  // Usable: serve and the read-only commands work with it (minus its disabled entries).
  bool loaded() const { return inv != nullptr; }
  // No errors at all (check, and an edit's result).
  bool ok() const { return inv != nullptr && error_count() == 0; }
  std::size_t error_count() const;
};

struct load_options {
  // Relative paths in the file resolve against this. Empty: load_file and edit_file use the
  // directory of the inventory file, load_text the current working directory.
  std::filesystem::path base_dir;
  // Check that image files exist (the CLI and serve do; pure-syntax tests may not).
  bool check_files = true;
};

// The directory relative paths inside the inventory `file` resolve against: the directory that
// holds the file (absolute), whatever the current directory is.
std::filesystem::path base_dir_of(const std::filesystem::path& file);

// Reads and validates the file.
load_result load_file(const std::filesystem::path& file, const load_options& opts = {});
// Validates XML text; `file` is only used in messages and as inventory::source.
load_result load_text(std::string_view xml, const std::filesystem::path& file,
                      const load_options& opts = {});

// Converts a byte offset in text to a 1-based line number.
int line_of_offset(std::string_view text, std::ptrdiff_t offset);

// Parses "3600", "90s", "30m", "1h", "2d" into seconds; nullopt when malformed.
std::optional<std::chrono::seconds> parse_duration(std::string_view s);
// Parses "500ms", "2s", "0"; nullopt when malformed.
std::optional<std::chrono::milliseconds> parse_millis(std::string_view s);
// RFC 3720 §3.2.6.3.1 iqn. names: "iqn.YYYY-MM.reversed.domain[:anything]", lower case.
bool is_valid_iqn(std::string_view s);
// Host names usable in IQNs and file names: [a-z0-9][a-z0-9.-]{0,62}.
bool is_valid_host_name(std::string_view s);

}  // namespace diskless::inventory
