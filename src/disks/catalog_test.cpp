// disk_catalog: what each overlay mode gives a host, across logins and reinstated sessions.
#include "disks/catalog.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

#include "storage/qcow2.hpp"
#include "util/file.hpp"

namespace diskless::disks {
namespace {

namespace fs = std::filesystem;
using inventory::overlay_mode;

struct env {
  fs::path dir;
  inventory::inventory inv;
  bytes gold;

  env() {
    std::string t = (fs::temp_directory_path() / "dl-hostdisk-XXXXXX").string();
    dir = ::mkdtemp(t.data());
    std::mt19937_64 rng(1);
    gold.resize(1 << 20);
    for (auto& b : gold) b = static_cast<std::byte>(rng());
    EXPECT_TRUE(write_file_atomic(dir / "gold.img", to_string(gold)).ok());
    EXPECT_TRUE(write_file_atomic(dir / "other.img", std::string(1 << 20, 'x')).ok());
    inv.base_dir = dir;
    inv.server.state_dir = "state";
    add_image("gold", "gold.img", "");
    add_image("other", "other.img", "");
    add_image("netboot", "", "vmlinuz");
    add("p", overlay_mode::persistent);
    add("v", overlay_mode::volatile_);
    add("r", overlay_mode::readonly);
    add("n", overlay_mode::none);
  }
  ~env() { fs::remove_all(dir); }
  void add_image(const std::string& name, const std::string& disk, const std::string& kernel) {
    inventory::image i;
    i.name = name;
    i.disk = disk;
    i.kernel = kernel;
    inv.images.push_back(i);
  }
  void add(const std::string& name, overlay_mode m) {
    inventory::host h;
    h.name = name;
    h.image = "gold";
    h.overlay = m;
    h.mac = *mac_address::parse("52:54:00:00:00:0" + std::to_string(inv.hosts.size() + 1));
    inv.hosts.push_back(h);
  }
  const inventory::host& host(const std::string& n) { return *inv.find_host_by_name(n); }
  bytes file(const std::string& name) { return to_bytes(*read_file(dir / name)); }
};

const bytes marker = to_bytes("MARKER-SECTOR");

std::string read_marker(storage::block_device& d) {
  bytes b(marker.size());
  EXPECT_FALSE(d.read(4096, b));
  return to_string(b);
}

TEST(DiskCatalog, PersistentOverlayKeepsWritesAcrossLoginsAndCatalogs) {
  env e;
  {
    disk_catalog cat;
    auto d = cat.open_host_disk(e.inv, e.host("p"), login_kind::new_session);
    ASSERT_TRUE(d.ok()) << d.error_message();
    EXPECT_FALSE((*d)->read_only());
    EXPECT_EQ((*d)->size(), e.gold.size());
    ASSERT_FALSE((*d)->write(4096, marker));
    ASSERT_FALSE((*d)->flush());
  }
  // Named by MAC (p is the first host: 52:54:00:00:00:01).
  EXPECT_TRUE(fs::exists(e.dir / "state/overlays/52-54-00-00-00-01.qcow2"));
  EXPECT_FALSE(fs::exists(e.dir / "state/overlays/p.qcow2"));
  EXPECT_EQ(e.file("gold.img"), e.gold);  // golden image untouched
  disk_catalog cat;                       // a server restart
  auto d = cat.open_host_disk(e.inv, e.host("p"), login_kind::new_session);
  ASSERT_TRUE(d.ok()) << d.error_message();
  EXPECT_EQ(read_marker(**d), "MARKER-SECTOR");
}

TEST(DiskCatalog, ARenamedPersistentHostKeepsItsDisk) {
  env e;
  {
    disk_catalog cat;
    auto d = cat.open_host_disk(e.inv, e.host("p"), login_kind::new_session);
    ASSERT_TRUE(d.ok()) << d.error_message();
    ASSERT_FALSE((*d)->write(4096, marker));
    ASSERT_FALSE((*d)->flush());
  }
  // `host set p --name p2`: same MAC, new name.
  auto renamed = e.inv;
  renamed.hosts[0].name = "p2";
  disk_catalog cat;
  auto d = cat.open_host_disk(renamed, renamed.hosts[0], login_kind::new_session);
  ASSERT_TRUE(d.ok()) << d.error_message();
  EXPECT_EQ(read_marker(**d), "MARKER-SECTOR");
  EXPECT_TRUE(overlay_files(renamed).size() == 1 && overlay_files(renamed)[0].owner);
}

TEST(DiskCatalog, ALegacyOverlayMovesToItsMacNameOnceAndOrphansAreListed) {
  env e;
  const auto& p = e.host("p");
  {  // An overlay written by an earlier version, under the host's name.
    disk_catalog cat;
    auto d = cat.open_host_disk(e.inv, p, login_kind::new_session);
    ASSERT_TRUE(d.ok()) << d.error_message();
    ASSERT_FALSE((*d)->write(4096, marker));
    ASSERT_FALSE((*d)->flush());
  }
  struct {
    fs::path path;
  } r{legacy_overlay_path(e.inv, p)};
  fs::rename(overlay_path(e.inv, p), r.path);
  // Before: the legacy file is nobody's under the MAC naming.
  auto before = overlay_files(e.inv);
  ASSERT_EQ(before.size(), 1u);
  EXPECT_EQ(before[0].owner, nullptr);
  // A lock held on it (an older server serving it): it stays where it is.
  {
    int fd = ::open(r.path.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::flock(fd, LOCK_EX), 0);
    EXPECT_FALSE(migrate_legacy_overlay(e.inv, p).ok());
    ::close(fd);
  }
  auto m = migrate_legacy_overlay(e.inv, p);
  ASSERT_TRUE(m.ok()) << m.error_message();
  ASSERT_TRUE(*m);
  EXPECT_NE((*m)->find("p.qcow2 renamed to 52-54-00-00-00-01.qcow2"), std::string::npos) << **m;
  EXPECT_FALSE(fs::exists(r.path));
  auto again = migrate_legacy_overlay(e.inv, p);  // once
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  disk_catalog cat;
  auto d = cat.open_host_disk(e.inv, p, login_kind::new_session);
  ASSERT_TRUE(d.ok()) << d.error_message();
  EXPECT_EQ(read_marker(**d), "MARKER-SECTOR");
  // A removed host's overlay, and a stray legacy copy next to a MAC-named file: orphans.
  ASSERT_TRUE(write_file_atomic(overlays_dir(e.inv) / "gone.qcow2", "x").ok());
  ASSERT_TRUE(write_file_atomic(legacy_overlay_path(e.inv, p), "x").ok());
  ASSERT_TRUE(migrate_legacy_overlay(e.inv, p).ok());  // the MAC file exists: no move
  auto files = overlay_files(e.inv);
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[0].path.filename(), "52-54-00-00-00-01.qcow2");
  EXPECT_EQ(files[0].owner, &p);
  EXPECT_EQ(files[1].path.filename(), "gone.qcow2");
  EXPECT_EQ(files[1].owner, nullptr);
  EXPECT_EQ(files[2].path.filename(), "p.qcow2");
  EXPECT_EQ(files[2].owner, nullptr);
}

std::string golden_marker(const env& e) {
  return to_string(std::span(e.gold).subspan(4096, marker.size()));
}

TEST(DiskCatalog, VolatileOverlayStartsCleanOnlyAtTheFirstLoginAfterABootScriptFetch) {
  env e;
  const auto& v = e.host("v");
  auto cat = std::make_unique<disk_catalog>();
  std::vector<std::string> ended;
  cat->on_end_sessions([&](const std::string& h) { ended.push_back(h); });
  // As the iSCSI server logs in: a reinstatement never asks, any other login does.
  auto login = [&](login_kind k = login_kind::new_session) {
    if (k == login_kind::new_session && cat->begin_new_boot(v)) k = login_kind::new_boot;
    auto d = cat->open_host_disk(e.inv, v, k);
    EXPECT_TRUE(d.ok()) << d.error_message();
    return d ? *d : nullptr;
  };
  // First login ever (no mark: e.g. after a server restart): an empty overlay is created.
  auto d = login();
  EXPECT_EQ(read_marker(*d), golden_marker(e));
  ASSERT_FALSE(d->write(4096, marker));
  // While the device lives (sessions share it), logins get the same device.
  EXPECT_EQ(login().get(), d.get());
  EXPECT_EQ(login(login_kind::reinstatement).get(), d.get());
  d.reset();
  // No boot script fetched: another initiator of the same boot (iPXE → the OS's initiator, a
  // different ISID), or a reconnect, keeps the overlay.
  d = login();
  EXPECT_EQ(read_marker(*d), "MARKER-SECTOR");
  d.reset();
  // The firmware fetches the script: the first login after that starts clean...
  cat->mark_new_boot(v.mac);
  d = login();
  EXPECT_EQ(read_marker(*d), golden_marker(e));
  ASSERT_FALSE(d->write(4096, marker));
  d.reset();
  // ...and only that one: the OS's initiator logging in later keeps what iPXE's boot wrote.
  d = login();
  EXPECT_EQ(read_marker(*d), "MARKER-SECTOR");
  // A mark on another MAC changes nothing for v.
  cat->mark_new_boot(e.host("p").mac);
  d.reset();
  EXPECT_EQ(read_marker(*login()), "MARKER-SECTOR");
  // A reinstatement neither consumes the mark nor wipes; the next other login does both.
  cat->mark_new_boot(v.mac);
  EXPECT_EQ(read_marker(*login(login_kind::reinstatement)), "MARKER-SECTOR");
  EXPECT_EQ(read_marker(*login()), golden_marker(e));
  EXPECT_TRUE(ended.empty());  // the catalog ends sessions only for overlay reset --force
  // Server restart: marks are in memory only, and the overlay file is kept.
  d = login();
  ASSERT_FALSE(d->write(4096, marker));
  d.reset();
  cat->mark_new_boot(v.mac);
  cat = std::make_unique<disk_catalog>();
  EXPECT_EQ(read_marker(*login()), "MARKER-SECTOR");
}

TEST(DiskCatalog, AScriptFetchLeavesALiveVolatileSessionAlone) {
  env e;
  const auto& v = e.host("v");
  disk_catalog cat;
  std::vector<std::string> ended;
  cat.on_end_sessions([&](const std::string& h) { ended.push_back(h); });
  auto live = cat.open_host_disk(e.inv, v, login_kind::new_session);
  ASSERT_TRUE(live.ok()) << live.error_message();
  ASSERT_FALSE((*live)->write(4096, marker));
  ASSERT_FALSE((*live)->flush());
  // Someone fetches the running host's script: nothing ends, nothing is revoked or recreated.
  cat.mark_new_boot(v.mac);
  EXPECT_TRUE(ended.empty());
  EXPECT_EQ(read_marker(**live), "MARKER-SECTOR");
  // The OS's initiator, reinstating its session, shares the same device.
  auto again = cat.open_host_disk(e.inv, v, login_kind::reinstatement);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->get(), live->get());
  EXPECT_EQ(read_marker(**live), "MARKER-SECTOR");
}

