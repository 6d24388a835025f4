// storm_pc: N simulated PCs powering on at once, each booting like a BIOS PC with a PXE ROM
// chaining iPXE (integration/bench/storm.sh drives it; bench code, not part of the server).
//
//   storm_pc --lower IF --pcs N --trace FILE [--prefix mv] [--spread-ms 3000] [--think 0.1]
//            [--steady-ms 2000] [--qd 8] [--no-files] [--timeout-s 600]
//
// PC i is the macvlan interface PREFIX<i> (its own MAC; storm.sh makes them on IF). Its steps:
//   dhcp-pxe   DISCOVER/OFFER/REQUEST/ACK as PXE firmware (options 60/93/94/97), through one
//              AF_PACKET socket on IF for every PC; retransmits after 4, 8, 16 and 32 s
//   tftp-loader  the OFFER's boot file lock-step at block size 1432; then the address is put on
//              the PC's macvlan (netlink), as the ROM's UNDI stack would use it
//   dhcp-ipxe  the same exchange again as iPXE (user class "iPXE", option 175); 1, 2, 4, 8 s
//   script     the OFFER's file: over HTTP (http://...) or TFTP (a name, from next-server)
//   files      the kernel/initrd URLs the script names, HTTP or TFTP (--no-files skips them)
//   login      iSCSI login (libiscsi) as the script's initiator-iqn, with CHAP when the script
//              sets username/password, to its sanboot/sanhook target
//   replay-fw  the trace's records before the last session's first (the firmware's reads)
//   takeover   logout, the trace's gap between the firmware's last command and the OS's first
//              (scaled by --think: the OS loading), then login again as the OS initiator
//              (iscsi_initiator= on the kernel line, else the same name) with another ISID
//   replay-os  the last session's records (the OS's): the PC is then UP
//   steady     --steady-ms of one read every 100 ms, then logout; every other read is of
//              blocks this PC wrote and must return what it wrote (each PC writes its own
//              pattern: another PC's overlay or a lost write shows), the others of 8 blocks the
//              trace touched
// Replay: records go out in order, at most --qd in flight, none before its recorded time scaled
// by --think (0: as fast as the server answers). Writes carry a pattern.
// Output: one line per PC ("pc I MAC up MS" or "pc I MAC fail STEP: WHY"), then a summary:
// PCs up, failures by step, time-to-up percentiles (from each PC's power-on), bytes received,
// and this process's own CPU seconds. Exit 0 when every PC is up, 1 otherwise, 2 on usage.
#include "storm_pc.hpp"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace storm {

void fleet::watch(int fd, std::uint32_t events, std::uint64_t tag, bool add) {
  epoll_event e{};
  e.events = events;
  e.data.u64 = tag;
  if (epoll_ctl(ep_, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &e) != 0 && add)
    std::perror("epoll_ctl");
}

void fleet::fail(pc& p, const std::string& why) {
  if (p.done) return;
  p.failed_at = p.st;
  p.why = why;
  enter(p, step::failed);
  p.done = true;
  p.timer_seq++;
  close_sock(p);
  drop_ctx(p);
  --pending_;
}

void fleet::close_sock(pc& p) {
  if (p.sock >= 0) ::close(p.sock);  // closing removes it from the epoll set
  p.sock = -1;
}

// ---- DHCP (RFC 2131 §4.4; PXE 2.1 §2.2: a ROM retransmits after 4, 8, 16 and 32 s) ----

void fleet::start_dhcp(pc& p, step s) {
  enter(p, s);
  p.xid = static_cast<std::uint32_t>(rng_());
  by_xid_[p.xid] = p.index;
  p.requesting = false;
  p.tries = 0;
  p.dhcp_start = clk::now();
  send_dhcp(p);
}

