// `diskless overlay list | reset HOST [--force] | commit HOST | remove NAME [--owned]`: the
// per-host copy-on-write disks (<mac>.qcow2, disks/overlay.hpp) and orphans no host owns.
// The running server is another process; we coordinate through the state dir only
// (disks/catalog.hpp): an exclusive flock on <mac>.qcow2 means the host is logged in, a
// shared flock on an image file means some host uses it, <host>.reset asks the server to reset a
// live overlay itself and <host>.reset.done is its answer.
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "cli/commands.hpp"
#include "disks/catalog.hpp"
#include "inventory/load.hpp"
#include "storage/image.hpp"
#include "storage/qcow2.hpp"
#include "util/file.hpp"

namespace diskless::cli {

namespace {

namespace fs = std::filesystem;
using inventory::overlay_mode;

// An open file with a flock we could take (or not).
class locked_file {
 public:
  locked_file(const fs::path& p, int open_flags, int lock_op) {
    fd_ = ::open(p.c_str(), open_flags | O_CLOEXEC);
    if (fd_ < 0) {
      err_ = errno;
      return;
    }
    if (::flock(fd_, lock_op | LOCK_NB) != 0) {
      err_ = errno;
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~locked_file() {
    if (fd_ >= 0) ::close(fd_);
  }
  locked_file(const locked_file&) = delete;
  locked_file& operator=(const locked_file&) = delete;
  bool locked() const { return fd_ >= 0; }
  bool busy() const { return err_ == EWOULDBLOCK; }
  int error() const { return err_; }

 private:
  int fd_ = -1;
  int err_ = 0;
};

std::shared_ptr<inventory::inventory> load(const global_options& g) {
  auto r = inventory::load_file(g.config);
  // Errors confined to a host or image do not stop the overlay commands (shown on stderr).
  if (r.error_count() > 0) {
    for (const auto& p : r.problems) std::fprintf(stderr, "%s\n", p.str().c_str());
    std::fprintf(stderr, "%s: %zu error(s)\n", g.config.c_str(), r.error_count());
  }
  if (!r.loaded()) return nullptr;
  if (g.state_dir) r.inv->server.state_dir = *g.state_dir;
  return r.inv;
}

using disks::has_overlay;

// Overlays under their legacy names (the host's name) move to their MAC names first, so every
// command sees one file per host (disks/overlay.hpp).
void migrate(const inventory::inventory& inv) {
  disks::migrate_legacy_overlays(inv, [](bool warning, const std::string& line) {
    std::fprintf(stderr, "%s%s\n", warning ? "warning: " : "", line.c_str());
  });
}

// The overlay's allocation as a percentage of the disk ("-" when unreadable: *err set).
std::string allocation(const fs::path& ov, std::string* err) {
  storage::qcow2_open_options o;
  o.no_backing = true;  // usage only
  auto q = storage::open_qcow2(ov, o);
  if (!q) {
    if (err) *err = q.error_message();
    return "-";
  }
  auto u = (*q)->usage();
  return fmt::format("{:.1f}%", u.guest_clusters
                                    ? 100.0 * static_cast<double>(u.allocated_clusters) /
                                          static_cast<double>(u.guest_clusters)
                                    : 0.0);
}

std::string human(std::uint64_t b) {
  if (b >= (1ull << 30)) return fmt::format("{:.1f} GiB", static_cast<double>(b) / (1ull << 30));
  if (b >= (1ull << 20)) return fmt::format("{:.1f} MiB", static_cast<double>(b) / (1ull << 20));
  if (b >= 1024) return fmt::format("{:.1f} KiB", static_cast<double>(b) / 1024);
  return fmt::format("{} B", b);
}

// The pid in <state dir>/diskless.pid when that process is alive, else 0.
pid_t server_pid(const inventory::inventory& inv) {
  auto text = read_file(inv.resolve(inv.server.state_dir) / "diskless.pid");
  if (!text) return 0;
  pid_t pid = static_cast<pid_t>(std::atol(text->c_str()));
  if (pid <= 0 || ::kill(pid, 0) != 0) return 0;
  return pid;
}

int list_overlays(const inventory::inventory& inv) {
  std::printf("%-16s %-10s %-14s %10s %9s  %s\n", "HOST", "MODE", "IMAGE", "ON DISK", "ALLOC",
              "STATE");
  for (const auto& h : inv.hosts) {
    const auto* img = inv.find_image(h.image);
    if (!img || img->disk.empty()) continue;  // RBD clones are listed by `rbd ls`
    std::string on_disk = "-", alloc = "-", state;
    if (has_overlay(h)) {
      auto ov = disks::overlay_path(inv, h);
      struct stat st;
      if (::stat(ov.c_str(), &st) != 0) {
        state = "no overlay yet";
      } else {
        on_disk = human(static_cast<std::uint64_t>(st.st_blocks) * 512);
        locked_file probe(ov, O_RDONLY, LOCK_SH);
        state = probe.busy() ? "logged in" : "idle";
        alloc = allocation(ov, &state);
      }
    } else {
      locked_file probe(inv.resolve(img->disk), O_RDONLY, LOCK_EX);
      state = probe.busy() ? "image in use" : "";
    }
    std::printf("%-16s %-10s %-14s %10s %9s  %s\n", h.name.c_str(),
                std::string(inventory::to_string(h.overlay)).c_str(), h.image.c_str(),
                on_disk.c_str(), alloc.c_str(), state.c_str());
  }
  // Files no host owns (a removed host's, a legacy copy): listed so they can be removed.
  for (const auto& f : disks::overlay_files(inv)) {
    if (f.owner) continue;
    struct stat st;
    auto on_disk = ::stat(f.path.c_str(), &st) == 0
                       ? human(static_cast<std::uint64_t>(st.st_blocks) * 512)
                       : "-";
    locked_file probe(f.path, O_RDONLY, LOCK_SH);
    std::printf("%-16s %-10s %-14s %10s %9s  %s\n", f.path.stem().c_str(), "orphan", "-",
                on_disk.c_str(), allocation(f.path, nullptr).c_str(),
                probe.busy() ? "orphan, in use"
                             : fmt::format("orphan: no host owns {}; `diskless overlay remove {}`",
                                           f.path.filename().string(), f.path.filename().string())
                                   .c_str());
  }
  return 0;
}

void remove_overlay(const fs::path& ov);

// `overlay remove NAME|FILE`: deletes an overlay file. One a host owns needs `owned` (its
// changes are lost: `overlay reset` says the same for a host); one in use is always refused.
int remove_file(const inventory::inventory& inv, const std::string& what, bool owned) {
  fs::path path;
  if (const auto* h = inv.find_host_by_key(what); h && has_overlay(*h)) {
    path = disks::overlay_path(inv, *h);
  } else {
    if (what.find('/') != std::string::npos || what.empty() || what == "." || what == "..") {
      std::fprintf(stderr, "diskless overlay remove: '%s' is not a host or an overlay file name\n",
                   what.c_str());
      return 1;
    }
    path = disks::overlays_dir(inv) / what;
    if (path.extension() != ".qcow2") path += ".qcow2";
  }
  const disks::overlay_file* found = nullptr;
  auto files = disks::overlay_files(inv);
  for (const auto& f : files)
    if (f.path == path) found = &f;
  if (!found) {
    std::fprintf(stderr, "diskless overlay remove: no overlay %s\n", path.c_str());
    return 1;
  }
  if (found->owner && !owned) {
    std::fprintf(stderr,
                 "diskless overlay remove: %s is the overlay of host %s; refused (use `diskless "
                 "overlay reset %s`, or --owned to delete it anyway)\n",
                 path.filename().c_str(), found->owner->name.c_str(), found->owner->name.c_str());
    return 1;
  }
  locked_file lk(path, O_RDWR, LOCK_EX);
  if (!lk.locked()) {
    std::fprintf(stderr, "diskless overlay remove: %s: %s\n", path.c_str(),
                 lk.busy() ? "in use (a host is logged in on it)" : std::strerror(lk.error()));
    return 1;
  }
  remove_overlay(path);  // still holding the lock: nobody opens it meanwhile
  std::printf(
      "removed %s%s\n", path.filename().c_str(),
      found->owner ? fmt::format(" (host {}'s overlay)", found->owner->name).c_str() : " (orphan)");
  return 0;
}

// Takes the overlay's exclusive lock: null (message printed) when it is busy or cannot be opened.
std::unique_ptr<locked_file> lock_overlay(const inventory::inventory& inv, const inventory::host& h,
                                          const char* what, bool quiet_if_busy = false) {
  auto ov = disks::overlay_path(inv, h);
  auto lk = std::make_unique<locked_file>(ov, O_RDWR, LOCK_EX);
  if (lk->locked()) return lk;
  if (!lk->busy()) {
    std::fprintf(stderr, "diskless overlay %s: %s: %s\n", what, ov.c_str(),
                 std::strerror(lk->error()));
  } else if (!quiet_if_busy) {
    std::fprintf(stderr, "diskless overlay %s: host %s is logged in (its overlay is in use)%s\n",
                 what, h.name.c_str(),
                 std::string_view(what) == "reset" ? "; use --force to end its session first" : "");
  }
  return nullptr;
}

void remove_overlay(const fs::path& ov) {
  std::error_code ec;
  fs::remove(ov, ec);
  if (int dfd = ::open(ov.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

// The host is logged in: the serving process owns the overlay, so it must reset it itself
// (disks/catalog.hpp): write <host>.reset with a token, wait for <host>.reset.done.
// 0: done by the server; 1: failed (printed); 2: the server no longer has it open (retry here).
int ask_server_to_reset(const inventory::inventory& inv, const inventory::host& h) {
  if (server_pid(inv) == 0)
    std::fprintf(stderr, "diskless overlay reset: warning: no running server found in %s\n",
                 inv.resolve(inv.server.state_dir).c_str());
  auto req = disks::overlays_dir(inv) / (h.name + ".reset");
  auto done = req;
  done += ".done";
  std::error_code ec;
  fs::remove(done, ec);
  auto token =
      fmt::format("{}-{}", ::getpid(), std::chrono::steady_clock::now().time_since_epoch().count());
  if (auto r = write_file_atomic(req, token); !r) {
    std::fprintf(stderr, "diskless overlay reset: %s\n", r.error_message().c_str());
    return 1;
  }
  std::fprintf(stderr, "asked the server to reset the overlay of %s and end its sessions...\n",
               h.name.c_str());
  for (int i = 0; i < 150; ++i) {  // up to 15 s (the server polls every 0.2 s)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto answer = read_file(done);
    if (!answer || !answer->starts_with(token + "\n")) continue;
    fs::remove(done, ec);
    auto status = answer->substr(token.size() + 1);
    while (!status.empty() && status.back() == '\n') status.pop_back();
    if (status == "ok") return 0;
    if (status.find("has no overlay open") != std::string::npos) return 2;
    std::fprintf(stderr, "diskless overlay reset: the server: %s\n", status.c_str());
    return 1;
  }
  fs::remove(req, ec);
  std::fprintf(stderr, "diskless overlay reset: the server did not answer within 15 s\n");
  return 1;
}

int reset(const inventory::inventory& inv, const inventory::host& h, bool force) {
  auto ov = disks::overlay_path(inv, h);
  const char* done_msg = "reset %s: overlay discarded; it starts again from image %s\n";
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (!fs::exists(ov)) {
      std::printf("%s has no overlay: nothing to reset\n", h.name.c_str());
      return 0;
    }
    if (auto lk = lock_overlay(inv, h, "reset", force)) {
      remove_overlay(ov);  // still holding the lock: no login can reuse it meanwhile
      std::printf(done_msg, h.name.c_str(), h.image.c_str());
      return 0;
    }
    locked_file probe(ov, O_RDONLY, LOCK_SH);
    if (!force || !probe.busy()) return 1;  // refused or unreadable: lock_overlay printed why
    int r = ask_server_to_reset(inv, h);
    if (r == 0) {
      std::printf(done_msg, h.name.c_str(), h.image.c_str());
      std::printf("(the server recreated it empty and ended the host's sessions)\n");
      return 0;
    }
    if (r == 1) return 1;
    // r == 2: its session ended meanwhile; the lock is free now (try again).
  }
  std::fprintf(stderr, "diskless overlay reset: %s keeps logging in and out; try again\n",
               h.name.c_str());
  return 1;
}

int commit(const inventory::inventory& inv, const inventory::host& h) {
  auto ov = disks::overlay_path(inv, h);
  if (!fs::exists(ov)) {
    std::printf("%s has no overlay: nothing to commit\n", h.name.c_str());
    return 0;
  }
  auto lk = lock_overlay(inv, h, "commit");
  if (!lk) return 1;
  auto image = inv.resolve(inv.find_image(h.image)->disk);
  locked_file golden_lock(image, O_RDONLY, LOCK_EX);
  if (!golden_lock.locked()) {
    std::string users;
    for (const auto& o : inv.hosts)
      if (o.name != h.name && o.image == h.image) users += " " + o.name;
    std::fprintf(stderr,
                 "diskless overlay commit: image %s (%s) is in use by a logged-in host (hosts on "
                 "it:%s); refused\n",
                 h.image.c_str(), image.c_str(), users.c_str());
    return 1;
  }
  storage::qcow2_open_options qo;
  qo.no_backing = true;  // only the clusters the overlay defines are read
  auto q = storage::open_qcow2(ov, qo);
  if (!q) {
    std::fprintf(stderr, "diskless overlay commit: %s\n", q.error_message().c_str());
    return 1;
  }
  std::error_code ec;
  auto base_abs = fs::absolute(image, ec).lexically_normal();
  if ((*q)->header().backing_file != base_abs.string()) {
    std::fprintf(stderr, "diskless overlay commit: %s was made over %s, not over %s; refused\n",
                 ov.c_str(), (*q)->header().backing_file.c_str(), base_abs.c_str());
    return 1;
  }
  auto base = storage::open_image(image, true);
  if (!base) {
    std::fprintf(stderr, "diskless overlay commit: %s\n", base.error_message().c_str());
    return 1;
  }
  const std::uint64_t limit = (*base)->size();
  std::uint64_t written = 0;
  bytes buf(1 << 20);
  auto err = (*q)->for_each_defined([&](std::uint64_t off, std::uint64_t len, bool zero) {
    if (off >= limit) return std::error_code{};
    len = std::min(len, limit - off);
    if (zero) {
      written += len;
      return (*base)->discard(off, len);
    }
    for (std::uint64_t done = 0; done < len;) {
      auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), len - done));
      auto chunk = std::span(buf).first(n);
      if (auto e = (*q)->read(off + done, chunk)) return e;
      if (auto e = (*base)->write(off + done, chunk)) return e;
      done += n;
    }
    written += len;
    return std::error_code{};
  });
  if (!err) err = (*base)->flush();
  if (err) {
    std::fprintf(stderr, "diskless overlay commit: writing %s: %s (the overlay is kept)\n",
                 image.c_str(), err.message().c_str());
    return 1;
  }
  q = error{"closed"};
  remove_overlay(ov);
  std::printf("committed %s of changes from %s into %s; overlay removed\n", human(written).c_str(),
              h.name.c_str(), image.c_str());
  for (const auto& o : inv.hosts)
    if (o.name != h.name && o.image == h.image && o.overlay == overlay_mode::persistent &&
        fs::exists(disks::overlay_path(inv, o)))
      std::printf(
          "note: %s keeps a persistent overlay over the changed image; consider "
          "`diskless overlay reset %s`\n",
          o.name.c_str(), o.name.c_str());
  return 0;
}

// `overlay reset|commit HOST`: the host must exist and have an overlay.
int reset_or_commit(const global_options& g, const std::string& sub, const std::string& key,
                    bool force) {
  auto inv = load(g);
  if (!inv) return 1;
  migrate(*inv);
  const auto* h = inv->find_host_by_key(key);
  if (!h) {
    std::fprintf(stderr, "diskless overlay %s: no host '%s'\n", sub.c_str(), key.c_str());
    return 1;
  }
  if (!has_overlay(*h)) {
    std::fprintf(stderr,
                 "diskless overlay %s: host %s has overlay=\"%s\" (only persistent and volatile "
                 "hosts have overlays)\n",
                 sub.c_str(), h->name.c_str(),
                 std::string(inventory::to_string(h->overlay)).c_str());
    return 1;
  }
  if (const auto* img = inv->find_image(h->image); img && img->rbd) {
    std::fprintf(stderr,
                 "diskless overlay %s: host %s's disk is the RBD clone %s/%s; this command "
                 "handles qcow2 overlay files only (use the rbd tool)\n",
                 sub.c_str(), h->name.c_str(), img->rbd->pool.c_str(),
                 disks::rbd_clone_name(*img->rbd, *h).c_str());
    return 1;
  }
  return sub == "reset" ? reset(*inv, *h, force) : commit(*inv, *h);
}

struct overlay_args {
  std::string key;
  bool force = false;
  bool owned = false;
};

}  // namespace

void add_overlay_command(CLI::App& app, const global_options& g, action& chosen) {
  auto* overlay =
      app.add_subcommand("overlay", "the hosts' copy-on-write disks")->require_subcommand(1);
  auto a = std::make_shared<overlay_args>();
  auto* list = overlay->add_subcommand("list", "each host's overlay: mode, size, state");
  list->callback([&g, &chosen] {
    chosen = [&g] {
      auto inv = load(g);
      if (!inv) return 1;
      migrate(*inv);
      return list_overlays(*inv);
    };
  });
  auto* remove = overlay->add_subcommand(
      "remove", "delete an overlay file no host owns (an orphan), by file or host name");
  remove->add_option("NAME", a->key, "the file (as `overlay list` shows it) or a host")->required();
  remove->add_flag("--owned", a->owned,
                   "delete it even though a host owns it (its changes are lost)");
  remove->callback([&g, &chosen, a] {
    chosen = [&g, a] {
      auto inv = load(g);
      if (!inv) return 1;
      migrate(*inv);
      return remove_file(*inv, a->key, a->owned);
    };
  });
  auto* reset = overlay->add_subcommand("reset", "discard the host's changes");
  reset->add_option("HOST", a->key, "the host's name or MAC")->required();
  reset->add_flag("--force", a->force,
                  "a logged-in host: the running server resets it and ends its sessions");
  reset->callback([&g, &chosen, a] {
    chosen = [&g, a] { return reset_or_commit(g, "reset", a->key, a->force); };
  });
  auto* commit = overlay->add_subcommand("commit", "write the host's changes into its image");
  commit->add_option("HOST", a->key, "the host's name or MAC")->required();
  commit->callback([&g, &chosen, a] {
    chosen = [&g, a] { return reset_or_commit(g, "commit", a->key, false); };
  });
}

}  // namespace diskless::cli
