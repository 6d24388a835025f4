// rbd_disks without a cluster: clone names, and failures that must name the host and leave the
// next login free to try again. (Serving from a real cluster: integration/test_rbd.sh.)
#include "disks/rbd_disks.hpp"

#include <gtest/gtest.h>

#include "disks/catalog.hpp"

namespace diskless::disks {
namespace {

inventory::host make_host(std::string name, inventory::overlay_mode m) {
  inventory::host h;
  h.name = std::move(name);
  h.image = "w";
  h.overlay = m;
  h.mac = *mac_address::parse("52:54:00:00:00:01");
  return h;
}

inventory::rbd_source source(std::string conf) {
  auto s = *inventory::parse_rbd_spec("lab/win10", "v3");
  s.conf = std::move(conf);
  return s;
}

TEST(RbdDisks, CloneIsNamedAfterImageAndHostMac) {
  auto h = make_host("pc-07", inventory::overlay_mode::persistent);
  EXPECT_EQ(rbd_clone_name(source(""), h), "win10.52-54-00-00-00-01");  // not the name: renames
}

TEST(RbdDisks, UnreadableConfFailsTheLoginWithTheHostNamedAndIsNotCached) {
  rbd_disks d;
  for (auto m : {inventory::overlay_mode::none, inventory::overlay_mode::readonly,
                 inventory::overlay_mode::persistent, inventory::overlay_mode::volatile_}) {
    auto h = make_host("pc1", m);
    for (int attempt = 0; attempt < 2; ++attempt) {  // a failed connection is retried
      auto r = d.open(source("/nonexistent/ceph.conf"), h, attempt == 1);
      ASSERT_FALSE(r.ok());
      EXPECT_NE(r.error_message().find("host pc1: "), std::string::npos) << r.error_message();
      if (storage::rbd_supported()) {
        EXPECT_NE(r.error_message().find("/nonexistent/ceph.conf"), std::string::npos)
            << r.error_message();
      }
    }
  }
}

TEST(RbdDisks, CatalogSendsRbdImagesToRbdAndFailsCleanly) {
  inventory::inventory inv;
  inventory::image img;
  img.name = "w";
  img.rbd = source("/nonexistent/ceph.conf");
  inv.images.push_back(img);
  auto h = make_host("pc1", inventory::overlay_mode::volatile_);
  inv.hosts.push_back(h);
  disk_catalog c;
  c.mark_new_boot(h.mac);
  auto r = c.open_host_disk(inv, h, login_kind::new_session);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error_message().find("host pc1: "), std::string::npos) << r.error_message();
}

}  // namespace
}  // namespace diskless::disks
