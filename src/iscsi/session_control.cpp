// Session control PDUs: task management, NOP, Text and Logout (RFC 7143 §11.5, §11.10, §11.14,
// §11.18-19). The command and data path is in session.cpp.
#include <algorithm>
#include <cstring>

#include "iscsi/session.hpp"
#include "iscsi/target.hpp"
#include "util/log.hpp"

namespace diskless::iscsi {
namespace {
using bhs::reject_protocol;
}  // namespace

// §11.5: task management functions.
bool session::task_mgmt(const pdu& p) {
  const bhs::task_mgmt_view v{p.bhs};
  const std::uint8_t function = v.function();
  const std::uint64_t lun = decode_lun(v.lun_field());
  std::uint8_t response = 0;  // function complete
  bool cold = false;
  switch (function) {
    case 1: {  // ABORT TASK (§11.5.1)
      // The referenced task's CmdSN is RefCmdSN; the TMF's own is CmdSN.
      const std::uint32_t ref = v.referenced_task_tag(), ref_sn = v.ref_cmd_sn();
      auto it = tasks_.find(ref);
      if (it != tasks_.end() && it->first != v.itt()) {
        abort_task(ref);
      } else {
        // §11.5.1 b), c): an unknown task is "complete" when its RefCmdSN is in the window and
        // before the TMF's own CmdSN (it was lost and now counts as received), else it does not
        // exist.
        bool in_window = !sn_lt(ref_sn, cfg_.exp_cmd_sn) && !sn_lt(max_cmd_sn_, ref_sn);
        if (!(in_window && sn_lt(ref_sn, v.cmd_sn()))) response = 1;
      }
      break;
    }
    case 2:    // ABORT TASK SET
    case 4:    // CLEAR TASK SET
    case 5:    // LOGICAL UNIT RESET
    case 6:    // TARGET WARM RESET
    case 7: {  // TARGET COLD RESET
      if (function <= 5 && lun != 0) {
        response = 2;  // LUN does not exist
        break;
      }
      std::vector<std::uint32_t> all;
      for (auto& [itt, ts] : tasks_) all.push_back(itt);
      for (auto itt : all) abort_task(itt);
      waiting_.erase(waiting_.begin(), waiting_.end());
      if (function >= 5 && lu_) lu_->lun_reset(cfg_.nexus);  // unit attention 29h for others
      cold = function == 7;
      break;
    }
    case 3:  // CLEAR ACA: we never establish ACA (NACA is refused)
      response = 5;
      break;
    case 8:  // TASK REASSIGN needs ERL 2 (§11.5.1)
      response = 4;
      break;
    default:
      response = 5;  // function not supported
  }
  send_(bhs::task_mgmt_response{.response = response, .itt = v.itt(), .sns = sns(true)}.encode());
  if (cold) {  // §11.5.1: a cold reset drops the connections
    closing_ = true;
    return false;
  }
  check_logout();
  return true;
}

bool session::nop_out(const pdu& p) {
  const bhs::nop_out_view v{p.bhs};
  if (v.itt() == reserved_tag) {  // the answer to our ping (§11.18.3)
    log::iscsi().debug("{}: ping TTT {:#x} answered", cfg_.initiator_name, v.ttt());
    return true;
  }
  auto o = bhs::nop_in{.lun_field = v.lun_field(), .itt = v.itt(), .sns = sns(true)}.encode();
  // §11.19.2: the ping data comes back, within the initiator's MaxRecvDataSegmentLength.
  std::size_t n = std::min<std::size_t>(p.data.size(), cfg_.params.initiator_mrdsl);
  if (n) o.attach(bytes(p.data.begin(), p.data.begin() + static_cast<std::ptrdiff_t>(n)));
  send_(std::move(o));
  return true;
}

void session::ping() {
  if (closing_) return;
  const std::uint32_t ttt = ping_ttt_++;
  if (ping_ttt_ == reserved_tag) ping_ttt_ = 0x80000000u;
  log::iscsi().debug("{}: idle, NOP-In ping TTT {:#x}", cfg_.initiator_name, ttt);
  send_(bhs::nop_in{.ttt = ttt, .sns = sns(false)}.encode());
}

bool session::text(const pdu& p) {
  const bhs::text_request_view v{p.bhs};
  const bool cont = v.continue_();
  const std::uint32_t ttt = v.ttt();
  key_values reply;
  if (ttt != reserved_tag && ttt == text_ttt_ && p.data.empty()) {
    // §11.10.2: the initiator asks for the rest of a long response.
  } else {
    text_out_.clear();
    text_ttt_ = reserved_tag;
    text_in_.insert(text_in_.end(), p.data.begin(), p.data.end());
    if (text_in_.size() > 65536) {
      text_in_.clear();
      reject(p, reject_protocol);
      return true;
    }
    if (cont) {  // more request text follows; answer empty with a TTT to continue
      text_out_.clear();
    } else {
      auto kv = parse_text(text_in_);
      text_in_.clear();
      if (!kv) {
        reject(p, reject_protocol);
        return true;
      }
      for (auto& [k, v] : *kv) {
        if (k == "SendTargets") {  // §12.3
          auto& inv = *cfg_.inv;
          for (auto* h : visible_targets(inv, cfg_.initiator_name)) {
            auto name = inv.target_iqn(*h);
            bool want = v == "All"  ? cfg_.discovery
                        : v.empty() ? name == cfg_.target_name
                                    : v == name;
            if (!want) continue;
            reply.emplace_back("TargetName", name);
            reply.emplace_back("TargetAddress", cfg_.portal);
          }
        } else if (k == "MaxRecvDataSegmentLength") {  // §13.12: may change in FFP
          auto n = parse_number(v);
          if (n && *n >= min_mrdsl && *n <= max_mrdsl)
            cfg_.params.initiator_mrdsl = static_cast<std::uint32_t>(*n);
        } else if (k.starts_with("X-") || k.starts_with("X#")) {
          reply.emplace_back(k, "NotUnderstood");
        } else {
          reply.emplace_back(k, "Reject");  // leading-only or unknown in full feature phase
        }
      }
      text_out_ = encode_text(reply);
    }
  }
  const std::size_t n = std::min<std::size_t>(text_out_.size(), cfg_.params.initiator_mrdsl);
  const bool more = cont || n < text_out_.size();
  if (more) {
    text_ttt_ = next_ttt_++;
    if (next_ttt_ == reserved_tag) next_ttt_ = 1;
  } else {
    text_ttt_ = reserved_tag;
  }
  // §11.11.1: C marks a response that continues; F the last one.
  auto o = bhs::text_response{.final = !more,
                              .continue_ = more && !cont,
                              .lun_field = v.lun_field(),
                              .itt = v.itt(),
                              .ttt = text_ttt_,
                              .sns = sns(true)}
               .encode();
  if (n) o.attach(bytes(text_out_.begin(), text_out_.begin() + static_cast<std::ptrdiff_t>(n)));
  text_out_.erase(text_out_.begin(), text_out_.begin() + static_cast<std::ptrdiff_t>(n));
  send_(std::move(o));
  return true;
}

bool session::logout(const pdu& p) {
  logout_ = std::make_unique<pdu>(p);
  check_logout();
  return !closing_;
}

// §11.14: the response waits until the tasks before it are done, so acknowledged writes are in.
void session::check_logout() {
  if (!logout_ || closing_) return;
  for (auto& [itt, ts] : tasks_)
    if (ts->executing) return;
  const bhs::logout_request_view v{logout_->bhs};
  // Response 2: connection recovery is not supported (ERL 0).
  send_(bhs::logout_response{.response = static_cast<std::uint8_t>(v.reason() == 2 ? 2 : 0),
                             .itt = v.itt(),
                             .sns = sns(true)}
            .encode());
  logout_.reset();
  closing_ = true;
}

}  // namespace diskless::iscsi
