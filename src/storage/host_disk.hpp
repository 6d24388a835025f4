#pragma once
// Per-host disks: the block_device a host's iSCSI LUN 0 sees, chosen by its overlay mode
// (shared/DESIGN.md §2, issue 7).
//
//   none        the image itself, read-write (validation allows one such writer per image)
//   readonly    a read-only view of the shared golden image (writes → DATA PROTECT upstream,
//               the device reports read_only() and refuses write/discard with EROFS)
//   persistent  <state dir>/overlays/<host>.qcow2 over the golden image: created on first
//               login, reused across boots and server restarts
//   volatile    the same file, recreated empty on each new login (new_boot == true); a
//               reinstated session within one boot (new_boot == false) keeps it
//
// Golden images are opened read-only once and shared by every host that uses them (one page
// cache, one set of qcow2 metadata caches) for as long as any host holds them.
//
// Coordination with `diskless overlay` (the CLI runs as another process): while a host's overlay
// device is alive, this process holds an exclusive flock on the overlay file itself, and a shared
// flock on every image file a host uses. The CLI treats a lock it cannot take as "in use".
// `overlay reset --force` writes the request file <state dir>/overlays/<host>.reset; the catalog
// notices it within ~0.2 s (a watcher thread polling the overlay directories it serves),
// revokes the host's device — its I/O fails with EIO from then on and the overlay is closed (lock
// released) once in-flight I/O ends — removes the request and calls the on_revoke callback so
// the iSCSI service can end the host's sessions.
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "inventory/model.hpp"
#include "storage/block_device.hpp"
#include "util/result.hpp"

namespace diskless::storage {

enum class image_format { raw, qcow2 };

// Reads the first bytes of the file: "QFI\xfb" is qcow2, anything else raw.
result<image_format> detect_format(const std::filesystem::path& path);

// Opens an image file (raw or qcow2, by magic). A qcow2 image opens its backing chain
// read-only. writable == false gives a read_only() device.
result<std::shared_ptr<block_device>> open_image(const std::filesystem::path& path, bool writable);

// <state dir>/overlays/<host name>.qcow2 (state dir resolved against the inventory's base dir).
std::filesystem::path overlays_dir(const inventory::inventory& inv);
std::filesystem::path overlay_path(const inventory::inventory& inv, const inventory::host& h);

// A read-only view over another device: read_only() is true, write/discard fail with EROFS,
// flush succeeds.
std::shared_ptr<block_device> make_read_only_view(std::shared_ptr<block_device> dev);

// Holds the open golden images and live overlays of a running server. Thread-safe: the iSCSI
// disk provider keeps one for the server's lifetime and calls it on io_pool threads.
class disk_catalog {
 public:
  disk_catalog() = default;
  ~disk_catalog();  // stops the watcher thread; devices already handed out stay valid
  disk_catalog(const disk_catalog&) = delete;
  disk_catalog& operator=(const disk_catalog&) = delete;

  // The disk for host h (which must have an image with a disk). new_boot: this is a new login of
  // the host (not a reinstated session); a volatile overlay starts empty then. Calling again for
  // a host whose device is still alive returns that same device (unless volatile + new_boot,
  // which replaces the overlay file atomically; the old device keeps the unlinked file until it
  // is dropped). Errors are messages fit for the log (missing image, bad qcow2, no space...).
  result<std::shared_ptr<block_device>> open_host_disk(const inventory::inventory& inv,
                                                       const inventory::host& h, bool new_boot);

  // Revokes the host's live overlay device (see above). True when there was one.
  bool revoke(const std::string& host);
  // Called after a revoke caused by a reset request, on the watcher thread (post to the loop).
  void on_revoke(std::function<void(const std::string& host)> f);

  // Host names with a pending reset request file (the files are removed). The watcher normally
  // handles them first; kept for callers that poll on reload.
  static std::vector<std::string> take_reset_requests(const inventory::inventory& inv);

 private:
  class overlay_device;
  result<std::shared_ptr<block_device>> golden(const std::filesystem::path& p);
  result<std::shared_ptr<block_device>> open_overlay(const inventory::inventory& inv,
                                                     const inventory::host& h,
                                                     const std::filesystem::path& image,
                                                     bool fresh);
  void watch(const std::filesystem::path& dir);  // mutex_ held
  void watcher();

  std::mutex mutex_;
  std::map<std::string, std::weak_ptr<block_device>> golden_;      // by canonical path
  std::map<std::string, std::weak_ptr<block_device>> writable_;    // overlay="none" images
  std::map<std::string, std::weak_ptr<overlay_device>> overlays_;  // by overlay path
  std::set<std::filesystem::path> watched_;
  std::function<void(const std::string&)> on_revoke_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread watcher_;
};

}  // namespace diskless::storage
