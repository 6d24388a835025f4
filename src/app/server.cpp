#include "app/server.hpp"

#include <ifaddrs.h>
#include <malloc.h>
#include <netinet/in.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <fstream>

#include "api/handler.hpp"
#include "api/token.hpp"
#include "app/preflight.hpp"
#include "app/reload_order.hpp"
#include "app/services.hpp"
#include "disks/catalog.hpp"
#include "disks/overlay.hpp"
#include "http/server.hpp"
#include "state/model.hpp"
#include "util/asio.hpp"
#include "util/io_pool.hpp"
#include "util/log.hpp"
#include "util/notify.hpp"

namespace diskless::app {

result<ipv4_address> interface_address(const std::string& name) {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return error{std::string("getifaddrs: ") + std::strerror(errno)};
  std::optional<ipv4_address> found;
  bool exists = false;
  for (auto* a = list; a; a = a->ifa_next) {
    if (name != a->ifa_name) continue;
    exists = true;
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET) continue;
    sockaddr_in sin;
    std::memcpy(&sin, a->ifa_addr, sizeof sin);
    found = ipv4_address(ntohl(sin.sin_addr.s_addr));
    break;
  }
  ::freeifaddrs(list);
  if (found) return *found;
  if (!exists) return error{"interface " + name + " does not exist (see `ip -br addr`)"};
  return error{"interface " + name + " has no IPv4 address; give <server address=...>"};
}

namespace {

// The iPXE loaders DHCP offers PXE ROMs (boot/catalog.cpp): BIOS undionly.kpxe and the x64 UEFI
// loader. A missing one means those PCs get an offer and then a TFTP "file not found", so the
// admin is told at start and on every reload (runs off the loop: load_for_serving does I/O).
void warn_missing_loaders(const inventory::inventory& inv, std::vector<inventory::problem>& out) {
  if (inv.server.dhcp.mode == inventory::dhcp_mode::off) return;
  const auto root = inv.resolve(inv.server.tftp.root);
  for (const std::string& name : {std::string("undionly.kpxe"), inv.server.dhcp.efi_loader}) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(root / name, ec)) continue;
    out.push_back({inventory::problem::level::warning,
                   inv.source.string(),
                   0,
                   fmt::format("iPXE loader {} is missing from the TFTP root {}: DHCP offers it "
                               "to {} PXE clients, which will fail to boot; hint: copy it there "
                               "from /usr/lib/ipxe/ (Debian package ipxe)",
                               name, root.string(), name == "undionly.kpxe" ? "BIOS" : "UEFI"),
                   {},
                   {}});
  }
}

}  // namespace

inventory::load_result load_for_serving(const serve_options& opts) {
  auto r = inventory::load_file(opts.config);
  if (!r.loaded()) return r;
  // Disabled hosts and images are left out: their PCs get the unknown treatment.
  r.inv = inventory::serving_view(*r.inv);
  auto& inv = *r.inv;
  if (opts.state_dir) inv.server.state_dir = std::filesystem::absolute(*opts.state_dir);
  inv.server.state_dir = inv.resolve(inv.server.state_dir);
  auto& token = inv.server.api.token_file;
  token = token.empty() ? inv.server.state_dir / "api.token" : inv.resolve(token);
  if (!inv.server.address && !inv.server.interface.empty()) {
    auto a = interface_address(inv.server.interface);
    if (!a) {
      r.problems.push_back(
          {inventory::problem::level::error,
           opts.config.string(),
           0,
           "<server interface=\"" + inv.server.interface + "\">: " + a.error_message(),
           {},
           {}});
      r.inv.reset();
      return r;
    }
    inv.server.address = *a;
  }
  warn_missing_loaders(inv, r.problems);
  // Overlays under their legacy names move to their MAC names (disks/overlay.hpp), off the loop.
  disks::migrate_legacy_overlays(inv, [](bool warning, const std::string& line) {
    if (warning)
      log::storage().warn("{}", line);
    else
      log::storage().info("{}", line);
  });
  return r;
}

namespace {

void log_problems(const std::vector<inventory::problem>& problems) {
  for (const auto& p : problems) {
    // An error confined to a host or image only disables that entry: a warning for the server.
    if (p.severity == inventory::problem::level::error && !p.scoped())
      log::inventory().error("{}", p.str());
    else
      log::inventory().warn("{}", p.str());
  }
}

class server {
 public:
  server(const serve_options& opts, inventory::inventory_ptr inv)
      : opts_(opts),
        current_(std::move(inv)),
        pool_(opts.io_threads,
              [this](io_pool::task t) { asio::post(io_, [t = std::move(t)]() mutable { t(); }); }),
        signals_(io_, SIGINT, SIGTERM, SIGHUP),
        debounce_(io_),
        inotify_(io_) {}

