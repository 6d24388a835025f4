#pragma once
// Cross-entry checks of a parsed inventory (duplicates, references, subnets, files).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "inventory/load.hpp"

namespace diskless::inventory {

// Appends every problem found to `out` (file is the name used in messages).
void validate(const inventory& inv, const load_options& opts, std::vector<problem>& out,
              const std::string& file);

// Disables the hosts and images that errors confined to them are about (problem::host/image),
// and the hosts of a disabled image; adds a warning per disabled host saying what its PC gets.
void disable_scoped(inventory& inv, std::vector<problem>& problems, const std::string& file);

// Why a value would change the meaning of an iPXE script it is rendered into, or nullopt when it
// is inert there. iPXE reads a script line by line, expands ${name} settings anywhere in a line,
// treats quotes and backslashes as quoting, and ends a command at a word that starts with '#' or
// is "||" or "&&" (ipxe.org/scripting); none of these can be escaped, so such values are refused.
// Refused: control characters (a newline starts a new command), "${", '"', '\'', '\\', and such
// words; with one_word, any space too (names, secrets: one argument each).
std::optional<std::string> ipxe_hazard(std::string_view value, bool one_word);

}  // namespace diskless::inventory
