#pragma once
// Disks on Ceph RBD through librbd (src/storage/README.md): a cluster connection, images opened
// as block devices, and the few image operations per-host clones need.
//
// Contract: like every block_device, all of this blocks and runs on io_pool threads only
// (connecting, opening, cloning and removing wait on the cluster). Device I/O is librbd aio:
// each call submits one request and waits for its completion on the calling pool thread, so
// the event loop never waits on Ceph and pool threads run requests concurrently (one in flight
// per pool thread). Failures are results (errno of librbd), never exceptions.
//
// Built only with DISKLESS_RBD; without it rbd_supported() is false and every call fails with
// a message saying so.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "storage/block_device.hpp"
#include "util/result.hpp"

namespace diskless::storage {

bool rbd_supported();

// One librados client (rados_t): shared by every image opened through it; closes when the last
// image and the last holder are gone.
class rbd_cluster;

struct rbd_connect_options {
  std::string conf;  // ceph.conf path; "" = librados' default search ($CEPH_CONF, /etc/ceph)
  std::string user;  // "client.NAME"; "" = client.admin
  // How long connecting waits for a monitor (librados' default is 300 s).
  std::chrono::seconds timeout{10};
};
result<std::shared_ptr<rbd_cluster>> rbd_connect(const rbd_connect_options& o);

// pool/image opened as a device: at `snapshot` read-only (read_only() true, write/discard
// fail with EROFS), or its head when snapshot is empty (read_only as asked).
// write(fua) is a write followed by a flush; flush() is rbd flush (librbd's cache written back);
// discard() is rbd write_zeroes (whole objects deallocated, partial ranges zeroed; in a clone
// the range then reads as zeros, not as the parent).
result<std::shared_ptr<block_device>> rbd_open(const std::shared_ptr<rbd_cluster>& c,
                                               const std::string& pool, const std::string& image,
                                               const std::string& snapshot, bool read_only);

result<bool> rbd_exists(const std::shared_ptr<rbd_cluster>& c, const std::string& pool,
                        const std::string& image);
// child = a format 2 clone of pool/parent@snapshot (no snapshot protection needed), in pool.
result<void> rbd_clone(const std::shared_ptr<rbd_cluster>& c, const std::string& pool,
                       const std::string& parent, const std::string& snapshot,
                       const std::string& child);
// Removes pool/image; a missing image is success. -EBUSY (a watcher: a client that crashed
// keeps its watch ~30 s) is retried every second until `busy_wait` has passed.
result<void> rbd_remove(const std::shared_ptr<rbd_cluster>& c, const std::string& pool,
                        const std::string& image, std::chrono::seconds busy_wait);
// "pool/image@snapshot" of pool/image's parent, "" when it has none.
result<std::string> rbd_parent(const std::shared_ptr<rbd_cluster>& c, const std::string& pool,
                               const std::string& image);

}  // namespace diskless::storage
