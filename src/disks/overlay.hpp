#pragma once
// Per-host overlay files (src/disks/README.md): where they live, how one is made empty, and the
// revocable device a host's iSCSI LUN sees while the catalog serves it.
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "inventory/model.hpp"
#include "storage/forwarding_device.hpp"
#include "util/result.hpp"

namespace diskless::disks {

// <state dir>/overlays (state dir resolved against the inventory's base dir).
std::filesystem::path overlays_dir(const inventory::inventory& inv);
// <overlays dir>/<mac-with-dashes>.qcow2: keyed by the host's MAC, which renaming the host
// (`host set NAME --name NEW`) does not change, so the overlay follows the host.
std::filesystem::path overlay_path(const inventory::inventory& inv, const inventory::host& h);
// Where earlier versions kept it: <overlays dir>/<host name>.qcow2.
std::filesystem::path legacy_overlay_path(const inventory::inventory& inv,
                                          const inventory::host& h);

// One-time migration of h's overlay from its legacy name to its MAC name: done when the MAC
// file does not exist yet, the legacy one does and nobody holds a lock on it (an older server
// serving it). Returns a line for the log when a file moved, or an error; nothing when there
// was nothing to do. Blocking (rename, fsync of the directory): io_pool or the CLI.
// Deletes an overlay file no process has open (it takes the file's exclusive flock, as every
// holder of an overlay keeps one): the host's next login starts from the image. A missing
// file is no error; one in use is. Blocking (file system).
result<void> remove_unused_overlay(const std::filesystem::path& path);

// migrate_legacy_overlay for every host of the inventory; report(warning, line) gets each
// move done (warning false) and each one refused (warning true). Blocking (file system).
void migrate_legacy_overlays(const inventory::inventory& inv,
                             const std::function<void(bool warning, const std::string&)>& report);

result<std::optional<std::string>> migrate_legacy_overlay(const inventory::inventory& inv,
                                                          const inventory::host& h);

// An overlay file in the overlays directory and the host that owns it (null: an orphan, e.g.
// the overlay of a removed host, or a legacy file whose host already has a MAC-named one).
struct overlay_file {
  std::filesystem::path path;
  const inventory::host* owner = nullptr;
};
// Every *.qcow2 in the overlays directory, sorted by name (reads the directory).
std::vector<overlay_file> overlay_files(const inventory::inventory& inv);
// True when h has an overlay file of its own (persistent or volatile).
bool has_overlay(const inventory::host& h);

// What an overlay file is made from: enough to recreate it empty without the inventory.
struct overlay_recipe {
  std::filesystem::path path;  // overlay_path()
  std::string backing;         // absolute path of the golden image, as stored in the header
  std::string backing_format;  // "raw" or "qcow2"
  std::uint64_t size = 0;      // the golden image's size
};

// Creates the overlay empty beside its path and renames it over, so a crash leaves the old
// overlay or the new one, and a device still holding the old file keeps its (unlinked) inode.
result<void> create_fresh(const overlay_recipe& r);

// A host's overlay as handed to the iSCSI layer: forwards to the qcow2 image until revoked, then
// its I/O fails with EIO. Thread-safe.
class overlay_device final : public storage::forwarding_device {
 public:
  overlay_device(std::shared_ptr<storage::block_device> dev, std::string host,
                 overlay_recipe recipe)
      : forwarding_device(std::move(dev)), host_(std::move(host)), recipe_(std::move(recipe)) {}
  // The image stays open while the caller holds `keep`, even if it is revoked meanwhile (a reset
  // closes it): the descriptor is never reused under a send in flight.
  file_extent file_for(std::uint64_t offset, std::uint64_t length) override;
  // Drops the image; it closes (metadata written back, lock released) when in-flight I/O ends.
  void revoke();
  const std::string& host() const { return host_; }
  const overlay_recipe& recipe() const { return recipe_; }

 private:
  std::shared_ptr<storage::block_device> target() override;

  std::string host_;
  overlay_recipe recipe_;
  std::mutex mutex_;  // guards dev_ (forwarding_device's), which revoke() drops
};

}  // namespace diskless::disks
