// Session-level checks against a running target through libiscsi (a real initiator), for
// integration/test_iscsi_sessions.sh.
//
//   session_probe reinstate URL INITIATOR
//     Session A keeps WRITE(16)s of distinct 4 KiB patterns in flight. Once some are
//     acknowledged, session B logs in with the same initiator name and ISID (RFC 7143 §6.3.5
//     session reinstatement). A must then be dropped by the target, and B must read back every
//     write A saw acknowledged. Prints "acked=N" and exits 0 on success.
//
//   session_probe idle URL INITIATOR
//     Logs in and stays idle, answering the target's NOP-In pings (libiscsi does so inside
//     iscsi_service), until SIGUSR1; then TEST UNIT READY must still work on the
//     same connection (automatic reconnection is off, so a dropped session is an error).
//
// Exit status 0 on success, 1 on a failed check, 2 on a usage or setup error.
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <poll.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace {

constexpr std::uint32_t probe_isid_qualifier = 0x5151;
constexpr std::uint32_t probe_isid_random = 0x2a2a2a;
constexpr std::uint32_t chunk_blocks = 8;  // 4 KiB of 512-byte blocks per write

volatile sig_atomic_t g_finish = 0;

int fail(const char* what, iscsi_context* c = nullptr) {
  std::fprintf(stderr, "FAIL: %s%s%s\n", what, c ? ": " : "", c ? iscsi_get_error(c) : "");
  return 1;
}

struct url_ptr {
  iscsi_url* u = nullptr;
  ~url_ptr() {
    if (u) iscsi_destroy_url(u);
  }
};

// A logged-in context with a fixed ISID and no automatic reconnection.
iscsi_context* open_session(const char* url, const char* initiator, int& lun) {
  iscsi_context* c = iscsi_create_context(initiator);
  if (!c) return nullptr;
  url_ptr u;
  u.u = iscsi_parse_full_url(c, url);
  if (!u.u) {
    std::fprintf(stderr, "bad URL %s: %s\n", url, iscsi_get_error(c));
    iscsi_destroy_context(c);
    return nullptr;
  }
  iscsi_set_isid_random(c, probe_isid_random, probe_isid_qualifier);
  iscsi_set_session_type(c, ISCSI_SESSION_NORMAL);
  iscsi_set_targetname(c, u.u->target);
  iscsi_set_noautoreconnect(c, 1);
  if (u.u->user[0]) iscsi_set_initiator_username_pwd(c, u.u->user, u.u->passwd);
  lun = u.u->lun;
  if (iscsi_full_connect_sync(c, u.u->portal, u.u->lun) != 0) {
    std::fprintf(stderr, "login to %s: %s\n", url, iscsi_get_error(c));
    iscsi_destroy_context(c);
    return nullptr;
  }
  return c;
}

// One service round: false once the connection is gone or broken.
bool pump(iscsi_context* c, int timeout_ms) {
  pollfd p{iscsi_get_fd(c), static_cast<short>(iscsi_which_events(c)), 0};
  if (p.fd < 0) return false;
  if (poll(&p, 1, timeout_ms) < 0) return true;  // EINTR: the caller looks at its flags
  if (p.revents == 0) return true;
  if (iscsi_service(c, p.revents) < 0) return false;
  return iscsi_is_logged_in(c) != 0;
}

void fill(std::vector<unsigned char>& b, std::uint32_t seq) {
  for (std::size_t i = 0; i < b.size(); ++i)
    b[i] = static_cast<unsigned char>((seq * 131 + i * 7 + (i >> 9)) & 0xff);
}

struct writer {
  iscsi_context* c = nullptr;
  int lun = 0;
  std::uint32_t next = 0, limit = 0;
  int in_flight = 0;
  std::map<std::uint32_t, std::vector<unsigned char>> bufs;  // by sequence number (= chunk)
  std::vector<std::uint32_t> acked;
  bool failed_status = false;
  bool stop = false;  // no new writes once the second login is under way
};

void write_done(iscsi_context*, int status, void* data, void* priv);

void submit(writer& w) {
  while (!w.stop && w.in_flight < 16 && w.next < w.limit) {
    std::uint32_t seq = w.next++;
    auto& b = w.bufs[seq];
    b.resize(chunk_blocks * 512);
    fill(b, seq);
    auto* pr = new std::pair<writer*, std::uint32_t>(&w, seq);
    if (!iscsi_write16_task(w.c, w.lun, std::uint64_t{seq} * chunk_blocks, b.data(),
                            static_cast<std::uint32_t>(b.size()), 512, 0, 0, 0, 0, 0, write_done,
                            pr)) {
      delete pr;
      return;
    }
    ++w.in_flight;
  }
}

void write_done(iscsi_context*, int status, void* data, void* priv) {
  auto* pr = static_cast<std::pair<writer*, std::uint32_t>*>(priv);
  writer& w = *pr->first;
  --w.in_flight;
  if (status == SCSI_STATUS_GOOD)
    w.acked.push_back(pr->second);
  else if (status != SCSI_STATUS_CANCELLED && status != SCSI_STATUS_ERROR)
    w.failed_status = true;
  delete pr;
  if (data) scsi_free_scsi_task(static_cast<scsi_task*>(data));
  submit(w);
}

int reinstate(const char* url, const char* initiator) {
  writer w;
  w.c = open_session(url, initiator, w.lun);
  if (!w.c) return 2;
  w.limit = 2048;  // 8 MiB at most
  submit(w);
  while (w.acked.size() < 64 && w.next < w.limit)
    if (!pump(w.c, 1000)) return fail("session A broke before the second login", w.c);
  // More writes in flight, then the second login with the same name and ISID.
  submit(w);
  w.stop = true;
  int lun_b = 0;
  iscsi_context* b = open_session(url, initiator, lun_b);
  if (!b) return fail("reinstating login refused");
  // A was replaced: the target closes its connection. Service it until then (a completion that
  // arrives first still counts as acknowledged).
  bool a_dropped = false;
  for (int i = 0; i < 600 && !a_dropped; ++i) a_dropped = !pump(w.c, 100);
  if (!a_dropped) return fail("session A still up after reinstatement");
  if (w.failed_status) return fail("a write on session A got a non-GOOD status");
  // Every acknowledged write is on the disk as seen through B.
  for (std::uint32_t seq : w.acked) {
    scsi_task* t = iscsi_read16_sync(b, lun_b, std::uint64_t{seq} * chunk_blocks,
                                     chunk_blocks * 512, 512, 0, 0, 0, 0, 0);
    if (!t || t->status != SCSI_STATUS_GOOD) return fail("READ(16) on session B", b);
    bool same = t->datain.size == static_cast<int>(chunk_blocks * 512) &&
                std::memcmp(t->datain.data, w.bufs[seq].data(), chunk_blocks * 512) == 0;
    scsi_free_scsi_task(t);
    if (!same) {
      std::fprintf(stderr, "FAIL: acknowledged write %u lost\n", seq);
      return 1;
    }
  }
  std::printf("acked=%zu submitted=%u\n", w.acked.size(), w.next);
  iscsi_logout_sync(b);
  iscsi_destroy_context(b);
  iscsi_destroy_context(w.c);
  return 0;
}

void on_usr1(int) { g_finish = 1; }

int idle(const char* url, const char* initiator) {
  struct sigaction sa {};
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, nullptr);
  int lun = 0;
  iscsi_context* c = open_session(url, initiator, lun);
  if (!c) return 2;
  std::printf("logged in\n");
  std::fflush(stdout);
  while (!g_finish)
    if (!pump(c, 200)) return fail("session dropped while idle", c);
  scsi_task* t = iscsi_testunitready_sync(c, lun);
  if (!t || t->status != SCSI_STATUS_GOOD) return fail("TEST UNIT READY after idling", c);
  scsi_free_scsi_task(t);
  if (iscsi_logout_sync(c) != 0) return fail("logout", c);
  iscsi_destroy_context(c);
  std::printf("still up\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s reinstate|idle URL INITIATOR\n", argv[0]);
    return 2;
  }
  // The target closes a replaced session's socket while we may still be writing to it: that
  // must be an error return from libiscsi, not SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  std::string mode = argv[1];
  if (mode == "reinstate") return reinstate(argv[2], argv[3]);
  if (mode == "idle") return idle(argv[2], argv[3]);
  std::fprintf(stderr, "unknown mode %s\n", argv[1]);
  return 2;
}
