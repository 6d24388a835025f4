#pragma once
// Per-host disks: the storage::block_device a host's iSCSI LUN 0 sees, chosen by its overlay mode
// (src/disks/README.md).
//
//   none        the image itself, read-write (validation allows one such writer per image)
//   readonly    a read-only view of the shared golden image (writes → DATA PROTECT upstream,
//               the device reports read_only() and refuses write/discard with EROFS)
//   persistent  <state dir>/overlays/<mac-with-dashes>.qcow2 over the golden image (named by
//               MAC, so it follows a renamed host; disks/overlay.hpp): created on first login,
//               reused across boots and server restarts
//   volatile    the same file, recreated empty at the host's new boot (rule below)
// Images on Ceph RBD (<image rbd=...>) get the same modes with RBD clones instead of files
// (rbd_disks.hpp); the new-boot rule below is the same.
//
// New boot (volatile overlays). A login alone cannot tell a new boot: iPXE's sanboot hands over
// to the OS's own initiator (iBFT), which logs in again with another ISID while the OS already
// runs from the overlay, and after a `diskless serve` restart every running PC reconnects. The
// signal is the PC's firmware fetching its boot script (boot/<mac>.ipxe over TFTP or HTTP,
// which the boot catalog hands to that PC only):
//   - mark_new_boot(mac) only records a pending boot for the MAC (in memory only: a server
//     restart forgets it, so reconnects after a restart keep their overlays). A fetch ends no
//     session and touches no disk: the OS of a running PC keeps working on its overlay;
//   - the first login of the host after the mark that is not a reinstatement consumes it
//     (begin_new_boot, on the loop). For a volatile host that login starts the new boot: the
//     iSCSI server ends the host's other live sessions (a hard-reset PC's stale TCP
//     connection), and open_host_disk(login_kind::new_boot) revokes the old device (its I/O
//     gets EIO) and recreates the overlay empty before the login completes;
//   - every other login (the OS's initiator taking over from iPXE, reconnects,
//     reinstatements) keeps the overlay and resets nothing.
// Consequence: a script fetch followed by no login (curl by hand, a PC that then boots
// locally) leaves the mark pending; the host's next non-reinstatement login starts afresh.
//
// Golden images are opened read-only once and shared by every host that uses them (one page
// cache, one set of qcow2 metadata caches) for as long as any host holds them.
//
// Coordination with `diskless overlay` (the CLI runs as another process): while a host's overlay
// device is alive, this process holds an exclusive flock on the overlay file itself, and a shared
// flock on every image file a host uses. The CLI treats a lock it cannot take as "in use" and
// then resets nothing itself. `overlay reset --force` writes the request file
// <state dir>/overlays/<host>.reset (content: a token); the catalog notices it within ~0.2 s (a
// watcher thread polling the overlay directories it serves) and, under its own lock: revokes the
// host's live devices (their I/O fails with EIO from then on; each closes once its in-flight I/O
// ends), recreates the overlay file empty (new file renamed over the old, so the revoked device
// only ever writes to the unlinked inode). Only then does it call the end-sessions callback and
// answer with <host>.reset.done ("<token>\nok" or "<token>\nerror: ..."), removing the
// request. A client that reconnects at once (libiscsi does) logs in to the fresh overlay: its
// open waits on the catalog lock, and the revoked device is never handed out again.
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

#include "disks/overlay.hpp"
#include "disks/rbd_disks.hpp"
#include "inventory/model.hpp"
#include "storage/block_device.hpp"
#include "util/net.hpp"
#include "util/result.hpp"

namespace diskless::disks {

enum class login_kind {
  new_session,    // a login that does not replace a live session of the same initiator + ISID
  reinstatement,  // RFC 7143 §6.3.5 session reinstatement: the same nexus, within one boot
  new_boot,       // the login begin_new_boot() said starts a volatile host's new boot
};

// Holds the open golden images and live overlays of a running server. Thread-safe: the iSCSI
// disk provider keeps one for the server's lifetime and calls it on io_pool threads.
class disk_catalog {
 public:
  using host_callback = std::function<void(const std::string& host)>;

