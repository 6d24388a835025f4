#pragma once
// The simulated PCs of storm_pc.cpp (see there): one class, one thread, one epoll set.
#include <arpa/inet.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "storm_netlink.hpp"
#include "storm_wire.hpp"

namespace storm {

using clk = std::chrono::steady_clock;
inline double ms_since(clk::time_point a, clk::time_point b = clk::now()) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

struct options {
  std::string lower, prefix = "mv", trace;
  int pcs = 0, spread_ms = 3000, steady_ms = 2000, qd = 8, timeout_s = 600;
  double think = 0.1;
  bool files = true;
};

enum class step {
  off,
  dhcp_pxe,
  tftp_loader,
  dhcp_ipxe,
  script,
  files,
  login,
  replay_fw,
  takeover,
  replay_os,
  steady,
  up,
  failed
};
constexpr int step_count = 13;
inline const char* step_name(step s) {
  static const char* n[] = {"off",    "dhcp-pxe", "tftp-loader", "dhcp-ipxe", "script",
                            "files",  "login",    "replay-fw",   "takeover",  "replay-os",
                            "steady", "up",       "failed"};
  return n[static_cast<int>(s)];
}

struct pc;
struct fetch;  // a TFTP or HTTP download in progress

struct pc {
  int index = 0;
  std::string ifname;
  int ifindex = 0;
  mac_t mac;
  step st = step::off, failed_at = step::off;
  std::string why;
  clk::time_point power_on, up_at;
  bool up = false, done = false;
  // DHCP
  std::uint32_t xid = 0, offered = 0, server_id = 0, netmask = 0, next_server = 0;
  bool requesting = false;
  int tries = 0;
  std::string boot_file;
  clk::time_point dhcp_start;
  bool addr_set = false;
  // Downloads
  int sock = -1;
  std::uint16_t tftp_block = 0, tftp_port = 0;
  unsigned blksize = 1432;
  buf last_sent;
  std::string body, http_head;
  bool http = false, http_sent = false;
  std::size_t files_next = 0;
  boot_script script;
  std::optional<iscsi_uri> target;
  // iSCSI
  iscsi_context* ctx = nullptr;
  int ctx_fd = -1, ctx_events = 0;
  std::size_t next_rec = 0, rec_end = 0;
  int inflight = 0;
  clk::time_point phase_start, steady_end, next_steady;
  int login_status = -1;  // set by libiscsi's callbacks, acted on after iscsi_service returns
  bool logout_done = false, logout_sent = false;
  // Data check: the blocks this PC wrote (their content is block_pattern(pc, lba)); write
  // buffers live until no command is in flight (libiscsi sends from them).
  std::map<std::uint64_t, bool> written;
  std::vector<buf> write_bufs;
  unsigned steady_reads = 0;
  std::string cmd_error;
  std::uint64_t timer_seq = 0;
  clk::time_point step_start;
  double step_ms[13]{};  // time spent in each step (indexed by step)
};

struct timer_item {
  clk::time_point at;
  int pc;
  std::uint64_t seq;
  bool operator>(const timer_item& o) const { return at > o.at; }
};

struct stats_t {
  std::uint64_t bytes_tftp = 0, bytes_http = 0, bytes_iscsi_read = 0, bytes_iscsi_written = 0;
  std::uint64_t blocks_verified = 0;
};

class fleet {
 public:
  explicit fleet(options o) : o_(std::move(o)) {}
  int run();

 private:
  // Events
  void arm(pc& p, double ms) {
    p.timer_seq++;
    timers_.push({clk::now() + std::chrono::microseconds(static_cast<long>(ms * 1000)), p.index,
                  p.timer_seq});
  }
  void on_timer(pc& p);
  void fail(pc& p, const std::string& why);
  // Moves p to step s, adding the time spent in its current step to its step_ms.
  static void enter(pc& p, step s) {
    auto now = clk::now();
    if (p.st != step::off) p.step_ms[static_cast<int>(p.st)] += ms_since(p.step_start, now);
    p.step_start = now;
    p.st = s;
  }
  void close_sock(pc& p);
  void watch(int fd, std::uint32_t events, std::uint64_t tag, bool add);

  // DHCP
  void start_dhcp(pc& p, step s);
  void send_dhcp(pc& p);
  void on_raw();
  void on_dhcp(pc& p, const dhcp_reply& r);

  // Downloads
  bool start_fetch(pc& p, const std::string& what);
  void on_sock(pc& p);
  void on_tftp(pc& p);
  void on_http(pc& p);
  void fetched(pc& p);
  void next_file(pc& p);

  // iSCSI
  void start_login(pc& p, const std::string& initiator, std::uint32_t qualifier);
  void update_iscsi(pc& p);
  void on_iscsi(pc& p, int revents);
  void logged_in(pc& p);
  void pump_replay(pc& p);
  void replay_done(pc& p);
  void start_steady(pc& p);
  static void login_cb(iscsi_context*, int status, void* data, void* priv);
  static void cmd_cb(iscsi_context*, int status, void* data, void* priv);
  static void logout_cb(iscsi_context*, int status, void* data, void* priv);
  void drop_ctx(pc& p);
  void issue(pc& p, const trace_record& r);
  void check_read(pc& p, const scsi_task& t);
  void after_service(pc& p);

  void report();
  int open_sockets();

  options o_;
  std::vector<pc> pcs_;
  std::vector<trace_record> trace_;
  std::size_t fw_end_ = 0;  // records [0, fw_end_) are session 0
  std::map<std::uint32_t, int> by_xid_;
  std::priority_queue<timer_item, std::vector<timer_item>, std::greater<>> timers_;
  int ep_ = -1, raw_ = -1, lower_index_ = 0;
  std::unique_ptr<netlink> nl_;
  stats_t stats_;
  std::mt19937 rng_{12345};
  int pending_ = 0;
};

// Epoll tags: 0 = the raw socket; (i + 1) << 1 = PC i's download socket; | 1 = its iSCSI fd.
constexpr std::uint64_t tag_sock(int i) {
  return static_cast<std::uint64_t>(i + 1) << 1;
}
constexpr std::uint64_t tag_iscsi(int i) {
  return tag_sock(i) | 1;
}

}  // namespace storm
