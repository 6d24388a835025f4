#pragma once
// Persistent reservations (SPC-4 §5.9, PERSISTENT RESERVE IN/OUT §6.15/§6.16) and the older
// RESERVE(6)/RELEASE(6) reservations (SPC-2 §7.21/§7.17) of one logical unit. Pure state: commands
// in, task_result (+ unit attentions for other nexuses) out.
//
// Registrations are per I_T nexus (nexus_id) and survive nexus loss and LUN reset (SPC-4 §5.9.1);
// they are not kept across power loss, so APTPL is refused (PTPL_C = 0). SPEC_I_PT and REGISTER AND
// MOVE need transport IDs and are not supported; ALL_TG_PT is accepted (there is one target port).
#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "scsi/cdb.hpp"
#include "scsi/sense.hpp"
#include "scsi/task.hpp"

namespace diskless::scsi {

// SPC-4 §6.16.4, table 215.
enum class pr_type : std::uint8_t {
  write_exclusive = 1,
  exclusive_access = 3,
  write_exclusive_registrants_only = 5,
  exclusive_access_registrants_only = 6,
  write_exclusive_all_registrants = 7,
  exclusive_access_all_registrants = 8,
};

struct unit_attention {
  nexus_id nexus;
  asc_t code;
};

class reservations {
 public:
  // Whether a command of class `acc` from nexus conflicts with the current reservations (SPC-4
  // §5.9.1 table 46; SPC-2 §5.5.1 for RESERVE(6)). `opcode` distinguishes the few commands that
  // stay allowed under a RESERVE(6) of another nexus.
  bool conflicts(nexus_id nexus, access acc, std::uint8_t opcode) const;

  task_result persistent_reserve_in(nexus_id nexus, byte_span cdb) const;
  // Unit attentions for other nexuses are appended to `uas`.
  // `transport_id` (may be empty) is remembered for READ FULL STATUS.
  task_result persistent_reserve_out(nexus_id nexus, byte_span cdb, byte_span params,
                                     std::vector<unit_attention>& uas, byte_span transport_id = {});
  task_result reserve6(nexus_id nexus, byte_span cdb);
  task_result release6(nexus_id nexus);

  // A LUN reset or I_T nexus loss ends a RESERVE(6) reservation (SPC-2 §5.5.1); persistent
  // reservations stay.
  void reset();
  void nexus_lost(nexus_id nexus);

  std::uint32_t generation() const { return generation_; }
  bool registered(nexus_id nexus) const { return keys_.contains(nexus); }

 private:
  bool all_registrants() const;
  bool holds(nexus_id nexus) const;
  void drop_registration(nexus_id nexus, std::vector<unit_attention>& uas, nexus_id by);

  // The decoded fields of a PERSISTENT RESERVE OUT (SPC-4 §6.16.1, §6.16.3).
  struct pr_out_request {
    std::uint8_t action = 0;
    std::uint8_t type = 0;
    std::uint64_t key = 0;     // RESERVATION KEY
    std::uint64_t sa_key = 0;  // SERVICE ACTION RESERVATION KEY
  };
  task_result pr_register(nexus_id nexus, const pr_out_request& rq,
                          std::vector<unit_attention>& uas);
  task_result pr_reserve(nexus_id nexus, const pr_out_request& rq);
  task_result pr_release(nexus_id nexus, const pr_out_request& rq,
                         std::vector<unit_attention>& uas);
  task_result pr_preempt(nexus_id nexus, const pr_out_request& rq,
                         std::vector<unit_attention>& uas);
  // Removes the registrations of every nexus but `by` (holding `key`, when given), telling them
  // REGISTRATIONS PREEMPTED; whether any went.
  bool remove_registrations(nexus_id by, std::optional<std::uint64_t> key,
                            std::vector<unit_attention>& uas);

  std::map<nexus_id, std::uint64_t> keys_;   // registrations
  std::map<nexus_id, bytes> transport_ids_;  // as last seen in a PR OUT from the nexus
  std::uint32_t generation_ = 0;             // PRGENERATION
  struct persistent {
    nexus_id holder;  // unused for the all-registrants types
    pr_type type;
  };
  std::optional<persistent> res_;
  std::optional<nexus_id> reserve6_holder_;
};

}  // namespace diskless::scsi