  disk_catalog() = default;
  ~disk_catalog();  // stops the watcher thread; devices already handed out stay valid
  disk_catalog(const disk_catalog&) = delete;
  disk_catalog& operator=(const disk_catalog&) = delete;

  // The disk for host h (which must have an image with a disk), called at the login of a host
  // that has no session (the iSCSI server shares one unit between a host's sessions). A live
  // device of the host is returned again, unless k is new_boot (see above): then a volatile
  // overlay is recreated empty (new file renamed over; the old device is revoked). Errors are
  // messages fit for the log (missing image, bad qcow2, no space...).
  result<std::shared_ptr<storage::block_device>> open_host_disk(const inventory::inventory& inv,
                                                                const inventory::host& h,
                                                                login_kind k);

  // The PC with this MAC fetched its boot script: a new boot is pending (see above). Cheap; may
  // be called on the event loop (takes no lock held across disk I/O).
  void mark_new_boot(const mac_address& mac);
  // A login of h that is not a reinstatement: consumes h's pending mark. True when this login
  // starts a volatile host's new boot (end the host's other sessions, then open with
  // login_kind::new_boot). Cheap; called on the event loop.
  bool begin_new_boot(const inventory::host& h);

  // Processes one `overlay reset --force` request now (what the watcher does): revoke, recreate
  // the overlay file empty, end sessions. False with a message when the overlay could not be
  // recreated (it stays revoked). No-op (true) for a host with no live overlay.
  result<void> reset_host(const std::string& host);
  // What the API's overlay reset does, in this process: a live overlay as reset_host (its
  // sessions end); one not open here is removed, so the next login starts from the image.
  // Refused for hosts without an overlay file (none, readonly, RBD). Blocking: io_pool.
  result<void> reset_overlay(const inventory::inventory& inv, const inventory::host& h);

  // f(host): the host's sessions must end now (overlay reset --force). Called on the watcher
  // thread; it should post to its loop.
  // Replacing or clearing it waits for a call in progress.
  void on_end_sessions(host_callback f);

  // Host names with a pending reset request file (the files are removed). For tools and tests;
  // a serving process lets the watcher handle them.
  static std::vector<std::string> take_reset_requests(const inventory::inventory& inv);

 private:
  result<std::shared_ptr<storage::block_device>> golden(const std::filesystem::path& p);
  result<std::shared_ptr<storage::block_device>> open_overlay(const inventory::inventory& inv,
                                                              const inventory::host& h,
                                                              const std::filesystem::path& image,
                                                              bool fresh);
  std::vector<std::shared_ptr<overlay_device>> take_live(const std::string& host);  // mutex_ held
  // Revokes the host's live devices and recreates its overlay empty (mutex_ held).
  result<void> recreate_live(const std::string& host,
                             const std::vector<std::shared_ptr<overlay_device>>& victims);
  void end_sessions(const std::string& host);
  void watch(const std::filesystem::path& dir);  // mutex_ held
  void watcher();

  std::mutex mutex_;  // held across disk I/O (opening, creating overlays): never on the loop
  std::map<std::string, std::weak_ptr<storage::block_device>> golden_;    // by canonical path
  std::map<std::string, std::weak_ptr<storage::block_device>> writable_;  // overlay="none" images
  std::map<std::string, std::weak_ptr<overlay_device>> overlays_;         // by overlay path
  std::set<std::filesystem::path> watched_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread watcher_;

  std::mutex boot_mutex_;  // light: new-boot marks
  std::set<mac_address> new_boot_;

  std::mutex callback_mutex_;
  host_callback end_sessions_;

  rbd_disks rbd_;  // its own lock: a slow cluster does not hold up file-backed hosts
};

}  // namespace diskless::disks
