#pragma once
// The login phase of one connection (RFC 7143 §6.3, §11.12-11.13), sans-I/O: login request PDUs
// in, login response PDUs out. Security negotiation with AuthMethod None or CHAP (CHAP_A=5, MD5;
// one-way and mutual, §12.1.3), operational negotiation (§13), stage transitions and status
// classes (§11.13.5).
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "inventory/model.hpp"
#include "iscsi/pdu.hpp"
#include "iscsi/pdu_types.hpp"
#include "iscsi/text.hpp"

namespace diskless::iscsi {

// Login status (§11.13.5): class << 8 | detail.
enum class login_status : std::uint16_t {
  success = 0x0000,
  initiator_error = 0x0200,
  authentication_failure = 0x0201,
  authorization_failure = 0x0202,
  not_found = 0x0203,
  target_removed = 0x0204,
  unsupported_version = 0x0205,
  too_many_connections = 0x0206,
  missing_parameter = 0x0207,
  cant_include_in_session = 0x0208,
  session_type_not_supported = 0x0209,
  session_does_not_exist = 0x020a,
  invalid_during_login = 0x020b,
  target_error = 0x0300,
  service_unavailable = 0x0301,
  out_of_resources = 0x0302,
};

struct login_config {
  inventory::inventory_ptr inv;
  target_limits limits;
  std::uint16_t portal_group_tag = 1;
  std::uint32_t first_stat_sn = 1;
  // Random bytes for CHAP identifiers and challenges.
  std::function<void(std::span<std::byte>)> random;
  // The current per-boot secret of a chap-secret="auto" host (util/secret.hpp); empty or nullopt:
  // such hosts cannot log in.
  std::function<std::optional<std::string>(const mac_address&)> auto_secret;
};

class login_machine {
 public:
  explicit login_machine(login_config cfg);

  enum class kind {
    reply,     // send the response and wait for the next login request
    complete,  // the response moves to full feature phase: the caller sets TSIH, sends it
    failed,    // send the (failure) response, then close the connection
  };
  struct step {
    kind what = kind::reply;
    out_pdu response;
  };
  step on_pdu(const pdu& req);

  // A failure response in place of the completing one (e.g. the disk could not be opened).
  out_pdu failure(login_status st);

  // Valid once complete.
  bool discovery() const { return discovery_; }
  const inventory::host* host() const { return host_; }
  const std::string& initiator_name() const { return initiator_; }
  const std::array<std::byte, 6>& isid() const { return isid_; }
  std::uint16_t tsih_requested() const { return tsih_; }
  std::uint32_t exp_cmd_sn() const { return cmd_sn_; }
  std::uint32_t next_stat_sn() const { return stat_sn_; }
  session_params params() { return neg_.finish(); }

 private:
  enum class auth { undecided, none, chap_wait_a, chap_wait_r, done };
  step fail(const pdu& req, login_status st);
  out_pdu response(const bhs::isid_bytes& isid, std::uint32_t itt, bool transit, std::uint8_t csg,
                   std::uint8_t nsg, const key_values& kv, login_status st = login_status::success);
  login_status first_pdu(const pdu& req, const key_values& kv);
  login_status security(const key_values& kv, key_values& reply);

  login_config cfg_;
  negotiator neg_;
  bool started_ = false;
  int stage_ = 0;  // current stage: 0 security, 1 operational
  bytes pending_;  // text of continued (C bit) requests
  std::string initiator_;
  bool discovery_ = false;
  const inventory::host* host_ = nullptr;
  const inventory::chap_credentials* chap_ = nullptr;
  mac_address chap_mac_;  // whose credentials chap_ are
  auth auth_ = auth::undecided;
  std::array<std::byte, 6> isid_{};
  std::uint16_t tsih_ = 0;
  std::uint32_t itt_ = 0;
  std::uint32_t cmd_sn_ = 0;
  std::uint32_t stat_sn_ = 1;
  std::uint8_t chap_id_ = 0;
  bytes challenge_;
  bool tpgt_sent_ = false;
};

}  // namespace diskless::iscsi
