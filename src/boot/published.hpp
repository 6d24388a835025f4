#pragma once
// The boot files `serve` publishes through the TFTP server's virtual-file seam: per-host scripts
// (rendered per request from templates loaded once) and the kernels/initrds of the inventory's
// images (read into memory when the inventory comes into force, so a request never touches the
// disk on the loop thread). See script.hpp for the paths.
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "boot/script.hpp"
#include "inventory/model.hpp"
#include "service/service.hpp"

namespace diskless::boot {

class published_files {
 public:
  // Loads templates and kernel files for inv (blocking file reads: at start or reload only).
  explicit published_files(inventory::inventory_ptr inv);
  void apply(inventory::inventory_ptr inv);

  // The content of a virtual path (already normalised by the server), or nullptr when it is not
  // ours, the MAC is unknown with unknown="ignore", or the template is broken (logged as error).
  std::shared_ptr<const std::string> find(std::string_view path) const;

 private:
  struct cached {
    std::filesystem::file_time_type mtime;
    std::uintmax_t size = 0;
    std::shared_ptr<const std::string> content;
  };
  inventory::inventory_ptr inv_;
  template_set templates_;
  std::map<std::filesystem::path, cached> files_;  // kernels and initrds by resolved path
};

// The new-boot signal of volatile overlays (storage/host_disk.hpp): `serve` sets f once; the
// TFTP (published_files::find) and HTTP (GET) paths call script_served(path) when they send a
// host's script, and f gets the MAC of "boot/<mac>.ipxe". Any thread; no-op until set.
void on_script_served(std::function<void(const mac_address&)> f);
void script_served(std::string_view path);

// A service that keeps published_files in step with the inventory (apply on reload). It opens
// nothing; put it before the services that read from the files.
std::unique_ptr<app::service> make_service(std::shared_ptr<published_files> files);

}  // namespace diskless::boot
