// The RBD entry points of a build without librbd (DISKLESS_RBD=OFF): every call says so.
#include "storage/rbd_device.hpp"

namespace diskless::storage {

class rbd_cluster {};

namespace {
error absent() {
  return error{"this diskless was built without Ceph RBD support (DISKLESS_RBD=OFF)"};
}
}  // namespace

bool rbd_supported() {
  return false;
}
result<std::shared_ptr<rbd_cluster>> rbd_connect(const rbd_connect_options&) {
  return absent();
}
result<std::shared_ptr<block_device>> rbd_open(const std::shared_ptr<rbd_cluster>&,
                                               const std::string&, const std::string&,
                                               const std::string&, bool) {
  return absent();
}
result<bool> rbd_exists(const std::shared_ptr<rbd_cluster>&, const std::string&,
                        const std::string&) {
  return absent();
}
result<void> rbd_clone(const std::shared_ptr<rbd_cluster>&, const std::string&, const std::string&,
                       const std::string&, const std::string&) {
  return absent();
}
result<void> rbd_remove(const std::shared_ptr<rbd_cluster>&, const std::string&, const std::string&,
                        std::chrono::seconds) {
  return absent();
}
result<std::string> rbd_parent(const std::shared_ptr<rbd_cluster>&, const std::string&,
                               const std::string&) {
  return absent();
}

}  // namespace diskless::storage