  int run() {
    std::error_code ec;
    if (auto problem = state_dir_problem(current_->server.state_dir)) {
      log::app().error("{}", *problem);
      return 1;
    }
    pid_file_ = current_->server.state_dir / "diskless.pid";
    std::ofstream(pid_file_) << ::getpid() << "\n";

    live_->apply(*current_);
    svc::context ctx{io_, pool_, current_, [this](const svc::event& e) {
                       auto changes = live_->on_event(e, state::clock::now());
                       if (api_)
                         for (const auto& c : changes) api_->publish(c);
                     }};
    services_ = make_services(ctx, disks_, opts_.trace_io);
    if (current_->server.api.enabled && !add_api(ctx)) return 1;
    for (auto& s : services_) {
      if (auto r = s->start(); !r) {
        log::app().error("{}: {}", s->name(), r.error_message());
        stop_services();
        return 1;
      }
    }
    watch_signals();
    watch_file();
    log::app().info("serving {} host(s) from {} (server address {}, {} service(s))",
                    current_->hosts.size(), opts_.config.string(),
                    current_->server.address ? current_->server.address->str() : "unset",
                    services_.size());
    notify::ready();  // every listener is bound
    notify_status();
    io_.run();
    pool_.shutdown();
    std::filesystem::remove(pid_file_, ec);
    log::app().info("stopped");
    return 0;
  }

 private:
  // The admin listener (<api>): the token is read or created here, before serving (a blocking
  // file read, like the pid file's write). Turning <api> on or off needs a restart.
  bool add_api(svc::context& ctx) {
    const auto& file = current_->server.api.token_file;
    auto t = api::load_or_create_token(file);
    if (!t) {
      log::app().error("api: {}", t.error_message());
      return false;
    }
    log::app().info("api: bearer token {} {}", t->created ? "created in" : "read from",
                    file.string());
    api::settings s{live_, opts_.config, t->token, DISKLESS_VERSION, [this] { reload(); }, {}};
    s.reset_overlay = [d = disks_](const inventory::inventory& inv, const inventory::host& h) {
      return d->reset_overlay(inv, h);
    };
    api_ = std::make_shared<api::handler>(std::move(s), pool_, current_);
    api_->config_loaded(true, state::clock::now());
    services_.push_back(http::make_admin_service(ctx, api_));
    return true;
  }

  void watch_signals() {
    signals_.async_wait([this](const std::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        log::app().info("SIGHUP: reloading {}", opts_.config.string());
        reload();
        watch_signals();
        return;
      }
      log::app().info("signal {}: stopping", sig);
      notify::stopping();
      stop_services();
      io_.stop();
    });
  }

  void stop_services() {
    if (stopped_) return;
    stopped_ = true;
    for (auto it = services_.rbegin(); it != services_.rend(); ++it) (*it)->stop();
    debounce_.cancel();
    boost::system::error_code ignored;
    inotify_.close(ignored);
  }

