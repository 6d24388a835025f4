#pragma once
// In-place edits of the inventory XML that keep comments, order and the formatting of untouched
// parts. Pure text → text functions (testable), plus edit_file() which does the locked
// read-modify-validate-write cycle.
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "inventory/load.hpp"
#include "util/result.hpp"

namespace diskless::inventory {

using attributes = std::vector<std::pair<std::string, std::string>>;  // in the order to write

// Appends <host .../> to <hosts> (created if missing) with the indentation of its siblings.
result<std::string> add_host(std::string_view xml, const attributes& attrs);
// Sets (value non-empty) or removes (value empty) attributes of the host named `key` (name or
// MAC in any spelling).
result<std::string> set_host(std::string_view xml, std::string_view key, const attributes& attrs);
result<std::string> remove_host(std::string_view xml, std::string_view key);
result<std::string> add_image(std::string_view xml, const attributes& attrs);
result<std::string> remove_image(std::string_view xml, std::string_view name);

struct edit_outcome {
  bool ok = false;
  std::string error;  // the edit itself failed (no such host, unreadable file)
  // Validation problems of the edited text; the edit is refused when it has an error the file
  // did not have before (errors already there, confined to a host or image, are tolerated).
  std::vector<problem> problems;
};

// Locks FILE (FILE.lock, flock), reads it, applies `edit`, validates the result and, only when it
// introduces no error, writes it atomically. The file is untouched when anything fails.
edit_outcome edit_file(const std::filesystem::path& file,
                       const std::function<result<std::string>(std::string_view)>& edit,
                       const load_options& opts = {});

}  // namespace diskless::inventory
