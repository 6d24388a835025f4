#pragma once
// The five boot-script templates (templates/<method>.ipxe). The copies in the source tree are
// compiled into the binary; a file of the same name in the inventory's templates directory
// (`<base dir>/templates/`, i.e. templates/ beside the inventory file) overrides the built-in
// one, so admins can edit them without rebuilding.
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "inventory/model.hpp"

namespace diskless::boot {

// "sanboot", "linux", "iscsi-root", "local", "menu" (the names of inventory::boot_method).
inline constexpr std::string_view template_names[] = {"sanboot", "linux", "iscsi-root", "local",
                                                      "menu"};

// The compiled-in text of a template; empty for an unknown name.
std::string_view builtin_template(std::string_view name);

struct template_text {
  std::string text;
  std::string origin;  // the file it came from, or "built-in templates/<name>.ipxe"
};

class template_set {
 public:
  // Built-in templates only.
  template_set();
  // Built-in templates, overridden by the shipped ones on disk (shipped_dir()), overridden in
  // turn by `<dir>/<name>.ipxe` where such a file exists. Reads files (blocking, small): call at
  // start or on reload, not per request.
  static template_set load(const std::filesystem::path& dir);
  // The templates shipped with the binary: <prefix>/share/diskless/templates beside an installed
  // <prefix>/bin/diskless (the package: /usr/share/diskless/templates), else the source tree's
  // templates/ when run from a build; empty when neither exists.
  static std::filesystem::path shipped_dir();
  // The inventory's templates directory: inv.resolve("templates").
  static std::filesystem::path dir_for(const inventory::inventory& inv);

  // The template for a method name; nullptr for an unknown name.
  const template_text* find(std::string_view name) const;
  // Load errors (an override that exists but cannot be read): reported by `diskless check`.
  const std::map<std::string, std::string>& load_errors() const { return load_errors_; }

 private:
  std::map<std::string, template_text, std::less<>> texts_;
  std::map<std::string, std::string> load_errors_;
  void override_from(const std::filesystem::path& dir);
};

}  // namespace diskless::boot
