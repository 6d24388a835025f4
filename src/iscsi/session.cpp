#include "iscsi/session.hpp"

#include <algorithm>
#include <cstring>

#include "iscsi/pdu_types.hpp"
#include "iscsi/target.hpp"
#include "scsi/cdb.hpp"
#include "scsi/null_lun.hpp"
#include "scsi/sense.hpp"
#include "util/log.hpp"

namespace diskless::iscsi {
namespace {

using bhs::flag_overflow;
using bhs::flag_underflow;
using bhs::reject_data_digest;
using bhs::reject_invalid_field;
using bhs::reject_not_supported;
using bhs::reject_protocol;

}  // namespace

session::session(session_config cfg, std::shared_ptr<scsi::logical_unit> lu, send_fn send)
    : cfg_(std::move(cfg)), lu_(std::move(lu)), send_(std::move(send)) {
  max_cmd_sn_ = cfg_.exp_cmd_sn + cfg_.cmd_window - 1;
}

session::~session() = default;  // alive_ goes away: late completions see an expired token

bhs::status_sns session::sns(bool advance_stat_sn) {
  return {advance_stat_sn ? cfg_.stat_sn++ : cfg_.stat_sn, cfg_.exp_cmd_sn, max_cmd_sn()};
}

void session::reject(const pdu& p, std::uint8_t reason) {
  // §11.17: the rejected PDU's header is the data segment.
  auto o = bhs::reject{.reason = reason, .sns = sns(true)}.encode();
  o.attach(bytes(p.bhs.begin(), p.bhs.end()));
  send_(std::move(o));
}

bool session::output_full() const {
  const std::size_t mine = running_in_ + (cfg_.queued_output ? cfg_.queued_output() : 0);
  if (cfg_.server_over_budget && cfg_.server_over_budget()) return mine > 0;
  return mine >= cfg_.output_budget;
}

std::uint32_t session::max_cmd_sn() {
  if (output_full()) return max_cmd_sn_;
  const std::size_t busy = std::min<std::size_t>(tasks_.size(), cfg_.cmd_window);
  const std::uint32_t candidate =
      cfg_.exp_cmd_sn + (cfg_.cmd_window - static_cast<std::uint32_t>(busy)) - 1;
  if (sn_lt(max_cmd_sn_, candidate)) max_cmd_sn_ = candidate;
  return max_cmd_sn_;
}

void session::output_drained() {
  if (closing_) return;
  std::vector<std::uint32_t> held;
  for (auto& [itt, ts] : tasks_)
    if (ts->ordered && !ts->executing && !ts->aborted && ts->t.data_in_expected)
      held.push_back(itt);
  for (auto itt : held) {
    if (output_full()) break;
    maybe_execute(itt);
  }
  const std::uint32_t before = max_cmd_sn_;
  if (max_cmd_sn() != before) send_(bhs::nop_in{.sns = sns(false)}.encode());
}

bool session::on_pdu(pdu p, bool data_digest_failed) {
  if (closing_) return false;
  if (data_digest_failed) {
    // §7.8.2 / §11.17.1: Reject with "data digest error"; at ERL 0 the affected task cannot be
    // recovered, so the session ends.
    reject(p, reject_data_digest);
    closing_ = true;
    return false;
  }
  return dispatch(std::move(p));
}

bool session::dispatch(pdu p) {
  switch (p.op()) {
    case opcode::data_out:
      return data_out(p);
    case opcode::scsi_command:
    case opcode::task_mgmt:
    case opcode::nop_out:
    case opcode::text:
    case opcode::logout: {
      if (cfg_.discovery && p.op() != opcode::text && p.op() != opcode::logout &&
          p.op() != opcode::nop_out) {
        reject(p, reject_protocol);  // §4.3: discovery sessions carry Text and Logout only
        return true;
      }
      const bool ping_reply = p.op() == opcode::nop_out && p.itt() == reserved_tag;
      if (p.immediate() || ping_reply) {
        if (p.op() == opcode::scsi_command) return command(std::move(p));
        if (p.op() == opcode::task_mgmt) return task_mgmt(p);
        if (p.op() == opcode::nop_out) return nop_out(p);
        if (p.op() == opcode::text) return text(p);
        return logout(p);
      }
      return ordered_entry(std::move(p), p.op() == opcode::scsi_command);
    }
    case opcode::snack:
      reject(p, reject_protocol);  // ERL 0: no SNACK support (§7.1.4.2)
      return true;
    case opcode::login:
      reject(p, reject_protocol);  // §11.12: no login in full feature phase
      return true;
    default:
      reject(p, reject_not_supported);
      return true;
  }
}

// §4.2.2.1: a non-immediate command is processed in CmdSN order; one outside
// [ExpCmdSN, MaxCmdSN] is silently ignored.
bool session::ordered_entry(pdu p, bool is_task) {
  const std::uint32_t sn = bhs::request_cmd_sn(p.bhs);
  if (sn_lt(sn, cfg_.exp_cmd_sn) || sn_lt(max_cmd_sn_, sn) || waiting_.count(sn)) {
    log::iscsi().debug("CmdSN {} outside [{}, {}]: ignored", sn, cfg_.exp_cmd_sn, max_cmd_sn_);
    return true;
  }
  if (is_task) {
    // The task exists now (its unsolicited data may follow at once) but runs in order.
    std::uint32_t itt = p.itt();
    bool known = tasks_.count(itt) != 0;
    if (!command(std::move(p))) return false;
    // A refused command (or a duplicate ITT) still consumes its CmdSN.
    waiting_[sn] =
        queued{!known && tasks_.count(itt) ? queued::kind::task : queued::kind::consumed, itt, {}};
  } else {
    waiting_[sn] = queued{queued::kind::other, 0, std::move(p)};
  }
  release_ordered();
  return !closing_;
}

void session::release_ordered() {
  while (!waiting_.empty() && waiting_.begin()->first == cfg_.exp_cmd_sn) {
    const std::uint32_t sn = waiting_.begin()->first;
    auto q = std::move(waiting_.begin()->second);
    waiting_.erase(waiting_.begin());
    ++cfg_.exp_cmd_sn;
    if (q.what == queued::kind::task) {
      // The ITT may already name a newer task when this one ended early (refused, or its data
      // out of sequence): only the task that holds this CmdSN is released.
      if (auto it = tasks_.find(q.itt); it != tasks_.end() && it->second->cmd_sn == sn) {
        it->second->ordered = true;
        maybe_execute(q.itt);
      }
      continue;
    }
    if (q.what == queued::kind::consumed) continue;
    bool keep = true;
    switch (q.p.op()) {
      case opcode::task_mgmt:
        keep = task_mgmt(q.p);
        break;
      case opcode::nop_out:
        keep = nop_out(q.p);
        break;
      case opcode::text:
        keep = text(q.p);
        break;
      case opcode::logout:
        keep = logout(q.p);
        break;
      default:
        break;
    }
    if (!keep) closing_ = true;
    if (closing_) return;
  }
}

// Only LUN 0 exists: commands to other LUNs are answered by scsi's null LUN; REPORT LUNS works
// through any LUN (SPC-4 §6.33), so it goes to the unit.
bool session::unknown_lun(task_state& ts) {
  if (ts.t.lun == 0 || (!ts.t.cdb.empty() && ts.t.cdb[0] == std::byte{scsi::op::report_luns}))
    return false;
  respond(ts, scsi::execute_null_lun(ts.t));
  return true;
}

bool session::command(pdu p) {
  const bhs::scsi_command_view v{p.bhs};
  const bool read = v.read(), write = v.write();
  const std::uint32_t itt = v.itt(), edtl = v.expected_length();
  if (tasks_.count(itt)) {
    reject(p, reject_invalid_field);  // ITT must be unique among live tasks (§11.2.1.8)
    return true;
  }
  auto ts = std::make_unique<task_state>();
  auto& t = ts->t;
  t.nexus = cfg_.nexus;
  t.lun = decode_lun(v.lun_field());
  t.tag = itt;
  t.expected_length = edtl;
  t.data_in_expected = read;
  t.data_out_expected = write;
  t.file_data_ok = !cfg_.params.data_digest;  // a data digest needs the bytes in memory
  t.cdb = v.full_cdb(p.ahs);
  ts->cmd_sn = v.cmd_sn();
  ts->ordered = v.immediate();
  const std::uint32_t imm = static_cast<std::uint32_t>(p.data.size());
  if (imm && (!write || !cfg_.params.immediate_data || imm > edtl ||
              imm > cfg_.params.first_burst_length)) {
    reject(p, reject_protocol);  // §11.3.4: immediate data only as negotiated, within bounds
    return true;
  }
  auto* raw = ts.get();
  tasks_[itt] = std::move(ts);
  if (tasks_.size() > cfg_.max_tasks) {  // only immediate commands get past the window
    scsi::task_result full;
    full.st = scsi::status::task_set_full;  // SAM-5 §5.3: retry later
    respond(*raw, std::move(full));
    return true;
  }
  if (write && edtl > cfg_.max_task_bytes) {
    respond(*raw, scsi::check_condition(scsi::sense_key::illegal_request,
                                        scsi::asc::invalid_field_in_cdb));
    return true;
  }
  if (write && edtl) {
    t.data_out.resize(edtl);
    if (imm > 0) std::memcpy(t.data_out.data(), p.data.data(), imm);  // data() may be null
    raw->received = imm;
    // §13.10: with InitialR2T=No the initiator may send unsolicited Data-Out up to
    // FirstBurstLength (immediate data included).
    raw->unsol_end = cfg_.params.initial_r2t ? imm : std::min(edtl, cfg_.params.first_burst_length);
    raw->unsol_end = std::max(raw->unsol_end, imm);
    raw->r2t_next = raw->unsol_end;
    send_r2ts(*raw);
  }
  maybe_execute(itt);
  return true;
}

// §11.8: R2Ts of at most MaxBurstLength, MaxOutstandingR2T at a time.
void session::send_r2ts(task_state& ts) {
  while (ts.r2t_next < ts.t.expected_length && ts.r2t_out < cfg_.params.max_outstanding_r2t) {
    std::uint32_t len = std::min(cfg_.params.max_burst_length, ts.t.expected_length - ts.r2t_next);
    std::uint32_t ttt = next_ttt_++;
    if (next_ttt_ == reserved_tag) next_ttt_ = 1;
    r2ts_[ttt] = r2t_state{ts.t.tag, ts.r2t_next, len};
    send_(bhs::r2t{.lun_field = encode_lun(ts.t.lun),
                   .itt = ts.t.tag,
                   .ttt = ttt,
                   .sns = sns(false),
                   .r2t_sn = ts.r2t_sn++,
                   .buffer_offset = ts.r2t_next,
                   .desired_length = len}
              .encode());
    ts.r2t_next += len;
    ++ts.r2t_out;
  }
}

bool session::data_out(const pdu& p) {
  const bhs::data_out_view v{p.bhs};
  auto it = tasks_.find(v.itt());
  if (it == tasks_.end()) {
    // Data for an aborted or refused task: nothing to do (SAM-5 §7.2: an aborted task ends).
    log::iscsi().debug("Data-Out for unknown ITT {:#x} dropped", v.itt());
    return true;
  }
  auto& ts = *it->second;
  const std::uint32_t ttt = v.ttt(), data_sn = v.data_sn(), offset = v.buffer_offset();
  const auto len = static_cast<std::uint32_t>(p.data.size());
  // §11.7.4-11.7.5 with DataPDUInOrder=Yes: each PDU continues where the last one stopped.
  // A PDU that does not is answered by ending its task (below); `asc` says why (SPC-4 4Bh codes
  // and RFC 7143 §11.4.7.2).
  std::uint16_t asc = 0;
  r2t_state* r = nullptr;
  if (!ts.t.data_out_expected) {
    asc = 0x0c0c;  // unexpected unsolicited data
  } else if (ttt == reserved_tag) {
    if (data_sn != ts.unsol_next_sn)
      asc = 0x4b00;  // DATA PHASE ERROR
    else if (offset != ts.received)
      asc = 0x4b05;  // DATA OFFSET ERROR
    else if (offset + len > ts.unsol_end || offset + len < offset)
      asc = 0x4b02;  // TOO MUCH WRITE DATA
    else
      ++ts.unsol_next_sn;
  } else {
    auto rit = r2ts_.find(ttt);
    if (rit == r2ts_.end() || rit->second.itt != ts.t.tag) {
      asc = 0x4b01;  // INVALID TARGET PORT TRANSFER TAG RECEIVED
    } else {
      r = &rit->second;
      if (data_sn != r->next_data_sn)
        asc = 0x4b00;
      else if (offset != r->offset + r->received)
        asc = 0x4b05;
      else if (len > r->length - r->received)
        asc = 0x4b02;
      else
        ++r->next_data_sn;
    }
  }
  if (asc != 0) {
    log::iscsi().info("Data-Out for ITT {:#x} (DataSN {}, offset {}, TTT {:#x}) out of sequence",
                      ts.t.tag, data_sn, offset, ttt);
    if (ts.executing) {
      reject(p, reject_protocol);  // all its data is in; the stray PDU alone is refused
      return true;
    }
    // ERL 0 cannot ask for the data again (no recovery R2T, §7.1.4), so the task ends with
    // CHECK CONDITION, ABORTED COMMAND (a Reject must not end a task implicitly, §7.1.4.1). The
    // PDU framing is intact, so the session goes on; the rest of this task's Data-Out PDUs find
    // no task and are dropped.
    for (auto x = r2ts_.begin(); x != r2ts_.end();)
      x = x->second.itt == ts.t.tag ? r2ts_.erase(x) : std::next(x);
    respond(ts, scsi::check_condition(
                    scsi::sense_key::aborted_command,
                    {static_cast<std::uint8_t>(asc >> 8), static_cast<std::uint8_t>(asc & 0xff)}));
    return true;
  }
  std::copy_n(p.data.begin(), len, ts.t.data_out.begin() + offset);  // len may be 0
  ts.received += len;
  if (r) {
    r->received += len;
    if (r->received == r->length) {
      r2ts_.erase(ttt);
      --ts.r2t_out;
      send_r2ts(ts);
    }
  }
  maybe_execute(ts.t.tag);
  return true;
}

void session::maybe_execute(std::uint32_t itt) {
  auto it = tasks_.find(itt);
  if (it == tasks_.end()) return;
  auto& ts = *it->second;
  if (!ts.ordered || ts.executing || ts.aborted) return;
  if (ts.t.data_out_expected && ts.received < ts.t.expected_length) return;
  // A READ waits while the output is over budget; output_drained() starts it.
  if (ts.t.data_in_expected && lu_ && output_full()) return;
  ts.executing = true;
  if (unknown_lun(ts)) return;
  if (!lu_) {  // a session without a disk (discovery): no LUN exists
    respond(ts,
            scsi::check_condition(scsi::sense_key::illegal_request, scsi::asc::lun_not_supported));
    return;
  }
  if (ts.t.data_out_expected) {
    ts.write_fit = scsi::fit_write_to_expected_length(ts.t, lu_->block_size());
    if (ts.write_fit.nothing_fits) {
      respond(ts, {});  // nothing fits in the EDTL: GOOD with the overflow residual
      return;
    }
  }
  if (ts.t.data_in_expected) {
    ts.reserved_in = std::min(ts.t.expected_length, cfg_.max_task_bytes);
    running_in_ += ts.reserved_in;
  }
  std::weak_ptr<int> alive = alive_;
  lu_->execute(std::move(ts.t), [this, alive, itt](scsi::task_result r) {
    if (alive.expired()) return;
    complete(itt, std::move(r));
  });
}

void session::complete(std::uint32_t itt, scsi::task_result r) {
  auto it = tasks_.find(itt);
  if (it == tasks_.end()) return;
  running_in_ -= it->second->reserved_in;
  it->second->reserved_in = 0;
  if (it->second->aborted) {
    tasks_.erase(it);  // SAM-5 §7.2: an aborted task gets no response
    check_logout();
    return;
  }
  respond(*it->second, std::move(r));
}

// §11.4.5: residuals against the Expected Data Transfer Length. Reads count what the command
// produced; writes what fit_write_to_edtl found; a command that moved nothing although data was
// announced leaves all of it.
session::residual session::residual_of(const task_state& ts, std::uint32_t produced) const {
  const std::uint32_t edtl = ts.t.expected_length;
  if (ts.t.data_in_expected) {
    if (produced < edtl) return {flag_underflow, edtl - produced};
    if (produced > edtl) return {flag_overflow, produced - edtl};
    return {};
  }
  if (ts.write_fit.overflow) return {flag_overflow, ts.write_fit.overflow};
  if (ts.write_fit.underflow) return {flag_underflow, ts.write_fit.underflow};
  if (!ts.t.data_out_expected && edtl) return {flag_underflow, edtl};
  return {};
}

// §11.7: Data-In split at the initiator's MaxRecvDataSegmentLength; F ends each burst of
// MaxBurstLength; with GOOD status the last PDU carries it (S bit, phase collapse). Returns the
// next DataSN.
std::uint32_t session::send_data_in(const task_state& ts, scsi::task_result& r,
                                    std::uint32_t send_len, bool good, residual res) {
  const bool from_file = r.file_in.fd >= 0;
  auto buf = std::move(r.data_in).share();
  const std::uint32_t seg = std::max<std::uint32_t>(cfg_.params.initiator_mrdsl, 512);
  const std::uint32_t burst = std::max(cfg_.params.max_burst_length, seg);
  std::uint32_t off = 0, data_sn = 0;
  while (off < send_len) {
    const std::uint32_t burst_end = (off / burst + 1) * burst;
    const std::uint32_t n = std::min({seg, send_len - off, burst_end - off});
    const bool last = off + n == send_len;
    const bool with_status = last && good;
    auto o = bhs::data_in{.final = last || off + n == burst_end,
                          .status_present = with_status,
                          .residual_flags = res.flag,
                          .status = static_cast<std::uint8_t>(r.st),
                          .itt = ts.t.tag,
                          .sns = sns(with_status),
                          .data_sn = data_sn++,
                          .buffer_offset = off,
                          .residual = res.count}
                 .encode();
    if (from_file)
      o.attach_file(r.file_in.hold, r.file_in.fd, r.file_in.offset + off, n);
    else
      o.attach(buf, off, n);
    send_(std::move(o));
    off += n;
  }
  return data_sn;
}

void session::respond(task_state& ts, scsi::task_result r) {
  const std::uint32_t itt = ts.t.tag;
  // The task leaves the window before its status is built, so this response's MaxCmdSN already
  // counts its slot as free (with a window of 1 the initiator would otherwise wait forever).
  std::unique_ptr<task_state> owned;
  if (auto it = tasks_.find(itt); it != tasks_.end() && it->second.get() == &ts) {
    owned = std::move(it->second);
    tasks_.erase(it);
  }
  const bool read = ts.t.data_in_expected;
  const auto produced = static_cast<std::uint32_t>(
      std::min<std::size_t>(r.file_in.fd >= 0 ? r.file_in.length : r.data_in.size(), 0xffffffffu));
  const residual res = residual_of(ts, produced);
  const bool good = r.st == scsi::status::good && r.sense.empty();
  const std::uint32_t send_len = read ? std::min(produced, ts.t.expected_length) : 0;
  std::uint32_t data_sn = 0;
  if (send_len) {
    data_sn = send_data_in(ts, r, send_len, good, res);
    if (good) {
      tasks_.erase(itt);
      check_logout();
      return;
    }
  }
  // §11.4: SCSI Response; sense data as SenseLength + bytes (§11.4.7).
  auto o = bhs::scsi_response{.residual_flags = res.flag,
                              .status = static_cast<std::uint8_t>(r.st),
                              .itt = itt,
                              .sns = sns(true),
                              .exp_data_sn = read ? data_sn : ts.r2t_sn,
                              .residual = res.count}
               .encode();
  if (!r.sense.empty()) {
    byte_writer w(r.sense.size() + 2);
    w.u16(static_cast<std::uint16_t>(r.sense.size())).append(r.sense);
    o.attach(w.take());
  }
  send_(std::move(o));
  tasks_.erase(itt);
  check_logout();
}

void session::abort_task(std::uint32_t itt) {
  auto it = tasks_.find(itt);
  if (it == tasks_.end()) return;
  for (auto r = r2ts_.begin(); r != r2ts_.end();)
    r = r->second.itt == itt ? r2ts_.erase(r) : std::next(r);
  if (it->second->executing) {
    it->second->aborted = true;  // the logical unit still owns it; its result is dropped
  } else {
    tasks_.erase(it);
  }
}

}  // namespace diskless::iscsi