void fleet::send_dhcp(pc& p) {
  const bool rom = p.st == step::dhcp_pxe;
  const int max_tries = 4;
  if (p.tries >= max_tries) return fail(p, p.requesting ? "no ACK" : "no OFFER");
  dhcp_request r;
  r.mac = p.mac;
  r.xid = p.xid;
  r.secs = static_cast<std::uint16_t>(ms_since(p.dhcp_start) / 1000);
  r.ipxe = !rom;
  r.type = p.requesting ? 3 : 1;
  r.requested = p.offered;
  r.server_id = p.server_id;
  buf f = build_dhcp_frame(r);
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = lower_index_;
  to.sll_halen = 6;
  std::memset(to.sll_addr, 0xff, 6);
  if (::sendto(raw_, f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0)
    return fail(p, std::string("send: ") + std::strerror(errno));
  // ROM: 4, 8, 16, 32 s; iPXE: 1, 2, 4, 8 s (its DHCP timeouts are shorter).
  arm(p, (rom ? 4000.0 : 1000.0) * (1 << p.tries));
  p.tries++;
}

void fleet::on_raw() {
  std::uint8_t frame[2048];
  for (;;) {
    ssize_t n = ::recv(raw_, frame, sizeof frame, MSG_DONTWAIT);
    if (n <= 0) return;
    auto r = parse_dhcp_frame(frame, static_cast<std::size_t>(n));
    if (!r) continue;
    auto it = by_xid_.find(r->xid);
    if (it == by_xid_.end()) continue;
    pc& p = pcs_[it->second];
    if (std::memcmp(p.mac.b, r->chaddr.b, 6) != 0) continue;
    on_dhcp(p, *r);
  }
}

void fleet::on_dhcp(pc& p, const dhcp_reply& r) {
  if (p.done || (p.st != step::dhcp_pxe && p.st != step::dhcp_ipxe)) return;
  if (!p.requesting && r.type == 2) {  // the first OFFER wins
    p.offered = r.yiaddr;
    p.server_id = r.server_id ? r.server_id : r.siaddr;
    p.requesting = true;
    p.tries = 0;
    return send_dhcp(p);
  }
  if (!p.requesting) return;
  if (r.type == 6) return fail(p, "NAK");
  if (r.type != 5 || r.yiaddr != p.offered) return;
  by_xid_.erase(p.xid);
  p.netmask = r.netmask ? r.netmask : 0xffffff00;
  p.next_server = r.siaddr ? r.siaddr : p.server_id;
  p.boot_file = r.file;
  if (p.boot_file.empty()) return fail(p, "ACK without a boot file");
  if (!p.addr_set) {
    int prefix = __builtin_popcount(p.netmask);
    if (auto e = nl_->add_address(p.ifindex, p.offered, prefix); !e.empty())
      return fail(p, "address: " + e);
    p.addr_set = true;
  }
  if (p.st == step::dhcp_pxe) {
    enter(p, step::tftp_loader);
    if (!start_fetch(p, p.boot_file)) return;
  } else {
    enter(p, step::script);
    if (!start_fetch(p, p.boot_file)) return;
  }
}

// ---- Downloads: TFTP lock-step (RFC 1350, blksize RFC 2348) and HTTP/1.1 GET ----

// what: "http://host[:port]/path", "tftp://host/path" or a bare name on next-server.
bool fleet::start_fetch(pc& p, const std::string& what) {
  close_sock(p);
  p.body.clear();
  p.http_head.clear();
  p.http_sent = false;
  p.tries = 0;
  std::string host = ip_str(p.next_server), path = what;
  int port = 69;
  p.http = what.rfind("http://", 0) == 0;
  if (p.http || what.rfind("tftp://", 0) == 0) {
    auto rest = what.substr(7);
    auto slash = rest.find('/');
    std::string hp = rest.substr(0, slash);
    path = slash == std::string::npos ? "/" : rest.substr(slash);
    if (!p.http) path = path.substr(1);
    auto colon = hp.find(':');
    host = hp.substr(0, colon);
    port = colon == std::string::npos ? (p.http ? 80 : 69) : std::atoi(hp.c_str() + colon + 1);
  }
  p.sock = ::socket(AF_INET, (p.http ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (p.sock < 0 ||
      setsockopt(p.sock, SOL_SOCKET, SO_BINDTODEVICE, p.ifname.c_str(), p.ifname.size()) != 0) {
    fail(p, std::string("socket: ") + std::strerror(errno));
    return false;
  }
  sockaddr_in me{};
  me.sin_family = AF_INET;
  me.sin_addr.s_addr = htonl(p.offered);
  if (::bind(p.sock, reinterpret_cast<sockaddr*>(&me), sizeof me) != 0) {
    fail(p, std::string("bind: ") + std::strerror(errno));
    return false;
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &to.sin_addr);
  if (p.http) {
    p.last_sent.clear();
    std::string req = "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: iPXE/1.21.1" +
                      "\r\nConnection: close\r\n\r\n";
    p.last_sent.assign(req.begin(), req.end());
    if (::connect(p.sock, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0 &&
        errno != EINPROGRESS) {
      fail(p, std::string("connect: ") + std::strerror(errno));
      return false;
    }
    watch(p.sock, EPOLLOUT | EPOLLIN, tag_sock(p.index), true);
    arm(p, 30000);
  } else {
    p.tftp_block = 0;
    p.tftp_port = 0;
    p.last_sent = tftp_rrq(path, p.blksize);
    if (::sendto(p.sock, p.last_sent.data(), p.last_sent.size(), 0,
                 reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) {
      fail(p, std::string("send: ") + std::strerror(errno));
      return false;
    }
    watch(p.sock, EPOLLIN, tag_sock(p.index), true);
    arm(p, 1000);
  }
  p.tftp_port = 0;
  p.next_server = ntohl(to.sin_addr.s_addr);
  return true;
}

void fleet::on_sock(pc& p) {
  if (p.done || p.sock < 0) return;
  if (p.http)
    on_http(p);
  else
    on_tftp(p);
}

void fleet::on_tftp(pc& p) {
  std::uint8_t d[65536];
  for (;;) {
    sockaddr_in from{};
    socklen_t fl = sizeof from;
    ssize_t n = ::recvfrom(p.sock, d, sizeof d, 0, reinterpret_cast<sockaddr*>(&from), &fl);
    if (n < 0) return;
    if (n < 4) continue;
    std::uint16_t opc = static_cast<std::uint16_t>(d[0] << 8 | d[1]);
    if (p.tftp_port == 0) p.tftp_port = ntohs(from.sin_port);
    if (ntohs(from.sin_port) != p.tftp_port) continue;  // RFC 1350 §4: another TID
    if (opc == 5) return fail(p, "TFTP error: " + std::string(d + 4, d + n - 1));
    std::uint16_t ack_block;
    bool last = false;
    if (opc == 6) {  // OACK: RFC 2347; blksize as accepted
      std::string o(d + 2, d + n);
      auto at = o.find("blksize");
      if (at != std::string::npos) p.blksize = std::atoi(o.c_str() + at + 8);
      if (p.tftp_block != 0) continue;
      ack_block = 0;
    } else if (opc == 3) {
      std::uint16_t block = static_cast<std::uint16_t>(d[2] << 8 | d[3]);
      if (block != static_cast<std::uint16_t>(p.tftp_block + 1)) {
        if (block == p.tftp_block) {  // a duplicate: ACK again (no Sorcerer's Apprentice: once)
          continue;
        }
        continue;
      }
      p.tftp_block = block;
      std::size_t len = static_cast<std::size_t>(n) - 4;
      p.body.append(d + 4, d + n);
      stats_.bytes_tftp += len;
      ack_block = block;
      last = len < p.blksize;
    } else {
      continue;
    }
    p.last_sent = tftp_ack(ack_block);
    sockaddr_in to = from;
    ::sendto(p.sock, p.last_sent.data(), p.last_sent.size(), 0, reinterpret_cast<sockaddr*>(&to),
             sizeof to);
    p.tries = 0;
    if (last) {
      close_sock(p);
      return fetched(p);
    }
    arm(p, 1000);
  }
}

void fleet::on_http(pc& p) {
  if (!p.http_sent) {
    ssize_t n = ::send(p.sock, p.last_sent.data(), p.last_sent.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EAGAIN) return;
    if (n != static_cast<ssize_t>(p.last_sent.size()))
      return fail(p, std::string("HTTP send: ") + std::strerror(errno));
    p.http_sent = true;
    watch(p.sock, EPOLLIN, tag_sock(p.index), false);
  }
  char d[65536];
  for (;;) {
    ssize_t n = ::recv(p.sock, d, sizeof d, 0);
    if (n < 0 && errno == EAGAIN) return;
    if (n < 0) return fail(p, std::string("HTTP recv: ") + std::strerror(errno));
    if (n == 0) break;
    p.body.append(d, static_cast<std::size_t>(n));
    stats_.bytes_http += static_cast<std::size_t>(n);
    arm(p, 30000);
  }
  close_sock(p);
  auto end = p.body.find("\r\n\r\n");
  if (end == std::string::npos) return fail(p, "HTTP: no header");
  if (p.body.compare(0, 12, "HTTP/1.1 200") != 0 && p.body.compare(0, 12, "HTTP/1.0 200") != 0)
    return fail(p, "HTTP: " + p.body.substr(0, p.body.find('\r')));
  p.body.erase(0, end + 4);
  fetched(p);
}

void fleet::fetched(pc& p) {
  switch (p.st) {
    case step::tftp_loader:
      if (p.body.size() < 1024) return fail(p, "loader too small");
      return start_dhcp(p, step::dhcp_ipxe);
    case step::script:
      p.script = parse_script(p.body, p.mac);
      p.target = parse_iscsi_uri(p.script.san_uri);
      if (!p.target) return fail(p, "no iSCSI target in the script");
      if (p.script.initiator.empty()) return fail(p, "no initiator-iqn in the script");
      enter(p, step::files);
      p.files_next = 0;
      return next_file(p);
    case step::files:
      return next_file(p);
    default:
      return;
  }
}

void fleet::next_file(pc& p) {
  if (o_.files && p.files_next < p.script.files.size()) {
    start_fetch(p, p.script.files[p.files_next++]);
    return;
  }
  enter(p, step::login);
  start_login(p, p.script.initiator, 0x1);
}

void fleet::on_timer(pc& p) {
  if (p.done) return;
  switch (p.st) {
    case step::off:
      p.power_on = clk::now();
      return start_dhcp(p, step::dhcp_pxe);
    case step::dhcp_pxe:
    case step::dhcp_ipxe:
      return send_dhcp(p);
    case step::tftp_loader:
    case step::script:
    case step::files:
      if (p.http) return fail(p, "HTTP timed out");
      if (++p.tries > 5) return fail(p, "TFTP timed out");
      {  // retransmit the last packet (RFC 1350 §2)
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(p.tftp_port ? p.tftp_port : 69);
        to.sin_addr.s_addr = htonl(p.next_server);
        ::sendto(p.sock, p.last_sent.data(), p.last_sent.size(), 0,
                 reinterpret_cast<sockaddr*>(&to), sizeof to);
      }
      return arm(p, 1000.0 * (1 << p.tries));
    case step::takeover:  // the OS has loaded: its initiator logs in
      if (!p.ctx) return start_login(p, p.script.os_initiator, 0x2);
      return;
    default:
      return pump_replay(p);  // the replay's next record is due, or the steady phase's read
  }
}

// ---- main loop ----

// The epoll set, netlink, and the AF_PACKET socket every PC's DHCP goes through. 0 or 2.
int fleet::open_sockets() {
  ep_ = epoll_create1(EPOLL_CLOEXEC);
  nl_ = std::make_unique<netlink>();
  raw_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_IP));
  if (raw_ < 0) return std::perror("AF_PACKET"), 2;
  // Classic BPF: IPv4, UDP, destination port 68 (what `tcpdump -dd udp dst port 68` gives for
  // IPv4 without fragments): the raw socket sees no iSCSI/HTTP/TFTP frame.
  sock_filter code[] = {
      {0x28, 0, 0, 12}, {0x15, 0, 8, 0x0800}, {0x30, 0, 0, 23}, {0x15, 0, 6, 17},
      {0x28, 0, 0, 20}, {0x45, 4, 0, 0x1fff}, {0xb1, 0, 0, 14}, {0x48, 0, 0, 16},
      {0x15, 0, 1, 68}, {0x6, 0, 0, 0x40000}, {0x6, 0, 0, 0},
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof code / sizeof code[0]), code};
  setsockopt(raw_, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
  sockaddr_ll ll{};
  ll.sll_family = AF_PACKET;
  ll.sll_protocol = htons(ETH_P_IP);
  ll.sll_ifindex = lower_index_ = static_cast<int>(if_nametoindex(o_.lower.c_str()));
  if (ll.sll_ifindex == 0 || ::bind(raw_, reinterpret_cast<sockaddr*>(&ll), sizeof ll) != 0)
    return std::perror(o_.lower.c_str()), 2;
  int rcvbuf = 8 << 20;
  setsockopt(raw_, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
  watch(raw_, EPOLLIN, 0, true);
  return 0;
}

int fleet::run() {
  trace_ = read_trace(o_.trace);
  if (trace_.empty()) {
    std::fprintf(stderr, "storm_pc: no records in %s\n", o_.trace.c_str());
    return 2;
  }
  // The OS is the last session to appear; every record before its first is the firmware's.
  unsigned last = 0;
  for (auto& r : trace_) last = std::max(last, r.session);
  fw_end_ = static_cast<std::size_t>(
      std::find_if(trace_.begin(), trace_.end(), [&](auto& r) { return r.session == last; }) -
      trace_.begin());
  if (last == 0) fw_end_ = 0;  // one session: all of it is the OS's

  if (int rc = open_sockets(); rc != 0) return rc;

  pcs_.resize(static_cast<std::size_t>(o_.pcs));
  auto start = clk::now();
  std::uniform_int_distribution<int> spread(0, std::max(0, o_.spread_ms));
  for (int i = 0; i < o_.pcs; ++i) {
    pc& p = pcs_[i];
    p.index = i;
    p.ifname = o_.prefix + std::to_string(i);
    p.ifindex = static_cast<int>(if_nametoindex(p.ifname.c_str()));
    ifreq ifr{};
    std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", p.ifname.c_str());
    if (p.ifindex == 0 || ioctl(raw_, SIOCGIFHWADDR, &ifr) != 0) {
      std::fprintf(stderr, "storm_pc: no interface %s\n", p.ifname.c_str());
      return 2;
    }
    for (int b = 0; b < 6; ++b) p.mac.b[b] = static_cast<std::uint8_t>(ifr.ifr_hwaddr.sa_data[b]);
    timers_.push({start + std::chrono::milliseconds(spread(rng_)), i, 0});
    p.power_on = start;
  }
  pending_ = o_.pcs;
  auto deadline = start + std::chrono::seconds(o_.timeout_s);
  epoll_event ev[256];
  while (pending_ > 0 && clk::now() < deadline) {
    int wait_ms = 1000;
    if (!timers_.empty()) {
      auto d = std::chrono::ceil<std::chrono::milliseconds>(timers_.top().at - clk::now()).count();
      wait_ms = static_cast<int>(std::clamp<long>(d, 0, 1000));
    }
    int n = epoll_wait(ep_, ev, 256, wait_ms);
    for (int k = 0; k < n; ++k) {
      std::uint64_t tag = ev[k].data.u64;
      if (tag == 0) {
        on_raw();
        continue;
      }
      pc& p = pcs_[(tag >> 1) - 1];
      if (tag & 1)
        on_iscsi(p, static_cast<int>(ev[k].events));
      else
        on_sock(p);
    }
    auto now = clk::now();
    while (!timers_.empty() && timers_.top().at <= now) {
      auto t = timers_.top();
      timers_.pop();
      pc& p = pcs_[t.pc];
      if (t.seq == p.timer_seq) on_timer(p);
    }
  }
  for (auto& p : pcs_)
    if (!p.done) fail(p, "storm timed out");
  report();
  for (auto& p : pcs_)
    if (!p.up || p.st == step::failed) return 1;
  return 0;
}

}  // namespace storm

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: storm_pc --lower IF --pcs N --trace FILE [--prefix mv] [--spread-ms 3000]\n"
               "       [--think 0.1] [--steady-ms 2000] [--qd 8] [--no-files] [--timeout-s 600]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  storm::options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--lower")
      o.lower = val();
    else if (a == "--pcs")
      o.pcs = std::atoi(val().c_str());
    else if (a == "--trace")
      o.trace = val();
    else if (a == "--prefix")
      o.prefix = val();
    else if (a == "--spread-ms")
      o.spread_ms = std::atoi(val().c_str());
    else if (a == "--think")
      o.think = std::atof(val().c_str());
    else if (a == "--steady-ms")
      o.steady_ms = std::atoi(val().c_str());
    else if (a == "--qd")
      o.qd = std::max(1, std::atoi(val().c_str()));
    else if (a == "--timeout-s")
      o.timeout_s = std::atoi(val().c_str());
    else if (a == "--no-files")
      o.files = false;
    else
      return usage();
  }
  if (o.lower.empty() || o.pcs <= 0 || o.trace.empty()) return usage();
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  return storm::fleet(o).run();
}
