#include "boot/render.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace diskless::boot {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int line_at(std::string_view text, std::size_t pos) {
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + pos, '\n'));
}

// Walks the template once; calls on_text for literal runs and on_name for placeholders.
// Returns an error on an unterminated or empty placeholder. A `{{` must close on the same line:
// a stray `{{` in an iPXE comment would otherwise swallow the rest of the script silently.
template <typename Text, typename Name>
result<void> scan(std::string_view text, Text on_text, Name on_name) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      on_text(text.substr(pos));
      break;
    }
    on_text(text.substr(pos, open - pos));
    auto close = text.find("}}", open + 2);
    auto eol = text.find('\n', open);
    if (close == std::string_view::npos || (eol != std::string_view::npos && eol < close))
      return error{fmt::format("line {}: unterminated placeholder '{{{{' (write {{{{name}}}})",
                               line_at(text, open))};
    auto name = trim(text.substr(open + 2, close - open - 2));
    if (name.empty())
      return error{fmt::format("line {}: empty placeholder '{{{{}}}}'", line_at(text, open))};
    if (auto r = on_name(name, line_at(text, open)); !r) return r;
    pos = close + 2;
  }
  return {};
}

}  // namespace

result<std::string> render(std::string_view text, const variables& vars) {
  std::string out;
  out.reserve(text.size() + 256);
  auto r = scan(
      text, [&](std::string_view s) { out.append(s); },
      [&](std::string_view name, int line) -> result<void> {
        auto it = vars.find(name);
        if (it == vars.end()) {
          std::string known;
          for (const auto& [k, v] : vars) known += (known.empty() ? "" : ", ") + k;
          return error{fmt::format("line {}: unknown placeholder {{{{{}}}}} (known: {})", line,
                                   name, known)};
        }
        out.append(it->second);
        return {};
      });
  if (!r) return error{r.error_message()};
  return out;
}

result<std::vector<placeholder>> placeholders(std::string_view text) {
  std::vector<placeholder> out;
  auto r = scan(
      text, [](std::string_view) {},
      [&](std::string_view name, int line) -> result<void> {
        out.push_back({std::string(name), line});
        return {};
      });
  if (!r) return error{r.error_message()};
  return out;
}

}  // namespace diskless::boot
