// Write load for the iSCSI bench: keeps QD WRITE(16) commands of BS bytes in flight through
// libiscsi's async API for SECONDS, sequential over the LUN (wrapping), and prints MiB/s.
// Build: g++ -O2 -std=c++20 iscsi_write_load.cpp -o iscsi_write_load -liscsi
// Usage: iscsi_write_load URL INITIATOR BS QD SECONDS
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <poll.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

struct state {
  iscsi_context* iscsi = nullptr;
  int lun = 0;
  std::uint64_t blocks = 0, next_lba = 0;
  std::uint32_t block_size = 512, bs = 0;
  std::vector<unsigned char> buf;
  std::uint64_t done_bytes = 0;
  int in_flight = 0, errors = 0;
  bool stopping = false;
};

void submit(state& s);

void on_done(iscsi_context*, int status, void* command_data, void* priv) {
  auto& s = *static_cast<state*>(priv);
  auto* task = static_cast<scsi_task*>(command_data);
  --s.in_flight;
  if (status == SCSI_STATUS_GOOD)
    s.done_bytes += s.bs;
  else
    ++s.errors;
  if (task) scsi_free_scsi_task(task);
  if (!s.stopping) submit(s);
}

void submit(state& s) {
  std::uint32_t n = s.bs / s.block_size;
  if (s.next_lba + n > s.blocks) s.next_lba = 0;
  if (!iscsi_write16_task(s.iscsi, s.lun, s.next_lba, s.buf.data(), s.bs, s.block_size, 0, 0, 0, 0,
                          0, on_done, &s)) {
    std::fprintf(stderr, "write16: %s\n", iscsi_get_error(s.iscsi));
    std::exit(1);
  }
  s.next_lba += n;
  ++s.in_flight;
}

bool pump(state& s, int timeout_ms) {
  pollfd p{iscsi_get_fd(s.iscsi), static_cast<short>(iscsi_which_events(s.iscsi)), 0};
  if (poll(&p, 1, timeout_ms) < 0) return false;
  if (iscsi_service(s.iscsi, p.revents) < 0) {
    std::fprintf(stderr, "service: %s\n", iscsi_get_error(s.iscsi));
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s URL INITIATOR BS QD SECONDS\n", argv[0]);
    return 2;
  }
  state s;
  s.bs = static_cast<std::uint32_t>(std::atoi(argv[3]));
  int qd = std::atoi(argv[4]);
  double seconds = std::atof(argv[5]);
  s.iscsi = iscsi_create_context(argv[2]);
  iscsi_url* url = iscsi_parse_full_url(s.iscsi, argv[1]);
  if (!url) {
    std::fprintf(stderr, "bad url: %s\n", iscsi_get_error(s.iscsi));
    return 1;
  }
  iscsi_set_targetname(s.iscsi, url->target);
  iscsi_set_session_type(s.iscsi, ISCSI_SESSION_NORMAL);
  iscsi_set_header_digest(s.iscsi, ISCSI_HEADER_DIGEST_NONE);
  if (iscsi_full_connect_sync(s.iscsi, url->portal, url->lun) != 0) {
    std::fprintf(stderr, "login: %s\n", iscsi_get_error(s.iscsi));
    return 1;
  }
  s.lun = url->lun;
  scsi_task* cap = iscsi_readcapacity16_sync(s.iscsi, s.lun);
  auto* rc = cap ? static_cast<scsi_readcapacity16*>(scsi_datain_unmarshall(cap)) : nullptr;
  if (!rc) {
    std::fprintf(stderr, "readcapacity16 failed\n");
    return 1;
  }
  s.blocks = rc->returned_lba + 1;
  s.block_size = rc->block_length;
  scsi_free_scsi_task(cap);
  s.buf.assign(s.bs, 0x5a);
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < qd; ++i) submit(s);
  while (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < seconds)
    if (!pump(s, 100)) return 1;
  s.stopping = true;
  while (s.in_flight > 0)
    if (!pump(s, 100)) return 1;
  double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%.1f MiB/s (%llu bytes in %.2f s, %d errors)\n", s.done_bytes / el / 1048576.0,
              static_cast<unsigned long long>(s.done_bytes), el, s.errors);
  iscsi_logout_sync(s.iscsi);
  iscsi_destroy_url(url);
  iscsi_destroy_context(s.iscsi);
  return s.errors ? 1 : 0;
}
