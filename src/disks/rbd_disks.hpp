#pragma once
// Per-host disks on Ceph RBD (src/disks/README.md): the RBD variant of the overlay modes, with
// clones in place of qcow2 overlay files.
//
//   none        pool/image itself (its head), read-write, shared by the hosts using it
//   readonly    pool/image@snapshot opened read-only, shared
//   persistent  the clone pool/<image>.<host key> of image@snapshot (format 2: no snapshot
//               protection), created at the first login, kept across boots and restarts; a
//               clone made from another snapshot than the inventory's now is refused (remove it
//               with `rbd rm` to start from the new one)
//   volatile    the same clone, removed and re-cloned at the host's new boot (disk_catalog's
//               new-boot rule, catalog.hpp); kept across reconnects and server restarts
//
// Cluster connections are made once per (ceph.conf, user) on the first login that needs one
// and kept; a failed connection is not kept, so the next login tries again. Every call blocks
// on the cluster and runs on io_pool threads; a host whose cluster is unreachable gets an error
// (its login fails) after the connect timeout while the qcow2 hosts go on (their catalog lock is
// another one).
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "disks/overlay.hpp"
#include "inventory/model.hpp"
#include "storage/block_device.hpp"
#include "storage/rbd_device.hpp"
#include "util/result.hpp"

namespace diskless::disks {

// The host's clone of an RBD image: "<image>.<host key>" in the image's pool. The host key is
// the one qcow2 overlay files are named by (overlay_path).
std::string rbd_clone_name(const inventory::rbd_source& src, const inventory::host& h);

class rbd_disks {
 public:
  // The host's disk for image src. fresh: the host's new boot (volatile: re-clone).
  // Devices of clones are overlay_device (revocable); a re-clone revokes the previous one.
  result<std::shared_ptr<storage::block_device>> open(const inventory::rbd_source& src,
                                                      const inventory::host& h, bool fresh);

 private:
  result<std::shared_ptr<storage::rbd_cluster>> cluster(const inventory::rbd_source& src);
  result<std::shared_ptr<storage::block_device>> shared(const inventory::rbd_source& src,
                                                        bool at_snapshot);
  result<std::shared_ptr<storage::block_device>> clone_for(const inventory::rbd_source& src,
                                                           const inventory::host& h, bool fresh);

  std::mutex mutex_;  // held across cluster calls: never on the loop
  std::map<std::string, std::shared_ptr<storage::rbd_cluster>> clusters_;  // conf + "\n" + user
  std::map<std::string, std::weak_ptr<storage::block_device>> shared_;     // by spec (+ "!rw")
  std::map<std::string, std::weak_ptr<overlay_device>> clones_;            // by host name
};

}  // namespace diskless::disks
