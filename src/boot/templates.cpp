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

void template_set::override_from(const std::filesystem::path& dir) {
  for (auto name : template_names) {
    auto file = dir / (std::string(name) + ".ipxe");
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) continue;  // the one loaded before stays
    auto text = read_file(file);
    if (!text) {
      load_errors_[file.string()] = text.error_message();
      continue;
    }
    texts_[std::string(name)] = {std::move(*text), file.string()};
  }
}

std::filesystem::path template_set::shipped_dir() {
  std::error_code ec;
  // An installed binary (<prefix>/bin/diskless) finds them in <prefix>/share/diskless/templates.
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto installed = exe.parent_path().parent_path() / "share" / "diskless" / "templates";
    if (std::filesystem::is_directory(installed, ec)) return installed;
  }
  // A binary run from its build directory: the source tree it was built from.
  std::filesystem::path source = DISKLESS_SOURCE_TEMPLATES;
  if (std::filesystem::is_directory(source, ec)) return source;
  return {};
}

template_set template_set::load(const std::filesystem::path& dir) {
  template_set set;
  if (auto shipped = shipped_dir(); !shipped.empty() && shipped != dir) set.override_from(shipped);
  set.override_from(dir);
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
