#include "scsi/disk_unit.hpp"

#include <fmt/format.h>

#include "util/log.hpp"

namespace diskless::scsi {

namespace {

std::uint8_t at(byte_span b, std::size_t i) {
  return i < b.size() ? std::to_integer<std::uint8_t>(b[i]) : 0;
}

// A nexus keeps at most this many unit attentions; older ones are superseded (SPC-4 §5.14 lets
// a device server drop them when it runs out of room, reporting the most important ones).
constexpr std::size_t max_unit_attentions = 8;

}  // namespace

disk_unit::options disk_unit::options::for_host(std::string_view host_name, bool read_only) {
  options o;
  o.read_only = read_only;
  o.id = identity_for(host_name);
  return o;
}

disk_unit::disk_unit(std::shared_ptr<storage::block_device> dev, io_pool& pool, options o)
    : dev_(std::move(dev)), pool_(pool), opts_(std::move(o)) {
  info_.vendor = opts_.vendor;
  info_.product = opts_.product;
  info_.revision = opts_.revision;
  info_.naa = opts_.id.naa;
  info_.serial = opts_.id.serial.empty() ? serial_for(opts_.id.naa) : opts_.id.serial;
  info_.block_size = opts_.block_size == 0 ? 512 : opts_.block_size;
  info_.blocks = dev_->size() / info_.block_size;
  info_.read_only = opts_.read_only || dev_->read_only();
  info_.write_cache = true;
  info_.thin = true;
  info_.max_transfer_blocks =
      std::max<std::uint32_t>(1, opts_.max_transfer_bytes / info_.block_size);
  info_.max_unmap_blocks = 0xffffffffU;
  info_.max_unmap_descriptors = 256;
  info_.max_write_same_blocks = std::uint64_t{1} << 22;
  info_.max_compare_and_write_blocks = 128;
}

disk_unit::~disk_unit() {
  *alive_ = false;
}

disk_unit::nexus_state& disk_unit::nexus(nexus_id id) {
  auto [it, inserted] = nexuses_.try_emplace(id);
  if (inserted && opts_.report_power_on)
    it->second.unit_attentions.push_back(asc::power_on_occurred);
  return it->second;
}

void disk_unit::add_unit_attention(nexus_id id, asc_t code) {
  auto& q = nexus(id).unit_attentions;
  if (std::find(q.begin(), q.end(), code) != q.end()) return;
  if (q.size() >= max_unit_attentions) q.pop_front();
  q.push_back(code);
}

void disk_unit::add_unit_attention_all_but(nexus_id except, asc_t code) {
  for (auto& [id, st] : nexuses_) {
    if (id != except) add_unit_attention(id, code);
  }
}

void disk_unit::lun_reset(nexus_id by) {
  // SAM-5 §6.3.3 / SPC-4 §5.14: every other nexus learns of the reset through 29h/03h. RESERVE(6)
  // reservations end; persistent reservations do not.
  res_.reset();
  add_unit_attention_all_but(by, asc::bus_device_reset);
}

void disk_unit::nexus_lost(nexus_id id) {
  // SAM-5 §6.3.4 (I_T nexus loss): a RESERVE(6) held by it ends; the nexus' unit attentions go.
  // Its persistent registrations remain (SPC-4 §5.9.1).
  res_.nexus_lost(id);
  nexuses_.erase(id);
}

void disk_unit::execute(task t, completion done) {
  const command_info* c = find_command(t.cdb);
  if (c == nullptr) {
    // An opcode we know with a service action we do not: INVALID FIELD IN CDB (SPC-4 §4.2.5.1
    // says unsupported service actions are field errors); everything else INVALID COMMAND
    // OPERATION CODE.
    if (!t.cdb.empty() && uses_service_action(at(t.cdb, 0))) {
      for (const auto& cmd : supported_commands()) {
        if (cmd.opcode == at(t.cdb, 0) && t.cdb.size() >= cmd.cdb_length) {
          log::scsi().debug("unsupported service action {:02x}/{:02x}", at(t.cdb, 0),
                            at(t.cdb, 1) & 0x1f);
          done(invalid_field_in_cdb(1, 4));
          return;
        }
      }
    }
    log::scsi().debug("unsupported opcode {:02x}", at(t.cdb, 0));
    done(invalid_opcode());
    return;
  }
  // Tell the transport how much data-out the CDB describes, for its write residuals.
  if (std::uint32_t n = data_out_length(t.cdb, info_.block_size)) {
    done = [n, done = std::move(done)](task_result r) mutable {
      r.data_out_length = n;
      done(std::move(r));
    };
  }
  // SAM-5 §5.2: NACA = 1 without ACA support.
  if (at(t.cdb, c->cdb_length - 1) & 0x04) {
    done(invalid_field_in_cdb(static_cast<std::uint16_t>(c->cdb_length - 1), 2));
    return;
  }
  // SPC-4 §5.14: a pending unit attention is reported to (and cleared by) the first command
  // other than INQUIRY, REPORT LUNS and REQUEST SENSE.
  auto& ns = nexus(t.nexus);
  if (!ns.unit_attentions.empty() && c->opcode != op::inquiry && c->opcode != op::report_luns &&
      c->opcode != op::request_sense) {
    asc_t code = ns.unit_attentions.front();
    ns.unit_attentions.pop_front();
    done(check_condition(sense_key::unit_attention, code));
    return;
  }
  if (res_.conflicts(t.nexus, c->acc, c->opcode)) {
    task_result r;
    r.st = status::reservation_conflict;
    done(std::move(r));
    return;
  }
  dispatch(*c, std::move(t), std::move(done));
}

namespace {

// SBC-3 §5.18/5.19: an empty defect list in the requested format.
task_result read_defect_data(byte_span cdb) {
  bool twelve = at(cdb, 0) == op::read_defect_data12;
  std::uint8_t fmt_byte = static_cast<std::uint8_t>(at(cdb, twelve ? 1 : 2) & 0x07);
  byte_writer w;
  w.u8(0).u8(fmt_byte);
  if (twelve)
    w.u16(0).u32(0);
  else
    w.u16(0);
  bytes d = w.take();
  std::uint32_t alloc = allocation_length(cdb);
  if (d.size() > alloc) d.resize(alloc);
  return good(std::move(d));
}

}  // namespace

// Block commands go to sbc.cpp; everything else to dispatch_spc.
void disk_unit::dispatch(const command_info& c, task t, completion done) {
  switch (c.opcode) {
    case op::read6:
    case op::read10:
    case op::read12:
    case op::read16:
      return read(c, std::move(t), std::move(done));
    case op::write6:
    case op::write10:
    case op::write12:
    case op::write16:
    case op::write_verify10:
    case op::write_verify12:
    case op::write_verify16:
      return write(c, std::move(t), std::move(done));
    case op::verify10:
    case op::verify12:
    case op::verify16:
      return verify(c, std::move(t), std::move(done));
    case op::write_same10:
    case op::write_same16:
      return write_same(c, std::move(t), std::move(done));
    case op::unmap:
      return unmap(std::move(t), std::move(done));
    case op::compare_and_write:
      return compare_and_write(std::move(t), std::move(done));
    case op::orwrite16:
      return orwrite(std::move(t), std::move(done));
    case op::sync_cache10:
    case op::sync_cache16:
      return synchronize_cache(std::move(t), std::move(done));
    case op::prefetch10:
    case op::prefetch16:
      return prefetch(std::move(t), std::move(done));
    case op::start_stop_unit:
      return start_stop_unit(std::move(t), std::move(done));
    case op::service_action_in16:
      if (c.service_action == sa::read_capacity16) return done(read_capacity16(info_, t.cdb));
      return get_lba_status(std::move(t), std::move(done));
    default:
      return done(dispatch_spc(c, t));
  }
}

// The commands answered at once on the loop, without disk I/O.
task_result disk_unit::dispatch_spc(const command_info& c, task& t) {
  const byte_span cdb = t.cdb;
  switch (c.opcode) {
    case op::test_unit_ready:
      return good();
    case op::request_sense:
      return request_sense_pending(t.nexus, cdb);
    case op::inquiry:
      return inquiry(info_, cdb);
    case op::report_luns:
      return report_luns(cdb);
    case op::read_capacity10:
      return read_capacity10(info_, cdb);
    case op::mode_sense6:
    case op::mode_sense10:
      return mode_sense(info_, cdb);
    case op::mode_select6:
    case op::mode_select10:
      return mode_select(info_, cdb, t.data_out);
    case op::maintenance_in:
      if (c.service_action == sa::report_supported_opcodes) return report_supported_opcodes(cdb);
      if (c.service_action == sa::report_target_port_groups) return report_target_port_groups(cdb);
      return report_supported_tmfs(cdb);
    case op::reserve6:
      return res_.reserve6(t.nexus, cdb);
    case op::release6:
      return res_.release6(t.nexus);
    case op::pr_in:
      return res_.persistent_reserve_in(t.nexus, cdb);
    case op::pr_out: {
      std::vector<unit_attention> uas;
      auto r = res_.persistent_reserve_out(t.nexus, cdb, t.data_out, uas, t.transport_id);
      for (const auto& ua : uas) add_unit_attention(ua.nexus, ua.code);
      return r;
    }
    case op::prevent_allow:
      // SBC-3 §5.10: the medium is not removable; PREVENT is accepted and has no effect.
      return good();
    case op::read_defect_data10:
    case op::read_defect_data12:
      return read_defect_data(cdb);
    default:
      return invalid_opcode();
  }
}

task_result disk_unit::request_sense_pending(nexus_id id, byte_span cdb) {
  // Pending unit attentions are reported here and cleared (SPC-4 §5.14, §6.39).
  auto& q = nexus(id).unit_attentions;
  if (!q.empty() && !(at(cdb, 1) & 0x01)) {
    sense_data s{sense_key::unit_attention, q.front(), {}, {}};
    q.pop_front();
    return request_sense(cdb, &s);
  }
  return request_sense(cdb, nullptr);
}

// --- range locks -------------------------------------------------------------------------------

void disk_unit::with_range(std::uint64_t lba, std::uint64_t blocks, bool exclusive,
                           unique_function<void(range_handle)> body) {
  range_op op;
  op.lba = lba;
  op.end = lba + blocks;
  op.exclusive = exclusive;
  op.start = std::move(body);
  ranges_.push_back(std::move(op));
  pump();
}

void disk_unit::release(range_handle h) {
  h->done = true;
  pump();
}

void disk_unit::pump() {
  // Re-entrant calls (a body that completes inline and releases) just ask for another pass, so
  // list elements are only erased here, never under an iterator of an outer pass.
  if (pumping_) {
    repump_ = true;
    return;
  }
  pumping_ = true;
  do {
    repump_ = false;
    ranges_.remove_if([](const range_op& o) { return o.done; });
    for (auto it = ranges_.begin(); it != ranges_.end(); ++it) {
      if (it->started || it->done) continue;
      bool blocked = false;
      for (auto jt = ranges_.begin(); jt != it; ++jt) {
        if (jt->done) continue;
        bool overlap = jt->lba < it->end && it->lba < jt->end;
        if (overlap && (jt->exclusive || it->exclusive)) {
          blocked = true;
          break;
        }
      }
      if (blocked) continue;
      it->started = true;
      auto body = std::move(it->start);
      body(it);
    }
  } while (repump_);
  pumping_ = false;
}

}  // namespace diskless::scsi
