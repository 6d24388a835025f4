#include "iscsi/login.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "iscsi/md5.hpp"
#include "iscsi/target.hpp"
#include "util/log.hpp"
#include "util/log_limit.hpp"

namespace diskless::iscsi {
namespace {

// Why a login was refused and what the admin can do about it (RFC 7143 §11.13.5 status classes).
std::string_view refusal_hint(login_status st) {
  switch (st) {
    case login_status::not_found:
      return "no such target: its host is not in the inventory or is disabled (see `diskless "
             "check`); the host's iPXE script names <iqn>:<host name>";
    case login_status::authorization_failure:
      return "this initiator name may not log in to the target: boot through the host's own iPXE "
             "script (initiator <iqn>:initiator:<host name>) or give the host "
             "allow-any-initiator=\"true\"";
    case login_status::authentication_failure:
      return "CHAP failed (wrong user or secret, or no CHAP offered for a host that has "
             "chap-user): the initiator must use the host's chap-user/chap-secret";
    case login_status::missing_parameter:
      return "InitiatorName or TargetName missing from the login request";
    case login_status::session_does_not_exist:
      return "session reinstatement/connection addition is not supported (ERL 0, one connection)";
    default:
      return "protocol error in the login request";
  }
}

// One line per initiator and refusal status a minute, whatever the rate of attempts.
log_limiter& refusal_log() {
  static log_limiter l(std::chrono::seconds(60), 1024);
  return l;
}

constexpr std::uint32_t login_window = 32;

bool has_item(std::string_view list, std::string_view item) {
  while (true) {
    auto c = list.find(',');
    if (list.substr(0, c) == item) return true;
    if (c == std::string_view::npos) return false;
    list.remove_prefix(c + 1);
  }
}

bool is_identity_or_security(std::string_view k) {
  return k == "InitiatorName" || k == "TargetName" || k == "SessionType" || k == "InitiatorAlias" ||
         k == "AuthMethod" || k.starts_with("CHAP_");
}

// CHAP response (RFC 1994 §4.1): MD5(identifier || secret || challenge).
md5::digest chap_response(std::uint8_t id, std::string_view secret, byte_span challenge) {
  std::byte idb{id};
  return md5().update(byte_span(&idb, 1)).update(to_bytes(secret)).update(challenge).finish();
}

std::size_t encoded_text_size(const key_values& kv) {
  std::size_t n = 0;
  for (auto& [k, v] : kv) n += k.size() + v.size() + 2;  // "key=value\0" (§6.1)
  return n;
}

void default_random(std::span<std::byte> out) {
  static std::random_device rd;
  for (auto& b : out) b = std::byte(rd() & 0xff);
}

}  // namespace

login_machine::login_machine(login_config cfg)
    : cfg_(std::move(cfg)), neg_(cfg_.limits, false), stat_sn_(cfg_.first_stat_sn) {
  if (!cfg_.random) cfg_.random = default_random;
}

out_pdu login_machine::response(const bhs::isid_bytes& isid, std::uint32_t itt, bool transit,
                                std::uint8_t csg, std::uint8_t nsg, const key_values& kv,
                                login_status st) {
  // Version-max and Version-active 0 (§11.13.2-3).
  auto r = bhs::login_response{.transit = transit,
                               .csg = csg,
                               .nsg = nsg,
                               .isid = isid,
                               .tsih = tsih_,
                               .itt = itt,
                               .sns = {stat_sn_++, cmd_sn_, cmd_sn_ + login_window - 1},
                               .status = static_cast<std::uint16_t>(st)}
               .encode();
  if (!kv.empty()) r.attach(encode_text(kv));
  return r;
}

out_pdu login_machine::failure(login_status st) {
  --stat_sn_;  // it replaces the completing response, which took this StatSN
  return response(isid_, itt_, false, static_cast<std::uint8_t>(stage_), 0, {}, st);
}

login_machine::step login_machine::fail(const pdu& req, login_status st) {
  const auto code = static_cast<std::uint16_t>(st);
  std::uint64_t more = 0;
  // The key is bounded: the initiator name is the client's choice (the table is bounded too).
  const auto key = fmt::format("{:04x} {}", code, std::string_view(initiator_).substr(0, 224));
  if (refusal_log().allow(key, log_limiter::clock::now(), &more))
    log::iscsi().info("login from '{}' refused: status {:04x}; hint: {}{}", initiator_, code,
                      refusal_hint(st),
                      more ? fmt::format(" ({} more since the last such line)", more) : "");
  const bhs::login_request_view v{req.bhs};
  return {kind::failed,
          response(v.isid(), v.itt(), false, static_cast<std::uint8_t>(stage_), 0, {}, st)};
}

login_status login_machine::first_pdu(const pdu& req, const key_values& kv) {
  // §11.12.4: Version-min above what we speak (0x00) cannot work.
  const bhs::login_request_view v{req.bhs};
  if (v.version_min() > 0) return login_status::unsupported_version;
  isid_ = v.isid();
  tsih_ = v.tsih();
  cmd_sn_ = v.cmd_sn();
  auto* name = find_key(kv, "InitiatorName");
  if (!name || name->empty()) return login_status::missing_parameter;  // §13.5
  initiator_ = *name;
  auto* type = find_key(kv, "SessionType");
  if (type && *type != "Normal" && *type != "Discovery")
    return login_status::session_type_not_supported;
  discovery_ = type && *type == "Discovery";
  neg_ = negotiator(cfg_.limits, discovery_);
  auto& inv = *cfg_.inv;
  if (!discovery_) {
    auto* target = find_key(kv, "TargetName");
    if (!target || target->empty()) return login_status::missing_parameter;  // §13.4
    host_ = find_target(inv, *target);
    if (!host_) return login_status::not_found;
    if (!initiator_allowed(inv, *host_, initiator_)) return login_status::authorization_failure;
    if (host_->chap) {
      chap_ = &*host_->chap;
      chap_mac_ = host_->mac;
    }
  } else if (auto* h = host_of_initiator(inv, initiator_); h && h->chap) {
    chap_ = &*h->chap;  // a host's own initiator discovers with the host's credentials
    chap_mac_ = h->mac;
  }
  // MaxConnections is 1 and we do not keep sessions across connections at ERL 0, so a login that
  // names an existing session (TSIH != 0) is for connection addition/reinstatement, which we
  // cannot do (§6.3.1, §11.13.5).
  if (tsih_ != 0) return login_status::session_does_not_exist;
  return login_status::success;
}

login_status login_machine::security(const key_values& kv, key_values& reply) {
  auto* method = find_key(kv, "AuthMethod");
  if (method && auth_ == auth::undecided) {  // §12.1
    if (chap_) {
      if (!has_item(*method, "CHAP")) {
        reply.emplace_back("AuthMethod", "Reject");
        return login_status::authentication_failure;
      }
      reply.emplace_back("AuthMethod", "CHAP");
      auth_ = auth::chap_wait_a;
    } else if (has_item(*method, "None")) {
      reply.emplace_back("AuthMethod", "None");
      auth_ = auth::none;
    } else {
      reply.emplace_back("AuthMethod", "Reject");
      return login_status::authentication_failure;  // no credentials to check CHAP against
    }
  }
  auto* algs = find_key(kv, "CHAP_A");
  if (algs) {
    if (auth_ != auth::chap_wait_a) return login_status::initiator_error;
    if (!has_item(*algs, "5")) {  // §12.1.3: only MD5 (5)
      reply.emplace_back("CHAP_A", "Reject");
      return login_status::authentication_failure;
    }
    std::byte id;
    cfg_.random(std::span<std::byte>(&id, 1));
    chap_id_ = std::to_integer<std::uint8_t>(id);
    challenge_.assign(16, std::byte{0});
    cfg_.random(challenge_);
    reply.emplace_back("CHAP_A", "5");
    reply.emplace_back("CHAP_I", std::to_string(chap_id_));
    reply.emplace_back("CHAP_C", encode_hex(challenge_));
    auth_ = auth::chap_wait_r;
    return login_status::success;
  }
  auto* n = find_key(kv, "CHAP_N");
  auto* r = find_key(kv, "CHAP_R");
  if (n || r) {
    if (auth_ != auth::chap_wait_r || !n || !r) return login_status::authentication_failure;
    auto resp = decode_binary(*r);
    // chap-secret="auto": the secret of the host's current boot (its script fetch made it); none
    // before its first boot since the server started, so nothing matches.
    std::optional<std::string> secret = chap_->secret;
    if (chap_->auto_secret())
      secret = cfg_.auto_secret ? cfg_.auto_secret(chap_mac_) : std::nullopt;
    if (!secret) return login_status::authentication_failure;
    auto want = chap_response(chap_id_, *secret, challenge_);
    if (*n != chap_->user || !resp || resp->size() != want.size() ||
        !std::equal(want.begin(), want.end(), resp->begin()))
      return login_status::authentication_failure;
    auto* ci = find_key(kv, "CHAP_I");
    auto* cc = find_key(kv, "CHAP_C");
    if (ci || cc) {  // mutual: the initiator challenges us (§12.1.3)
      if (!ci || !cc || !chap_->mutual()) return login_status::authentication_failure;
      const auto id = parse_number(*ci);
      auto chal = decode_binary(*cc);
      // §12.1.3: refuse a reflected challenge (the same one we sent) and over-long ones.
      if (!id || *id > 255 || !chal || chal->size() > 1024 || *chal == challenge_)
        return login_status::authentication_failure;
      auto mine = chap_response(static_cast<std::uint8_t>(*id), chap_->mutual_secret, *chal);
      reply.emplace_back("CHAP_N", chap_->mutual_user);
      reply.emplace_back("CHAP_R", encode_hex(mine));
    }
    auth_ = auth::done;
    return login_status::success;
  }
  if (find_key(kv, "CHAP_I") || find_key(kv, "CHAP_C")) return login_status::authentication_failure;
  return login_status::success;
}

login_machine::step login_machine::on_pdu(const pdu& req) {
  if (req.op() != opcode::login) return fail(req, login_status::invalid_during_login);
  const bhs::login_request_view v{req.bhs};
  const bool transit = v.transit(), cont = v.continue_();
  const std::uint8_t csg = v.csg(), nsg = v.nsg();
  // §11.12.2: T and C never together; CSG is 0 or 1; NSG (when T) is a later stage, never 2.
  if ((transit && cont) || csg > 1 || (transit && (nsg <= csg || nsg == 2)))
    return fail(req, login_status::initiator_error);
  if (!started_) {
    stage_ = csg;
    itt_ = req.itt();
  } else if (csg != stage_ || v.isid() != isid_) {
    return fail(req, login_status::initiator_error);
  }
  itt_ = req.itt();
  pending_.insert(pending_.end(), req.data.begin(), req.data.end());
  if (pending_.size() > 65536) return fail(req, login_status::out_of_resources);
  if (cont) {  // §6.3: answer a continued request with an empty response, same stage
    if (!started_) isid_ = v.isid();
    return {kind::reply, response(v.isid(), v.itt(), false, csg, 0, {})};
  }
  auto kv = parse_text(pending_);
  pending_.clear();
  if (!kv) return fail(req, login_status::initiator_error);
  if (!started_) {
    started_ = true;
    auto st = first_pdu(req, *kv);
    if (st != login_status::success) return fail(req, st);
  }
  key_values reply, op_keys;
  for (auto& item : *kv)
    if (!is_identity_or_security(item.first)) op_keys.push_back(item);
  if (stage_ == 0) {
    auto st = security(*kv, reply);
    if (st != login_status::success) return fail(req, st);
  } else if (find_key(*kv, "AuthMethod") || find_key(*kv, "CHAP_A") || find_key(*kv, "CHAP_R")) {
    return fail(req, login_status::initiator_error);  // security keys after the security stage
  }
  if (stage_ == 1 && auth_ == auth::undecided) {
    // The initiator skipped the security stage: fine only when nothing needs authenticating.
    if (chap_) return fail(req, login_status::authentication_failure);
    auth_ = auth::none;
  }
  // Operational keys are negotiated in whichever stage they come (iPXE and others send some in
  // the security stage).
  if (neg_.negotiate(op_keys, reply) != negotiator::outcome::ok)
    return fail(req, login_status::initiator_error);
  if (!discovery_ && !tpgt_sent_) {  // §13.9: in the first response of a normal session
    reply.emplace_back("TargetPortalGroupTag", std::to_string(cfg_.portal_group_tag));
    tpgt_sent_ = true;
  }
  // §6.2 / §11.12: a login response's data segment may not exceed the initiator's
  // MaxRecvDataSegmentLength (8192 until it declares one, §13.12). Answers that large only come
  // from floods of unknown keys (each answered NotUnderstood); such a login is refused with
  // "initiator error" (§11.13.5) rather than split with C.
  if (encoded_text_size(reply) > neg_.params().initiator_mrdsl)
    return fail(req, login_status::initiator_error);
  bool auth_ok = auth_ == auth::none || auth_ == auth::done;
  if (stage_ == 0 && transit && auth_ == auth::undecided && !chap_)
    auth_ok = true;  // no AuthMethod sent
  bool go = transit && auth_ok;
  if (stage_ == 1 || (go && nsg == 3)) neg_.declare(reply);  // §13.12: our MRDSL, once
  auto out = response(v.isid(), v.itt(), go, static_cast<std::uint8_t>(stage_), nsg, reply);
  if (!go) return {kind::reply, std::move(out)};
  if (nsg == 3) return {kind::complete, std::move(out)};
  stage_ = nsg;
  return {kind::reply, std::move(out)};
}

}  // namespace diskless::iscsi