TEST(DiskCatalog, NewBootLoginWhileAStaleSessionHoldsTheOverlayRevokesIt) {
  env e;
  const auto& v = e.host("v");
  disk_catalog cat;
  auto stale = cat.open_host_disk(e.inv, v, login_kind::new_session);
  ASSERT_TRUE(stale.ok()) << stale.error_message();
  ASSERT_FALSE((*stale)->write(4096, marker));
  // A hard reset: the old session is still open when the PC's firmware fetches its script and
  // iPXE logs in; that login starts the new boot (the server ends the stale session).
  cat.mark_new_boot(v.mac);
  EXPECT_TRUE(cat.begin_new_boot(v));
  EXPECT_FALSE(cat.begin_new_boot(v)) << "the mark is consumed once";
  auto fresh = cat.open_host_disk(e.inv, v, login_kind::new_boot);
  ASSERT_TRUE(fresh.ok()) << fresh.error_message();
  EXPECT_NE(fresh->get(), stale->get());
  EXPECT_EQ(read_marker(**fresh), golden_marker(e));
  bytes b(16);
  EXPECT_EQ((*stale)->read(0, b), std::make_error_code(std::errc::io_error));
  // Persistent hosts: a mark is consumed but never starts afresh.
  auto p = cat.open_host_disk(e.inv, e.host("p"), login_kind::new_session);
  ASSERT_TRUE(p.ok());
  ASSERT_FALSE((*p)->write(4096, marker));
  p = error{"dropped"};
  cat.mark_new_boot(e.host("p").mac);
  EXPECT_FALSE(cat.begin_new_boot(e.host("p")));
  p = cat.open_host_disk(e.inv, e.host("p"), login_kind::new_session);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(read_marker(**p), "MARKER-SECTOR");
}

