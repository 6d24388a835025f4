// storm_pc's iSCSI side (libiscsi's asynchronous API on our epoll loop) and its report.
// libiscsi calls back from inside iscsi_service(): callbacks only note what happened, and
// after_service() acts on it, so a context is never destroyed from inside its own callback.
#include <sys/resource.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <map>

#include "storm_pc.hpp"

namespace storm {
namespace {
fleet* self = nullptr;  // for libiscsi's callbacks (one fleet per process)

// What PC `pc` writes to block `lba`: its LBA and PC number up front, then bytes that depend on
// both, so a block read back from another PC's overlay or another LBA does not match.
void block_pattern(int pc, std::uint64_t lba, std::uint8_t* out) {
  for (int j = 0; j < 512; ++j)
    out[j] = static_cast<std::uint8_t>(static_cast<unsigned>(pc) * 31u + lba * 7u + j);
  for (int j = 0; j < 8; ++j) out[j] = static_cast<std::uint8_t>(lba >> (8 * j));
  for (int j = 0; j < 4; ++j) out[8 + j] = static_cast<std::uint8_t>(pc >> (8 * j));
}

std::uint64_t read16_lba(const scsi_task& t) {
  std::uint64_t v = 0;
  for (int i = 2; i < 10; ++i) v = v << 8 | t.cdb[i];
  return v;
}
}  // namespace

void fleet::check_read(pc& p, const scsi_task& t) {
  // Only the steady phase's reads: they run alone, after every write of the replay completed
  // (a replayed read may be in flight beside a write of the same blocks).
  if (p.st != step::steady || t.cdb[0] != 0x88 || !t.datain.data) return;
  const std::uint64_t lba = read16_lba(t);
  std::uint8_t want[512];
  for (std::size_t b = 0; (b + 1) * 512 <= static_cast<std::size_t>(t.datain.size); ++b) {
    if (!p.written.count(lba + b)) continue;
    block_pattern(p.index, lba + b, want);
    if (std::memcmp(want, t.datain.data + b * 512, 512) != 0) {
      if (p.cmd_error.empty())
        p.cmd_error = "data: block " + std::to_string(lba + b) + " is not what this PC wrote";
      return;
    }
    stats_.blocks_verified++;
  }
}

void fleet::start_login(pc& p, const std::string& initiator, std::uint32_t qualifier) {
  self = this;
  drop_ctx(p);
  p.ctx = iscsi_create_context(initiator.c_str());
  if (!p.ctx) return fail(p, "iscsi_create_context");
  iscsi_set_targetname(p.ctx, p.target->target.c_str());
  iscsi_set_session_type(p.ctx, ISCSI_SESSION_NORMAL);
  iscsi_set_header_digest(p.ctx, ISCSI_HEADER_DIGEST_NONE);
  iscsi_set_noautoreconnect(p.ctx, 1);
  iscsi_set_isid_random(p.ctx, static_cast<std::uint32_t>(rng_()) & 0xffffff, qualifier);
  std::string ifname = p.ifname;  // libiscsi binds the socket to it (SO_BINDTODEVICE)
  iscsi_set_bind_interfaces(p.ctx, ifname.data());
  if (!p.script.user.empty())
    iscsi_set_initiator_username_pwd(p.ctx, p.script.user.c_str(), p.script.password.c_str());
  p.login_status = -1;
  if (iscsi_full_connect_async(p.ctx, p.target->portal.c_str(), p.target->lun, login_cb, &p) != 0)
    return fail(p, std::string("connect: ") + iscsi_get_error(p.ctx));
  p.ctx_fd = -1;
  update_iscsi(p);
}

void fleet::update_iscsi(pc& p) {
  if (!p.ctx) return;
  int fd = iscsi_get_fd(p.ctx);
  int ev = iscsi_which_events(p.ctx);
  if (fd < 0) return;
  if (fd != p.ctx_fd) {
    p.ctx_fd = fd;
    p.ctx_events = ev;
    watch(fd, static_cast<std::uint32_t>(ev), tag_iscsi(p.index), true);
  } else if (ev != p.ctx_events) {
    p.ctx_events = ev;
    watch(fd, static_cast<std::uint32_t>(ev), tag_iscsi(p.index), false);
  }
}

void fleet::drop_ctx(pc& p) {
  if (!p.ctx) return;
  iscsi_destroy_context(p.ctx);  // closes the fd: epoll forgets it
  p.ctx = nullptr;
  p.ctx_fd = -1;
  p.inflight = 0;
}

void fleet::login_cb(iscsi_context*, int status, void*, void* priv) {
  static_cast<pc*>(priv)->login_status = status;
}

void fleet::logout_cb(iscsi_context*, int, void*, void* priv) {
  static_cast<pc*>(priv)->logout_done = true;
}

void fleet::cmd_cb(iscsi_context*, int status, void* data, void* priv) {
  auto& p = *static_cast<pc*>(priv);
  auto* task = static_cast<scsi_task*>(data);
  p.inflight--;
  if (status != SCSI_STATUS_GOOD && p.cmd_error.empty())
    p.cmd_error = "command 0x" + std::to_string(task ? task->cdb[0] : 0) + " status " +
                  std::to_string(status);
  if (task && status == SCSI_STATUS_GOOD) {
    if (task->xfer_dir == SCSI_XFER_READ) {
      self->stats_.bytes_iscsi_read += static_cast<std::uint64_t>(task->datain.size);
      self->check_read(p, *task);
    } else {
      self->stats_.bytes_iscsi_written += task->expxferlen;
    }
  }
  if (task) scsi_free_scsi_task(task);
}

void fleet::on_iscsi(pc& p, int revents) {
  if (p.done || !p.ctx) return;
  if (iscsi_service(p.ctx, revents) < 0) {
    if (p.cmd_error.empty() && p.login_status != 0) p.login_status = 1;
    if (p.st == step::takeover && p.logout_done) return after_service(p);
    return fail(p, std::string("iSCSI: ") + iscsi_get_error(p.ctx));
  }
  after_service(p);
}

void fleet::after_service(pc& p) {
  if (p.done) return;
  if (!p.cmd_error.empty()) return fail(p, p.cmd_error);
  if (p.login_status > 0) return fail(p, std::string("login: ") + iscsi_get_error(p.ctx));
  if (p.login_status == 0) {
    p.login_status = -1;
    return logged_in(p);
  }
  if (p.logout_done) {
    p.logout_done = false;
    drop_ctx(p);
    if (p.st == step::takeover) {
      double gap = fw_end_ > 0 && fw_end_ < trace_.size()
                       ? (trace_[fw_end_].ms - trace_[fw_end_ - 1].ms) * o_.think
                       : 0;
      return arm(p, gap);
    }
    if (p.st == step::steady) {  // the end: the PC ran its steady phase and logged out
      p.done = true;
      --pending_;
      return;
    }
  }
  if (p.inflight == 0) p.write_bufs.clear();
  if (p.st == step::replay_fw || p.st == step::replay_os || p.st == step::steady) pump_replay(p);
  update_iscsi(p);
}

void fleet::logged_in(pc& p) {
  p.phase_start = clk::now();
  p.inflight = 0;
  if (p.st == step::login) {
    enter(p, step::replay_fw);
    p.next_rec = 0;
    p.rec_end = fw_end_;
  } else {
    enter(p, step::replay_os);
    p.next_rec = fw_end_;
    p.rec_end = trace_.size();
  }
  pump_replay(p);
  update_iscsi(p);
}

void fleet::issue(pc& p, const trace_record& r) {
  const int lun = p.target->lun;
  const std::uint32_t len = r.blocks * 512;
  scsi_task* t = nullptr;
  if (r.op == 'R')
    t = iscsi_read16_task(p.ctx, lun, r.lba, len, 512, 0, 0, 0, 0, 0, cmd_cb, &p);
  else if (r.op == 'W') {
    buf& data = p.write_bufs.emplace_back(len);
    for (std::uint32_t b = 0; b < r.blocks; ++b) {
      block_pattern(p.index, r.lba + b, data.data() + b * 512);
      p.written[r.lba + b] = true;
    }
    t = iscsi_write16_task(p.ctx, lun, r.lba, data.data(), len, 512, 0, 0, 0, 0, 0, cmd_cb, &p);
  } else
    t = iscsi_synchronizecache10_task(p.ctx, lun, 0, 0, 0, 0, cmd_cb, &p);
  if (!t) {
    p.cmd_error = std::string("queueing a command: ") + iscsi_get_error(p.ctx);
    return;
  }
  p.inflight++;
}

void fleet::pump_replay(pc& p) {
  if (p.done || !p.ctx) return;
  auto now = clk::now();
  if (p.st == step::steady) {
    if (now >= p.steady_end) {
      if (p.logout_sent) return;
      if (p.inflight > 0) return arm(p, 10);
      if (iscsi_logout_async(p.ctx, logout_cb, &p) != 0) return fail(p, "logout");
      p.logout_sent = true;
      return update_iscsi(p);
    }
    if (p.inflight == 0 && now >= p.next_steady) {
      // One read per 100 ms: every other one of blocks this PC wrote (checked), else of
      // blocks the trace touched.
      std::uint64_t lba = trace_[rng_() % trace_.size()].lba & ~std::uint64_t{7};
      std::uint32_t blocks = 8;
      if (p.steady_reads++ % 2 == 0 && !p.written.empty()) {
        auto it = p.written.begin();
        std::advance(it, static_cast<long>(rng_() % p.written.size()));
        lba = it->first;
        blocks = 1;
      }
      issue(p, trace_record{0, 'R', lba, blocks, 0});
      p.next_steady = now + std::chrono::milliseconds(100);
      arm(p, 100);
    }
    return update_iscsi(p);
  }
  if (p.st != step::replay_fw && p.st != step::replay_os) return;
  const double base = p.rec_end > p.next_rec && p.next_rec < trace_.size()
                          ? trace_[p.st == step::replay_fw ? 0 : fw_end_].ms
                          : 0;
  while (p.inflight < o_.qd && p.next_rec < p.rec_end) {
    const auto& r = trace_[p.next_rec];
    double due_ms = (r.ms - base) * o_.think - ms_since(p.phase_start, now);
    if (due_ms > 0.5) {
      arm(p, due_ms);
      break;
    }
    issue(p, r);
    if (!p.cmd_error.empty()) return;
    p.next_rec++;
  }
  if (p.next_rec >= p.rec_end && p.inflight == 0) replay_done(p);
  update_iscsi(p);
}

void fleet::replay_done(pc& p) {
  if (p.st == step::replay_fw) {
    enter(p, step::takeover);  // the OS's initiator replaces the firmware's
    if (iscsi_logout_async(p.ctx, logout_cb, &p) != 0) fail(p, "logout");
    return;
  }
  p.up = true;
  p.up_at = clk::now();
  start_steady(p);
}

void fleet::start_steady(pc& p) {
  enter(p, step::steady);
  p.steady_end = clk::now() + std::chrono::milliseconds(o_.steady_ms);
  p.next_steady = clk::now();
  p.logout_sent = false;
  pump_replay(p);
}

void fleet::report() {
  std::vector<double> up_ms;
  std::map<std::string, int> failures;
  for (auto& p : pcs_) {
    if (p.st == step::failed) {
      std::printf("pc %d %s fail %s: %s\n", p.index, p.mac.str().c_str(), step_name(p.failed_at),
                  p.why.c_str());
      failures[step_name(p.failed_at)]++;
    } else {
      double ms = ms_since(p.power_on, p.up_at);
      std::printf("pc %d %s up %.0f\n", p.index, p.mac.str().c_str(), ms);
      up_ms.push_back(ms);
    }
  }
  std::sort(up_ms.begin(), up_ms.end());
  auto pct = [&](double q) {
    if (up_ms.empty()) return 0.0;
    auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(up_ms.size()))) - 1;
    return up_ms[std::min(i, up_ms.size() - 1)];
  };
  // Where the time went: per step, p50 and p99 over the PCs that came up.
  std::string steps;
  for (int k = static_cast<int>(step::dhcp_pxe); k <= static_cast<int>(step::replay_os); ++k) {
    std::vector<double> v;
    for (auto& p : pcs_)
      if (p.up) v.push_back(p.step_ms[k]);
    if (v.empty()) continue;
    std::sort(v.begin(), v.end());
    auto at = [&](double q) {
      return v[std::min(
          v.size() - 1,
          static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1)];
    };
    char b[96];
    std::snprintf(b, sizeof b, " %s=%.0f/%.0f", step_name(static_cast<step>(k)), at(0.5), at(0.99));
    steps += b;
  }
  std::printf("steps_ms_p50/p99%s\n", steps.c_str());
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  std::string fails;
  for (auto& [s, n] : failures) fails += " " + s + "=" + std::to_string(n);
  std::printf(
      "summary pcs=%zu up=%zu failed=%zu%s p50_ms=%.0f p95_ms=%.0f p99_ms=%.0f max_ms=%.0f "
      "tftp_bytes=%llu http_bytes=%llu iscsi_read_bytes=%llu iscsi_written_bytes=%llu "
      "verified_blocks=%llu generator_cpu_s=%.2f generator_sys_s=%.2f\n",
      pcs_.size(), up_ms.size(), pcs_.size() - up_ms.size(), fails.c_str(), pct(0.5), pct(0.95),
      pct(0.99), up_ms.empty() ? 0.0 : up_ms.back(),
      static_cast<unsigned long long>(stats_.bytes_tftp),
      static_cast<unsigned long long>(stats_.bytes_http),
      static_cast<unsigned long long>(stats_.bytes_iscsi_read),
      static_cast<unsigned long long>(stats_.bytes_iscsi_written),
      static_cast<unsigned long long>(stats_.blocks_verified), cpu,
      static_cast<double>(ru.ru_stime.tv_sec) + static_cast<double>(ru.ru_stime.tv_usec) / 1e6);
}

}  // namespace storm
