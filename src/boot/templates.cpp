#include "boot/templates.hpp"

#include <system_error>

#include "util/file.hpp"

namespace diskless::boot {

// Defined in the generated builtin_templates.cpp (see CMakeLists.txt).
std::string_view builtin_template_text(std::string_view name);

std::string_view builtin_template(std::string_view name) {
  return builtin_template_text(name);
}

template_set::template_set() {
  for (auto name : template_names)
    texts_[std::string(name)] = {std::string(builtin_template(name)),
                                 "built-in templates/" + std::string(name) + ".ipxe"};
}

template_set template_set::load(const std::filesystem::path& dir) {
  template_set set;
  for (auto name : template_names) {
    auto file = dir / (std::string(name) + ".ipxe");
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) continue;  // the built-in one stays
    auto text = read_file(file);
    if (!text) {
      set.load_errors_[file.string()] = text.error_message();
      continue;
    }
    set.texts_[std::string(name)] = {std::move(*text), file.string()};
  }
  return set;
}

std::filesystem::path template_set::dir_for(const inventory::inventory& inv) {
  return inv.resolve("templates");
}

const template_text* template_set::find(std::string_view name) const {
  auto it = texts_.find(name);
  return it == texts_.end() ? nullptr : &it->second;
}

}  // namespace diskless::boot