TEST(DiskCatalog, ReadonlyAndNone) {
  env e;
  disk_catalog cat;
  auto r = cat.open_host_disk(e.inv, e.host("r"), login_kind::new_session);
  ASSERT_TRUE(r.ok()) << r.error_message();
  EXPECT_TRUE((*r)->read_only());
  EXPECT_EQ((*r)->write(0, marker), std::make_error_code(std::errc::read_only_file_system));
  EXPECT_EQ((*r)->discard(0, 512), std::make_error_code(std::errc::read_only_file_system));
  auto n = cat.open_host_disk(e.inv, e.host("n"), login_kind::new_session);
  ASSERT_TRUE(n.ok()) << n.error_message();
  ASSERT_FALSE((*n)->write(4096, marker));
  ASSERT_FALSE((*n)->flush());
  EXPECT_EQ(read_marker(**r), "MARKER-SECTOR");  // same file underneath
  auto f = e.file("gold.img");
  EXPECT_EQ(to_string(std::span(f).subspan(4096, marker.size())), "MARKER-SECTOR");
}

TEST(DiskCatalog, GoldenImageIsSharedAndLockedWhileUsed) {
  env e;
  disk_catalog cat;
  auto p = cat.open_host_disk(e.inv, e.host("p"), login_kind::new_session);
  auto v = cat.open_host_disk(e.inv, e.host("v"), login_kind::new_session);
  ASSERT_TRUE(p.ok() && v.ok());
  auto q = storage::open_qcow2(e.dir / "state/overlays/52-54-00-00-00-01.qcow2", {});
  ASSERT_TRUE(q.ok());
  EXPECT_EQ((*q)->header().backing_file, (e.dir / "gold.img").string());
  EXPECT_EQ((*q)->header().backing_format, "raw");
  int fd = ::open((e.dir / "gold.img").c_str(), O_RDONLY);
  EXPECT_NE(::flock(fd, LOCK_EX | LOCK_NB), 0);  // in use: `overlay commit` must wait
  p = error{"dropped"};
  EXPECT_NE(::flock(fd, LOCK_EX | LOCK_NB), 0);  // still used by v
  v = error{"dropped"};
  EXPECT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  // ...and while the commit holds it, hosts cannot open the image.
  auto blocked = cat.open_host_disk(e.inv, e.host("r"), login_kind::new_session);
  EXPECT_FALSE(blocked.ok());
  ::close(fd);
  EXPECT_TRUE(cat.open_host_disk(e.inv, e.host("r"), login_kind::new_session).ok());
}

