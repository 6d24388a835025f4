#include "scsi/reservations.hpp"

#include <algorithm>

#include "scsi/spc.hpp"

namespace diskless::scsi {

namespace {

std::uint8_t at(byte_span b, std::size_t i) {
  return i < b.size() ? std::to_integer<std::uint8_t>(b[i]) : 0;
}

task_result conflict() {
  task_result r;
  r.st = status::reservation_conflict;
  return r;
}

bool valid_type(std::uint8_t t) {
  return t == 1 || t == 3 || t == 5 || t == 6 || t == 7 || t == 8;
}

bool registrants_only(pr_type t) {
  return t == pr_type::write_exclusive_registrants_only ||
         t == pr_type::exclusive_access_registrants_only;
}

bool is_all_registrants(pr_type t) {
  return t == pr_type::write_exclusive_all_registrants ||
         t == pr_type::exclusive_access_all_registrants;
}

bool exclusive_access(pr_type t) {
  return t == pr_type::exclusive_access || t == pr_type::exclusive_access_registrants_only ||
         t == pr_type::exclusive_access_all_registrants;
}

namespace pr_out_sa {
constexpr std::uint8_t register_key = 0, reserve = 1, release = 2, clear = 3, preempt = 4,
                       preempt_and_abort = 5, register_and_ignore = 6;
}

}  // namespace

bool reservations::all_registrants() const {
  return res_ && is_all_registrants(res_->type);
}

bool reservations::holds(nexus_id nexus) const {
  if (!res_) return false;
  if (is_all_registrants(res_->type)) return keys_.contains(nexus);
  return res_->holder == nexus;
}

bool reservations::conflicts(nexus_id nexus, access acc, std::uint8_t opcode) const {
  if (reserve6_holder_ && *reserve6_holder_ != nexus) {
    // SPC-2 §5.5.1: under another initiator's RESERVE(6) only these complete normally.
    switch (opcode) {
      case op::inquiry:
      case op::report_luns:
      case op::request_sense:
      case op::release6:
      case op::maintenance_in:
        return false;
      default:
        return true;
    }
  }
  if (!res_ || acc == access::always || holds(nexus)) return false;
  // SPC-4 §5.9.1 table 46 / SBC-3 table 13: registrants may access a registrants-only
  // reservation; everyone may read under the write-exclusive types.
  if (registrants_only(res_->type) && keys_.contains(nexus)) return false;
  if (acc == access::read && !exclusive_access(res_->type)) return false;
  return true;
}

task_result reservations::persistent_reserve_in(nexus_id, byte_span cdb) const {
  // SPC-4 §6.15.
  std::uint32_t alloc = load_u16(cdb, 7);
  byte_writer w;
  switch (at(cdb, 1) & 0x1f) {
    case 0x00:  // READ KEYS (§6.15.2)
      w.u32(generation_).u32(static_cast<std::uint32_t>(keys_.size() * 8));
      for (const auto& [nexus, key] : keys_) w.u64(key);
      break;
    case 0x01:  // READ RESERVATION (§6.15.3)
      w.u32(generation_);
      if (!res_) {
        w.u32(0);
      } else {
        w.u32(16);
        // All-registrants reservations report key 0 (§6.15.3.2).
        std::uint64_t key = 0;
        if (!is_all_registrants(res_->type)) {
          auto it = keys_.find(res_->holder);
          key = it != keys_.end() ? it->second : 0;
        }
        w.u64(key).u32(0).u8(0).u8(static_cast<std::uint8_t>(res_->type)).u16(0);
      }
      break;
    case 0x02:  // REPORT CAPABILITIES (§6.15.4)
      w.u16(8);
      w.u8(0x04);  // ATP_C; CRH, SIP_C and PTPL_C are 0
      w.u8(0x80);  // TMV: the type mask is valid; ALLOW COMMANDS 000b; PTPL_A 0
      // WR_EX_AR | EX_AC_RO | WR_EX_RO | EX_AC | WR_EX, then EX_AC_AR.
      w.u8(0x80 | 0x40 | 0x20 | 0x08 | 0x02).u8(0x01);
      w.u16(0);
      break;
    case 0x03: {  // READ FULL STATUS (§6.15.5)
      w.u32(generation_).u32(0);
      for (const auto& [n, key] : keys_) {
        bytes tid;
        if (auto it = transport_ids_.find(n); it != transport_ids_.end()) {
          tid = it->second;
        } else {
          // §7.6.4: PROTOCOL IDENTIFIER Fh (no specific protocol); the nexus id identifies it.
          byte_writer t;
          t.u8(0x0f).zeros(7).u64(n).zeros(8);
          tid = t.take();
        }
        bool holder = res_ && (is_all_registrants(res_->type) || res_->holder == n);
        w.u64(key).u32(0);
        w.u8(static_cast<std::uint8_t>(0x02 | (holder ? 0x01 : 0x00)));  // ALL_TG_PT | R_HOLDER
        w.u8(holder ? static_cast<std::uint8_t>(res_->type) : 0);        // SCOPE 0 | TYPE
        w.u32(0).u16(relative_target_port);                              // the only port
        w.u32(static_cast<std::uint32_t>(tid.size())).append(tid);
      }
      w.put_u32_at(4, static_cast<std::uint32_t>(w.size() - 8));
      break;
    }
    default:
      return invalid_field_in_cdb(1, 4);
  }
  bytes data = w.take();
  if (data.size() > alloc) data.resize(alloc);
  return good(std::move(data));
}

void reservations::drop_registration(nexus_id nexus, std::vector<unit_attention>& uas,
                                     nexus_id by) {
  if (keys_.erase(nexus) == 0) return;
  if (!res_) return;
  bool released = false;
  if (is_all_registrants(res_->type)) {
    released = keys_.empty();
  } else if (res_->holder == nexus) {
    released = true;
  }
  if (released) {
    // §5.9.11: releasing a registrants-only or all-registrants reservation by unregistering
    // tells the other registrants (RESERVATIONS RELEASED).
    if (registrants_only(res_->type) || is_all_registrants(res_->type)) {
      for (const auto& [n, k] : keys_)
        if (n != by) uas.push_back({n, asc::reservations_released});
    }
    res_.reset();
  }
}

task_result reservations::persistent_reserve_out(nexus_id nexus, byte_span cdb, byte_span params,
                                                 std::vector<unit_attention>& uas,
                                                 byte_span transport_id) {
  // SPC-4 §6.16. A RESERVE(6) by another nexus conflicts with all PR OUT (SPC-4 §5.9.3).
  if (reserve6_holder_ && *reserve6_holder_ != nexus) return conflict();
  pr_out_request rq;
  rq.action = at(cdb, 1) & 0x1f;
  std::uint8_t scope = at(cdb, 2) >> 4;
  rq.type = at(cdb, 2) & 0x0f;
  std::uint32_t len = load_u32(cdb, 5);
  if (rq.action > pr_out_sa::register_and_ignore) return invalid_field_in_cdb(1, 4);
  // §6.16.3: the basic parameter list is 24 bytes (longer only with SPEC_I_PT).
  if (len != 24 || params.size() < 24) {
    return check_condition(sense_key::illegal_request, asc::parameter_list_length_error);
  }
  rq.key = load_u64(params, 0);
  rq.sa_key = load_u64(params, 8);
  if (transport_id.size() >= 24 && transport_id.size() <= 264)
    transport_ids_[nexus].assign(transport_id.begin(), transport_id.end());
  std::uint8_t flags = at(params, 20);
  if (flags & 0x08) return invalid_field_in_parameter_list(20, 3);  // SPEC_I_PT: SIP_C = 0
  if (flags & 0x01) {
    // APTPL: PTPL_C = 0, reservations are not kept across power loss.
    return invalid_field_in_parameter_list(20, 0);
  }
  if (rq.action == pr_out_sa::register_key || rq.action == pr_out_sa::register_and_ignore)
    return pr_register(nexus, rq, uas);

  // Every other service action needs a registered nexus presenting its key.
  if (!keys_.contains(nexus) || keys_[nexus] != rq.key) return conflict();
  const std::uint8_t action = rq.action;
  bool needs_type = action == pr_out_sa::reserve || action == pr_out_sa::release ||
                    action == pr_out_sa::preempt || action == pr_out_sa::preempt_and_abort;
  if (needs_type && scope != 0) return invalid_field_in_cdb(2, 7);  // LU_SCOPE only
  if (needs_type && action != pr_out_sa::release && !valid_type(rq.type) &&
      !((action == pr_out_sa::preempt || action == pr_out_sa::preempt_and_abort) && !res_ &&
        rq.sa_key != 0)) {
    return invalid_field_in_cdb(2, 3);
  }

  switch (action) {
    case pr_out_sa::reserve:
      return pr_reserve(nexus, rq);
    case pr_out_sa::release:
      return pr_release(nexus, rq, uas);
    case pr_out_sa::clear:  // §5.9.11.6
      for (const auto& [n, k] : keys_)
        if (n != nexus) uas.push_back({n, asc::reservations_preempted});
      keys_.clear();
      res_.reset();
      ++generation_;
      return good();
    case pr_out_sa::preempt:
    case pr_out_sa::preempt_and_abort:
      return pr_preempt(nexus, rq, uas);
    default:
      return invalid_field_in_cdb(1, 4);
  }
}

task_result reservations::pr_register(nexus_id nexus, const pr_out_request& rq,
                                      std::vector<unit_attention>& uas) {
  // §5.9.7 (table 38): REGISTER checks the current key, REGISTER AND IGNORE EXISTING KEY
  // does not.
  bool is_registered = keys_.contains(nexus);
  if (rq.action == pr_out_sa::register_key) {
    if (!is_registered && rq.key != 0) return conflict();
    if (is_registered && rq.key != keys_[nexus]) return conflict();
  }
  if (rq.sa_key == 0) {
    if (is_registered) drop_registration(nexus, uas, nexus);
  } else {
    keys_[nexus] = rq.sa_key;
  }
  ++generation_;
  return good();
}

task_result reservations::pr_reserve(nexus_id nexus, const pr_out_request& rq) {
  // §5.9.8
  if (res_) {
    if (!holds(nexus)) return conflict();
    if (static_cast<std::uint8_t>(res_->type) != rq.type) return conflict();
    return good();
  }
  res_ = persistent{nexus, static_cast<pr_type>(rq.type)};
  return good();
}

task_result reservations::pr_release(nexus_id nexus, const pr_out_request& rq,
                                     std::vector<unit_attention>& uas) {
  // §5.9.11.2
  if (!res_ || !holds(nexus)) return good();
  if (!valid_type(rq.type) || static_cast<std::uint8_t>(res_->type) != rq.type) {
    return check_condition(sense_key::illegal_request, asc_t{0x26, 0x04});  // INVALID RELEASE
  }
  if (registrants_only(res_->type) || is_all_registrants(res_->type)) {
    for (const auto& [n, k] : keys_)
      if (n != nexus) uas.push_back({n, asc::reservations_released});
  }
  res_.reset();
  return good();
}

bool reservations::remove_registrations(nexus_id by, std::optional<std::uint64_t> key,
                                        std::vector<unit_attention>& uas) {
  std::vector<nexus_id> victims;
  for (const auto& [n, k] : keys_)
    if ((!key || k == *key) && n != by) victims.push_back(n);
  for (auto n : victims) {
    keys_.erase(n);
    uas.push_back({n, asc::registrations_preempted});
  }
  return !victims.empty();
}

task_result reservations::pr_preempt(nexus_id nexus, const pr_out_request& rq,
                                     std::vector<unit_attention>& uas) {
  // §5.9.11.4
  const std::uint64_t sa_key = rq.sa_key;
  if (!res_) {
    if (sa_key == 0) return invalid_field_in_parameter_list(8);
    if (!remove_registrations(nexus, sa_key, uas)) return conflict();
    ++generation_;
    return good();
  }
  if (is_all_registrants(res_->type)) {
    if (sa_key == 0) {
      // Removes every other registration; the preempting nexus takes the reservation.
      remove_registrations(nexus, std::nullopt, uas);
      res_ = persistent{nexus, static_cast<pr_type>(rq.type)};
    } else if (!remove_registrations(nexus, sa_key, uas)) {
      return conflict();
    }
    ++generation_;
    return good();
  }
  auto holder_key = keys_.count(res_->holder) ? keys_[res_->holder] : 0;
  if (sa_key == holder_key) {
    // Preempting the holder: its registrations go, the reservation moves to us (possibly
    // with a new type); registrants that stay lose nothing but are told nothing either.
    remove_registrations(nexus, sa_key, uas);
    pr_type old = res_->type;
    res_ = persistent{nexus, static_cast<pr_type>(rq.type)};
    if (old != res_->type) {
      for (const auto& [n, k] : keys_)
        if (n != nexus) uas.push_back({n, asc::reservations_released});
    }
  } else {
    if (sa_key == 0) return invalid_field_in_parameter_list(8);
    if (!remove_registrations(nexus, sa_key, uas)) return conflict();
  }
  ++generation_;
  return good();
}

task_result reservations::reserve6(nexus_id nexus, byte_span cdb) {
  // SPC-2 §7.21: third-party and extent reservations are not supported.
  if (at(cdb, 1) & 0x1f) return invalid_field_in_cdb(1);
  // SPC-4 §5.9.3: RESERVE(6) conflicts with any persistent reservation or registration.
  if (res_ || !keys_.empty()) return conflict();
  if (reserve6_holder_ && *reserve6_holder_ != nexus) return conflict();
  reserve6_holder_ = nexus;
  return good();
}

task_result reservations::release6(nexus_id nexus) {
  // SPC-2 §7.17: releasing a reservation one does not hold is not an error.
  if (reserve6_holder_ && *reserve6_holder_ == nexus) reserve6_holder_.reset();
  return good();
}

void reservations::reset() {
  reserve6_holder_.reset();
}

void reservations::nexus_lost(nexus_id nexus) {
  if (reserve6_holder_ && *reserve6_holder_ == nexus) reserve6_holder_.reset();
}

}  // namespace diskless::scsi
