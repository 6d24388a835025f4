#pragma once
// Full feature phase of one session (RFC 7143 §4.2, §11), sans-I/O: PDUs from the framer in,
// PDUs to send out through a callback. MaxConnections is 1, so a session is one connection.
// Commands run on a scsi::logical_unit; its completions arrive on the loop thread, possibly after
// the session is gone (they are then dropped).
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "inventory/model.hpp"
#include "iscsi/pdu.hpp"
#include "iscsi/pdu_types.hpp"
#include "iscsi/text.hpp"
#include "scsi/task.hpp"
#include "scsi/write_fit.hpp"

namespace diskless::iscsi {

struct session_config {
  session_params params;
  bool discovery = false;
  scsi::nexus_id nexus = 0;
  std::uint32_t exp_cmd_sn = 0;  // from the login
  std::uint32_t stat_sn = 0;     // next StatSN to use
  // Commands the initiator may have outstanding (RFC 7143 §4.2.2.1). MaxCmdSN advances when a
  // task completes, not when it is dispatched, so at most this many tasks wait or run; immediate
  // commands beyond max_tasks get TASK SET FULL.
  std::uint32_t cmd_window = 128;
  std::uint32_t max_tasks = 256;
  // Output budget: while the connection's queued output plus the Data-In of running READs is at
  // least output_budget (or, when server_over_budget says the server's total is over its
  // budget, while it is not zero), no READ starts and the window does not advance. Both
  // callbacks may be empty (no queue, never over).
  std::size_t output_budget = 8u << 20;
  std::function<std::size_t()> queued_output;
  std::function<bool()> server_over_budget;
  // Larger writes are refused before their buffer is allocated (sense 05/24/00). Equal to the
  // MAXIMUM TRANSFER LENGTH the disk unit advertises in VPD B0h (32 MiB), so every transfer the
  // initiator was told it may send gets through.
  std::uint32_t max_task_bytes = 32u << 20;
  // For Text SendTargets (§12.3).
  inventory::inventory_ptr inv;
  std::string initiator_name;
  std::string target_name;  // normal sessions
  std::string portal;       // "address:port,tpgt"
};

class session {
 public:
  using send_fn = std::function<void(out_pdu)>;
  session(session_config cfg, std::shared_ptr<scsi::logical_unit> lu, send_fn send);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  // Handles one PDU. Returns false when the connection must close once queued output is sent
  // (logout done, cold reset, unrecoverable protocol error at ERL 0).
  bool on_pdu(pdu p, bool data_digest_failed = false);
  // Nothing received for a while: ping with a NOP-In (§11.19). Never fatal if unanswered: iPXE
  // does not answer.
  void ping();
  bool closing() const { return closing_; }
  std::size_t tasks_in_flight() const { return tasks_.size(); }
  // Queued output went out: start READs held back by the output budget and, if the window can
  // advance, tell the initiator with a NOP-In (§11.19: no reply asked).
  void output_drained();
  // The MaxCmdSN last told to the initiator.
  std::uint32_t advertised_max_cmd_sn() const { return max_cmd_sn_; }
  const session_config& config() const { return cfg_; }
  void set_inventory(inventory::inventory_ptr inv) { cfg_.inv = std::move(inv); }

 private:
  struct r2t_state {
    std::uint32_t itt, offset, length, received = 0, next_data_sn = 0;
  };
  struct task_state {
    scsi::task t;
    std::uint32_t cmd_sn = 0;
    bool ordered = false;    // its turn in CmdSN order has come (§4.2.2.1)
    bool executing = false;  // handed to the logical unit
    bool aborted = false;
    std::uint32_t received = 0;   // data-out bytes so far
    std::uint32_t unsol_end = 0;  // end of the unsolicited burst
    std::uint32_t unsol_next_sn = 0;
    std::uint32_t r2t_next = 0;  // next offset to ask for
    std::uint32_t r2t_sn = 0;
    std::uint32_t r2t_out = 0;      // outstanding R2Ts
    std::uint32_t reserved_in = 0;  // Data-In bytes counted in running_in_ while it runs
    scsi::write_fit write_fit;      // write residual against the CDB's transfer length
  };
  struct queued {  // a non-immediate command waiting for its CmdSN turn
    enum class kind { task, other, consumed } what = kind::consumed;
    std::uint32_t itt = 0;
    pdu p;  // kind::other only
  };

  bool dispatch(pdu p);
  bool command(pdu p);
  bool data_out(const pdu& p);
  bool task_mgmt(const pdu& p);
  bool nop_out(const pdu& p);
  bool text(const pdu& p);
  bool logout(const pdu& p);
  void reject(const pdu& p, std::uint8_t reason);
  bool ordered_entry(pdu p, bool is_task);
  void release_ordered();
  void send_r2ts(task_state& ts);
  void maybe_execute(std::uint32_t itt);
  void complete(std::uint32_t itt, scsi::task_result r);
  struct residual {
    std::uint8_t flag = 0;  // bhs::flag_overflow / flag_underflow
    std::uint32_t count = 0;
  };
  residual residual_of(const task_state& ts, std::uint32_t produced) const;
  std::uint32_t send_data_in(const task_state& ts, scsi::task_result& r, std::uint32_t send_len,
                             bool good, residual res);
  void respond(task_state& ts, scsi::task_result r);
  void abort_task(std::uint32_t itt);
  void check_logout();
  // StatSN (the next one, taken when advance_stat_sn), ExpCmdSN, MaxCmdSN for a response.
  bhs::status_sns sns(bool advance_stat_sn);
  // Advances max_cmd_sn_ to ExpCmdSN + the free slots - 1 unless the output is over budget;
  // never lowers it (the initiator ignores a smaller MaxCmdSN, §4.2.2.1).
  std::uint32_t max_cmd_sn();
  bool output_full() const;
  bool unknown_lun(task_state& ts);

  session_config cfg_;
  std::shared_ptr<scsi::logical_unit> lu_;
  send_fn send_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  std::map<std::uint32_t, std::unique_ptr<task_state>> tasks_;  // by ITT
  std::map<std::uint32_t, r2t_state> r2ts_;                     // by TTT
  std::map<std::uint32_t, queued> waiting_;                     // by CmdSN
  std::uint32_t max_cmd_sn_ = 0;                                // advertised
  std::size_t running_in_ = 0;                                  // expected Data-In of running READs
  std::uint32_t next_ttt_ = 1;
  std::uint32_t ping_ttt_ = 0x80000000u;
  bytes text_in_;   // continued Text request
  bytes text_out_;  // Text response still to send (continuation, §11.10.2)
  std::uint32_t text_ttt_ = reserved_tag;
  std::unique_ptr<pdu> logout_;  // waiting for in-flight tasks
  bool closing_ = false;
};

}  // namespace diskless::iscsi