TEST(DiskCatalog, OverlayOverAnotherImageIsRefused) {
  env e;
  disk_catalog cat;
  ASSERT_TRUE(cat.open_host_disk(e.inv, e.host("p"), login_kind::new_session).ok());
  e.inv.hosts[0].image = "other";
  auto d = cat.open_host_disk(e.inv, e.host("p"), login_kind::new_session);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error_message().find("overlay reset p"), std::string::npos) << d.error_message();
  e.inv.hosts[0].image = "netboot";
  EXPECT_FALSE(cat.open_host_disk(e.inv, e.host("p"), login_kind::new_session).ok());
}

TEST(DiskCatalog, ResetRequestRecreatesTheLiveOverlayThenEndsSessions) {
  env e;
  disk_catalog cat;
  std::mutex m;
  std::condition_variable cv;
  std::string ended;
  bool fresh_at_end = false;
  cat.on_end_sessions([&](const std::string& h) {
    // By the time sessions end, a reconnect already finds the new overlay.
    auto again = cat.open_host_disk(e.inv, e.host(h), login_kind::new_session);
    std::lock_guard l(m);
    fresh_at_end = again.ok() && read_marker(**again) == golden_marker(e);
    ended = h;
    cv.notify_all();
  });
  auto d = cat.open_host_disk(e.inv, e.host("p"), login_kind::new_session);
  ASSERT_TRUE(d.ok());
  ASSERT_FALSE((*d)->write(4096, marker));
  ASSERT_FALSE((*d)->flush());
  int fd = ::open((e.dir / "state/overlays/52-54-00-00-00-01.qcow2").c_str(), O_RDONLY);
  EXPECT_NE(::flock(fd, LOCK_EX | LOCK_NB), 0);  // logged in
  ASSERT_TRUE(write_file_atomic(overlays_dir(e.inv) / "p.reset", "token-1").ok());
  {
    std::unique_lock l(m);
    ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(10), [&] { return !ended.empty(); }));
  }
  EXPECT_EQ(ended, "p");
  EXPECT_TRUE(fresh_at_end);
  auto done = overlays_dir(e.inv) / "p.reset.done";
  for (int i = 0; i < 100 && !fs::exists(done); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto answer = read_file(done);
  EXPECT_EQ(answer ? *answer : "", "token-1\nok\n");
  EXPECT_FALSE(fs::exists(overlays_dir(e.inv) / "p.reset"));
  bytes b(16);
  EXPECT_EQ((*d)->read(0, b), std::make_error_code(std::errc::io_error));  // revoked for good
  EXPECT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);  // the old inode is no longer locked
  ::close(fd);
  auto again = cat.open_host_disk(e.inv, e.host("p"), login_kind::new_session);
  ASSERT_TRUE(again.ok()) << again.error_message();
  EXPECT_EQ(read_marker(**again), golden_marker(e));
  // A request for a host with no live overlay is answered with an error.
  again = error{"dropped"};
  EXPECT_FALSE(cat.reset_host("v").ok());
}

TEST(DiskCatalog, ResetRequests) {
  env e;
  fs::create_directories(overlays_dir(e.inv));
  ASSERT_TRUE(write_file_atomic(overlays_dir(e.inv) / "p.reset", "").ok());
  EXPECT_EQ(disk_catalog::take_reset_requests(e.inv), std::vector<std::string>{"p"});
  EXPECT_TRUE(disk_catalog::take_reset_requests(e.inv).empty());
}

}  // namespace
}  // namespace diskless::disks
