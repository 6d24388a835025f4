#include "iscsi/session.hpp"

#include <algorithm>
#include <cstring>

#include "iscsi/target.hpp"
#include "util/log.hpp"

namespace diskless::iscsi {
namespace {

// Serial number arithmetic (RFC 1982, as §4.2.2.1 requires for CmdSN).
bool sn_lt(std::uint32_t a, std::uint32_t b) {
  return a != b && static_cast<std::int32_t>(a - b) < 0;
}

// Reject reasons (§11.17.1).
constexpr std::uint8_t reject_data_digest = 0x02, reject_protocol = 0x04,
                       reject_not_supported = 0x05, reject_invalid_field = 0x09;

// SCSI Response / Data-In residual flags (§11.4.5, §11.7.5).
constexpr std::uint8_t flag_overflow = 0x04, flag_underflow = 0x02;

}  // namespace

bytes make_sense(std::uint8_t key, std::uint8_t asc, std::uint8_t ascq) {
  bytes s(18, std::byte{0});
  s[0] = std::byte{0x70};
  s[2] = std::byte{key};
  s[7] = std::byte{10};
  s[12] = std::byte{asc};
  s[13] = std::byte{ascq};
  return s;
}

session::session(session_config cfg, std::shared_ptr<scsi::logical_unit> lu, send_fn send)
    : cfg_(std::move(cfg)), lu_(std::move(lu)), send_(std::move(send)) {}

session::~session() = default;  // alive_ goes away: late completions see an expired token

void session::fill_sn(out_pdu& o, bool advance_stat_sn) {
  auto h = o.h();
  h.set_u32(24, advance_stat_sn ? cfg_.stat_sn++ : cfg_.stat_sn);
  h.set_u32(28, cfg_.exp_cmd_sn);
  h.set_u32(32, max_cmd_sn());
}

void session::reject(const pdu& p, std::uint8_t reason) {
  // §11.17: the rejected PDU's header is the data segment.
  out_pdu o;
  o.set_opcode(opcode::reject);
  auto h = o.h();
  h.set_u8(1, 0x80);
  h.set_u8(2, reason);
  h.set_u32(16, reserved_tag);
  fill_sn(o, true);
  o.attach(bytes(p.bhs.begin(), p.bhs.end()));
  send_(std::move(o));
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
      bool ping_reply = p.op() == opcode::nop_out && p.itt() == reserved_tag;
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
  std::uint32_t sn = p.u32(24);
  if (sn_lt(sn, cfg_.exp_cmd_sn) || sn_lt(max_cmd_sn(), sn) || waiting_.count(sn)) {
    log::iscsi().debug("CmdSN {} outside [{}, {}]: ignored", sn, cfg_.exp_cmd_sn, max_cmd_sn());
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

bool session::unknown_lun(task_state& ts) {
  // Only LUN 0 exists. SPC-4 §6.6.2: INQUIRY to a missing LUN reports peripheral qualifier 011b;
  // REPORT LUNS works through any LUN; anything else is LOGICAL UNIT NOT SUPPORTED (25h/00h).
  std::uint8_t op = std::to_integer<std::uint8_t>(ts.t.cdb[0]);
  if (ts.t.lun == 0 || op == 0xa0) return false;
  scsi::task_result r;
  if (op == 0x12) {
    bytes inq(36, std::byte{0});
    inq[0] = std::byte{0x7f};
    inq[2] = std::byte{0x06};
    inq[3] = std::byte{0x02};
    inq[4] = std::byte{31};
    r.data_in = std::move(inq);
    std::uint32_t alloc = load_u16(ts.t.cdb, 3);
    r.data_in.truncate(alloc);
  } else {
    r.st = scsi::status::check_condition;
    r.sense = make_sense(0x05, 0x25, 0x00);
  }
  respond(ts, std::move(r));
  return true;
}

bool session::command(pdu p) {
  const std::uint8_t flags = p.flags();
  const bool read = flags & 0x40, write = flags & 0x20;
  const std::uint32_t itt = p.itt(), edtl = p.u32(20);
  if (tasks_.count(itt)) {
    reject(p, reject_invalid_field);  // ITT must be unique among live tasks (§11.2.1.8)
    return true;
  }
  auto ts = std::make_unique<task_state>();
  auto& t = ts->t;
  t.nexus = cfg_.nexus;
  t.lun = decode_lun(p.lun_field());
  t.tag = itt;
  t.expected_length = edtl;
  t.data_in_expected = read;
  t.data_out_expected = write;
  t.file_data_ok = !cfg_.params.data_digest;  // a data digest needs the bytes in memory
  t.cdb.assign(p.bhs.begin() + 32, p.bhs.end());
  // §11.3.5 / §11.2.1.4: an Extended CDB AHS (type 1) carries CDB bytes beyond 16.
  byte_reader ahs(p.ahs);
  while (ahs.remaining() >= 4) {
    std::uint16_t len = ahs.u16();
    std::uint8_t type = ahs.u8();
    ahs.skip(1);
    auto body = ahs.take((len + 3u) & ~3u);
    if (!ahs.ok()) break;
    if (type == 1 && len > 1) {
      auto ext = body.subspan(0, std::min<std::size_t>(len - 1, body.size()));
      t.cdb.insert(t.cdb.end(), ext.begin(), ext.end());
    }
  }
  ts->cmd_sn = p.u32(24);
  ts->ordered = p.immediate();
  const std::uint32_t imm = static_cast<std::uint32_t>(p.data.size());
  if (imm && (!write || !cfg_.params.immediate_data || imm > edtl ||
              imm > cfg_.params.first_burst_length)) {
    reject(p, reject_protocol);  // §11.3.4: immediate data only as negotiated, within bounds
    return true;
  }
  auto* raw = ts.get();
  tasks_[itt] = std::move(ts);
  if (write && edtl > cfg_.max_task_bytes) {
    scsi::task_result r;
    r.st = scsi::status::check_condition;
    r.sense = make_sense(0x05, 0x24, 0x00);
    respond(*raw, std::move(r));
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
    out_pdu o;
    o.set_opcode(opcode::r2t);
    auto h = o.h();
    h.set_u8(1, 0x80);
    store_u64(o.bhs, 8, encode_lun(ts.t.lun));
    h.set_u32(16, ts.t.tag);
    h.set_u32(20, ttt);
    fill_sn(o, false);
    h.set_u32(36, ts.r2t_sn++);
    h.set_u32(40, ts.r2t_next);
    h.set_u32(44, len);
    send_(std::move(o));
    ts.r2t_next += len;
    ++ts.r2t_out;
  }
}

bool session::data_out(const pdu& p) {
  auto it = tasks_.find(p.itt());
  if (it == tasks_.end()) {
    // Data for an aborted or refused task: nothing to do (§4.2.3.? ABORT semantics).
    log::iscsi().debug("Data-Out for unknown ITT {:#x} dropped", p.itt());
    return true;
  }
  auto& ts = *it->second;
  const std::uint32_t ttt = p.u32(20), data_sn = p.u32(36), offset = p.u32(40);
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
    scsi::task_result res;
    res.st = scsi::status::check_condition;
    res.sense = make_sense(0x0b, static_cast<std::uint8_t>(asc >> 8),
                           static_cast<std::uint8_t>(asc & 0xff));
    respond(ts, std::move(res));
    return true;
  }
  std::memcpy(ts.t.data_out.data() + offset, p.data.data(), len);
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

// §11.4.5.1 (SAM-5 §5.3): when the Expected Data Transfer Length and the CDB's transfer length
// differ, only the smaller amount is written and the difference is reported as residual
// (underflow: EDTL larger; overflow: CDB larger). Returns true when nothing is left to execute.
bool session::fit_write_to_edtl(task_state& ts) {
  auto& cdb = ts.t.cdb;
  const std::uint8_t op = std::to_integer<std::uint8_t>(cdb[0]);
  std::uint64_t blocks = 0;
  switch (op) {
    case 0x0a:  // WRITE(6): 0 means 256 blocks (SBC-3 §5.34)
      blocks = std::to_integer<std::uint8_t>(cdb[4]);
      if (blocks == 0) blocks = 256;
      break;
    case 0x2a:
    case 0x2e:
      blocks = load_u16(cdb, 7);
      break;  // WRITE / WRITE AND VERIFY (10)
    case 0xaa:
    case 0xae:
      blocks = load_u32(cdb, 6);
      break;  // (12)
    case 0x8a:
    case 0x8e:
      blocks = load_u32(cdb, 10);
      break;  // (16)
    default:
      return false;
  }
  const std::uint64_t tl = blocks * cfg_.block_size, edtl = ts.t.expected_length;
  if (tl == edtl) return false;
  if (edtl > tl) {
    ts.write_resid_flag = flag_underflow;
    ts.write_resid = static_cast<std::uint32_t>(edtl - tl);
    ts.t.data_out.resize(tl);
    return false;
  }
  ts.write_resid_flag = flag_overflow;
  ts.write_resid = static_cast<std::uint32_t>(std::min<std::uint64_t>(tl - edtl, 0xffffffffu));
  const std::uint64_t fit = edtl / cfg_.block_size;
  if (fit == 0 || (op == 0x0a && fit >= 256)) return fit == 0;
  ts.t.data_out.resize(fit * cfg_.block_size);
  if (op == 0x0a)
    cdb[4] = std::byte(fit);
  else if (op == 0x2a || op == 0x2e)
    store_u16(cdb, 7, static_cast<std::uint16_t>(fit));
  else if (op == 0xaa || op == 0xae)
    store_u32(cdb, 6, static_cast<std::uint32_t>(fit));
  else
    store_u32(cdb, 10, static_cast<std::uint32_t>(fit));
  return false;
}

void session::maybe_execute(std::uint32_t itt) {
  auto it = tasks_.find(itt);
  if (it == tasks_.end()) return;
  auto& ts = *it->second;
  if (!ts.ordered || ts.executing || ts.aborted) return;
  if (ts.t.data_out_expected && ts.received < ts.t.expected_length) return;
  ts.executing = true;
  if (unknown_lun(ts)) return;
  if (ts.t.data_out_expected && fit_write_to_edtl(ts)) {
    respond(ts, {});  // nothing fits in the EDTL: GOOD with the overflow residual
    return;
  }
  if (!lu_) {
    scsi::task_result r;
    r.st = scsi::status::check_condition;
    r.sense = make_sense(0x05, 0x25, 0x00);
    respond(ts, std::move(r));
    return;
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
  if (it->second->aborted) {
    tasks_.erase(it);  // SAM-5 §7.2: an aborted task gets no response
    check_logout();
    return;
  }
  respond(*it->second, std::move(r));
}

void session::respond(task_state& ts, scsi::task_result r) {
  const std::uint32_t itt = ts.t.tag, edtl = ts.t.expected_length;
  const std::uint64_t lun = ts.t.lun;
  const bool read = ts.t.data_in_expected;
  std::uint32_t data_sn = 0;
  std::uint8_t resid_flag = 0;
  std::uint32_t residual = 0;
  const bool from_file = r.file_in.fd >= 0;
  auto produced = static_cast<std::uint32_t>(
      std::min<std::size_t>(from_file ? r.file_in.length : r.data_in.size(), 0xffffffffu));
  if (read) {
    // §11.4.5: residuals against the Expected Data Transfer Length.
    if (produced < edtl) {
      resid_flag = flag_underflow;
      residual = edtl - produced;
    } else if (produced > edtl) {
      resid_flag = flag_overflow;
      residual = produced - edtl;
    }
  } else if (ts.write_resid_flag) {
    resid_flag = ts.write_resid_flag;
    residual = ts.write_resid;
  } else if (!ts.t.data_out_expected && edtl) {
    resid_flag = flag_underflow;  // nothing moved although data was announced
    residual = edtl;
  }
  const bool good = r.st == scsi::status::good && r.sense.empty();
  const std::uint32_t send_len = read ? std::min(produced, edtl) : 0;
  if (send_len) {
    // §11.7: Data-In split at the initiator's MaxRecvDataSegmentLength; F ends each burst of
    // MaxBurstLength; with GOOD status the last PDU carries it (S bit, phase collapse).
    auto buf = std::move(r.data_in).share();
    const std::uint32_t seg = std::max<std::uint32_t>(cfg_.params.initiator_mrdsl, 512);
    const std::uint32_t burst = std::max(cfg_.params.max_burst_length, seg);
    std::uint32_t off = 0;
    while (off < send_len) {
      std::uint32_t burst_end = (off / burst + 1) * burst;
      std::uint32_t n = std::min({seg, send_len - off, burst_end - off});
      bool last = off + n == send_len;
      out_pdu o;
      o.set_opcode(opcode::data_in);
      std::uint8_t f = 0;
      if (last || off + n == burst_end) f |= 0x80;
      if (last && good) f |= 0x01 | resid_flag;
      auto h = o.h();
      h.set_u8(1, f);
      h.set_u32(16, itt);
      h.set_u32(20, reserved_tag);
      fill_sn(o, last && good);
      if (!(last && good)) h.set_u32(24, 0);
      h.set_u32(36, data_sn++);
      h.set_u32(40, off);
      if (last && good) {
        h.set_u8(3, static_cast<std::uint8_t>(r.st));
        h.set_u32(44, residual);
      }
      if (from_file)
        o.attach_file(r.file_in.hold, r.file_in.fd, r.file_in.offset + off, n);
      else
        o.attach(buf, off, n);
      send_(std::move(o));
      off += n;
    }
    if (good) {
      tasks_.erase(itt);
      check_logout();
      return;
    }
  }
  // §11.4: SCSI Response; sense data as SenseLength + bytes (§11.4.7).
  out_pdu o;
  o.set_opcode(opcode::scsi_response);
  auto h = o.h();
  h.set_u8(1, 0x80 | resid_flag);
  h.set_u8(2, 0x00);  // command completed at target
  h.set_u8(3, static_cast<std::uint8_t>(r.st));
  h.set_u32(16, itt);
  h.set_u32(20, 0);
  fill_sn(o, true);
  h.set_u32(36, read ? data_sn : ts.r2t_sn);
  h.set_u32(44, residual);
  if (!r.sense.empty()) {
    byte_writer w(r.sense.size() + 2);
    w.u16(static_cast<std::uint16_t>(r.sense.size())).append(r.sense);
    o.attach(w.take());
  }
  (void)lun;
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