  // Watches the inventory's directory: editors and `diskless host` replace the file by rename,
  // which a watch on the file itself would miss.
  void watch_file() {
    int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) {
      log::app().warn("inotify unavailable ({}); reload with SIGHUP", std::strerror(errno));
      return;
    }
    auto dir = opts_.config.parent_path();
    if (dir.empty()) dir = ".";
    if (::inotify_add_watch(fd, dir.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE) < 0) {
      log::app().warn("cannot watch {} ({}); reload with SIGHUP", dir.string(),
                      std::strerror(errno));
      ::close(fd);
      return;
    }
    inotify_.assign(fd);
    read_events();
  }

  void read_events() {
    inotify_.async_read_some(
        asio::buffer(event_buf_), [this](const std::error_code& ec, std::size_t n) {
          if (ec) return;
          bool ours = false;
          std::string name = opts_.config.filename().string();
          // struct inotify_event: int wd; uint32 mask, cookie, len; char name[len] (host order).
          std::size_t pos = 0;
          while (pos + sizeof(inotify_event) <= n) {
            inotify_event ev;
            std::memcpy(&ev, event_buf_.data() + pos, sizeof ev);
            std::size_t name_at = pos + sizeof(inotify_event);
            if (name_at + ev.len > n) break;
            std::string ev_name(event_buf_.data() + name_at,
                                strnlen(event_buf_.data() + name_at, ev.len));
            if (ev_name == name) ours = true;
            pos = name_at + ev.len;
          }
          if (ours) {
            // Editors write in several steps; reload once things settle.
            debounce_.expires_after(std::chrono::milliseconds(150));
            debounce_.async_wait([this](const std::error_code& e) {
              if (!e) {
                log::app().info("{} changed: reloading", opts_.config.string());
                reload();
              }
            });
          }
          read_events();
        });
  }

  // Loading reads the file: done on the pool, applied on the loop. Loads may finish out of
  // order; reload_order drops a result older than one already seen.
  void reload() {
    auto generation = order_.begin();
    notify::reloading();
    pool_.submit([opts = opts_] { return load_for_serving(opts); },
                 [this, generation](inventory::load_result r) {
                   if (!order_.accept(generation)) {
                     log::inventory().info("dropping reload #{}: a newer one completed first",
                                           generation);
                     return;
                   }
                   apply(std::move(r));
                   notify::ready();
                   notify_status();
                 });
  }

  void notify_status() {
    notify::status(fmt::format("serving {} host(s), {} image(s) from {}", current_->hosts.size(),
                               current_->images.size(), opts_.config.string()));
  }

  void apply(inventory::load_result r) {
    if (stopped_) return;
    if (!r.loaded()) {
      log_problems(r.problems);
      log::inventory().error("{} is invalid ({} error(s)); keeping the last good inventory",
                             opts_.config.string(), r.error_count());
      if (api_) api_->config_loaded(false, state::clock::now());
      return;
    }
    log_problems(r.problems);  // warnings, and errors that only disabled a host or image
    if (api_) api_->config_loaded(true, state::clock::now());
    inventory::inventory_ptr next = r.inv;
    auto d = inventory::diff(*current_, *next);
    if (d.empty()) {
      log::inventory().info("reloaded {}: no change", opts_.config.string());
      return;
    }
    for (const auto& n : d.added) log::inventory().info("added host {}", n);
    for (const auto& n : d.changed) log::inventory().info("changed host {}", n);
    for (const auto& n : d.removed) log::inventory().info("removed host {}", n);
    if (d.server_changed)
      log::inventory().warn(
          "<server> settings changed: HTTP and iSCSI move to a new port or address now, DHCP "
          "reopens for a new mode or interface; a new TFTP port needs a restart (tftp says so)");
    log::inventory().info("inventory in force: {} host(s), {} image(s)", next->hosts.size(),
                          next->images.size());
    current_ = std::move(next);
    live_->apply(*current_);
    for (auto& s : services_) s->apply(current_);
  }

  serve_options opts_;
  inventory::inventory_ptr current_;
  asio::io_context io_{1};
  io_pool pool_;
  asio::signal_set signals_;
  asio::steady_timer debounce_;
  asio::posix::stream_descriptor inotify_;
  std::array<char, 4096> event_buf_{};
  // Every PC's boot as the services report it (state/README.md).
  std::shared_ptr<state::model> live_ = std::make_shared<state::model>();
  // Every host's disk (the iSCSI service's, the API's overlay reset).
  std::shared_ptr<disks::disk_catalog> disks_ = std::make_shared<disks::disk_catalog>();
  std::shared_ptr<api::handler> api_;  // the JSON API, when <api> is on
  std::vector<std::unique_ptr<svc::service>> services_;
  std::filesystem::path pid_file_;
  reload_order order_;
  bool stopped_ = false;
};

}  // namespace

int serve(const serve_options& opts) {
  log::app().info("inventory {}", std::filesystem::absolute(opts.config).string());
  if (auto problem = inventory_unreadable(opts.config)) {
    log::app().error("{}", *problem);
    return 1;
  }
  auto r = load_for_serving(opts);
  log_problems(r.problems);
  if (!r.loaded()) {
    log::app().error("not starting: {} has {} error(s)", opts.config.string(), r.error_count());
    return 1;
  }
  // READ buffers (up to the 32 MiB maximum transfer) are allocated and freed at a high rate.
  // glibc would serve each with a fresh mmap and unmap it on free, so every read paid page faults
  // on its whole buffer; keeping them in the heap (and not trimming it) recycles warm pages.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  // The server must outlive io_context handlers; members are destroyed in reverse order.
  auto s = std::make_unique<server>(opts, r.inv);
  return s->run();
}

}  // namespace diskless::app
