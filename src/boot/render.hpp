#pragma once
// Template rendering: `{{name}}` placeholders (optional spaces inside the braces) replaced by
// values. iPXE's own `${setting}` syntax is left alone, so templates stay plain iPXE scripts.
//
// Contract: render() never throws. An unknown placeholder or an unterminated `{{` is an error
// naming the 1-based line and the placeholder, so a broken admin-edited template is loud (TFTP
// answers with the error, `diskless check` lists it) instead of booting a half-rendered script.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace diskless::boot {

using variables = std::map<std::string, std::string, std::less<>>;

// The rendered text, or "line N: unknown placeholder {{x}} (known: ...)".
result<std::string> render(std::string_view text, const variables& vars);

// A placeholder found in a template, for checks.
struct placeholder {
  std::string name;
  int line = 0;
};
// Every placeholder in text, in order; an unterminated `{{` is an error.
result<std::vector<placeholder>> placeholders(std::string_view text);

}  // namespace diskless::boot
