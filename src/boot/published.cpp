#include "boot/published.hpp"

#include <mutex>
#include <system_error>

#include "util/file.hpp"
#include "util/log.hpp"

namespace diskless::boot {

published_files::published_files(inventory::inventory_ptr inv) {
  apply(std::move(inv));
}

void published_files::apply(inventory::inventory_ptr inv) {
  inv_ = std::move(inv);
  const auto dir = template_set::dir_for(*inv_);
  templates_ = template_set::load(dir);
  for (const auto& [file, msg] : templates_.load_errors())
    log::boot().error("template {}: {} (the built-in one is used)", file, msg);
  for (const auto& p : check_templates(*inv_, templates_)) log::boot().error("{}", p.str());

  std::map<std::filesystem::path, cached> next;
  for (const auto& img : inv_->images) {
    for (const auto* rel : {&img.kernel, &img.initrd}) {
      if (rel->empty()) continue;
      const auto path = inv_->resolve(*rel);
      std::error_code ec;
      cached c;
      c.mtime = std::filesystem::last_write_time(path, ec);
      if (!ec) c.size = std::filesystem::file_size(path, ec);
      if (ec) {
        log::boot().error("image '{}': cannot read {}: {}", img.name, path.string(), ec.message());
        continue;
      }
      // Unchanged since the last inventory: keep the bytes already in memory.
      if (auto it = files_.find(path);
          it != files_.end() && it->second.mtime == c.mtime && it->second.size == c.size) {
        next[path] = it->second;
        continue;
      }
      auto bytes = read_file(path);
      if (!bytes) {
        log::boot().error("image '{}': {}", img.name, bytes.error_message());
        continue;
      }
      c.content = std::make_shared<const std::string>(std::move(*bytes));
      log::boot().info("image '{}': {} ({} bytes) published", img.name, path.string(),
                       c.content->size());
      next[path] = std::move(c);
    }
  }
  files_ = std::move(next);
}

std::shared_ptr<const std::string> published_files::find(std::string_view path) const {
  auto r = lookup(*inv_, templates_, path);
  if (!r) {
    // Loud: an admin-edited template is broken and a PC cannot boot because of it.
    log::boot().error("{}: {}", path, r.error_message());
    return nullptr;
  }
  if (!*r) return nullptr;
  if ((*r)->is_script()) {
    log::boot().debug("{}: script rendered", path);
    script_served(path);
    return std::make_shared<const std::string>(std::move((*r)->content));
  }
  auto it = files_.find((*r)->path);
  if (it == files_.end()) {
    log::boot().error("{}: {} is not readable", path, (*r)->path.string());
    return nullptr;
  }
  return it->second.content;
}

namespace {
std::mutex observer_mutex;
std::function<void(const mac_address&)> observer;
}  // namespace

void on_script_served(std::function<void(const mac_address&)> f) {
  std::lock_guard lock(observer_mutex);
  observer = std::move(f);
}

void script_served(std::string_view path) {
  if (path.starts_with('/')) path.remove_prefix(1);
  constexpr std::string_view prefix = "boot/", suffix = ".ipxe";
  if (!path.starts_with(prefix) || !path.ends_with(suffix)) return;
  auto mac =
      mac_address::parse(path.substr(prefix.size(), path.size() - prefix.size() - suffix.size()));
  if (!mac) return;
  std::lock_guard lock(observer_mutex);
  if (observer) observer(*mac);
}

namespace {

class boot_service final : public app::service {
 public:
  explicit boot_service(std::shared_ptr<published_files> files) : files_(std::move(files)) {}
  std::string_view name() const override { return "boot"; }
  result<void> start() override { return {}; }
  void stop() override {}
  void apply(const inventory::inventory_ptr& inv) override { files_->apply(inv); }

 private:
  std::shared_ptr<published_files> files_;
};

}  // namespace

std::unique_ptr<app::service> make_service(std::shared_ptr<published_files> files) {
  return std::make_unique<boot_service>(std::move(files));
}

}  // namespace diskless::boot
