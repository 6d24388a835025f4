#include "iscsi/server.hpp"

#include <algorithm>

#include "iscsi/connection.hpp"
#include "iscsi/registry.hpp"
#include "iscsi/target.hpp"
#include "iscsi/throttle.hpp"
#include "util/asio.hpp"
#include "util/log.hpp"

namespace diskless::iscsi {
namespace {

// All sessions together may queue this much output; past it, sessions that have output queued
// stall (their windows stop advancing, their READs wait) while idle ones still run.
constexpr std::size_t total_output_budget = 256u << 20;
constexpr auto auth_period = std::chrono::minutes(5);

class iscsi_service final : public svc::service, public connection_owner {
 public:
  iscsi_service(svc::context& ctx, std::unique_ptr<lun_provider> provider,
                std::shared_ptr<const per_boot_secrets> secrets)
      : io_(ctx.io),
        pool_(ctx.pool),
        events_(ctx.events),
        inv_(ctx.inventory),
        provider_(std::move(provider)),
        acceptor_(ctx.io),
        secrets_(std::move(secrets)) {
    // The disk side asks to end a host's sessions (overlay reset --force, stale sessions at a
    // volatile host's new boot), from any thread.
    provider_->on_end_sessions([this, alive = std::weak_ptr<int>(alive_)](const std::string& h) {
      asio::post(io_, [this, alive, h] {
        if (alive.expired() || stopped_) return;
        for (auto& c : std::vector(conns_))
          if (c->host() && c->host()->name == h) c->close("sessions of the host ended by its disk");
      });
    });
  }

  std::string_view name() const override { return "iscsi"; }

  // Large data buffers stay in the malloc heap: see app/server.cpp (mallopt at serve start).
  result<void> start() override { return listen(); }

  void stop() override {
    stopped_ = true;
    provider_->on_end_sessions(nullptr);
    boost::system::error_code ec;
    acceptor_.close(ec);
    auto all = conns_;
    for (auto& c : all) c->close("server stopping");
    conns_.clear();
    units_.clear();
  }

  void apply(const inventory::inventory_ptr& inv) override {
    auto old = inv_;
    inv_ = inv;
    auto all = conns_;
    for (auto& c : all) {
      if (!c->full_feature() || !c->host()) continue;
      auto* now = inv->find_host_by_name(c->host()->name);
      // Sessions of unchanged hosts survive a reload; removed or changed targets end.
      if (!now || !host_has_disk(*inv, *now) || !same_target(*old, *c->host(), *inv, *now) ||
          !initiator_allowed(*inv, *now, c->initiator_name())) {
        c->close("target removed or changed by reload");
        continue;
      }
      c->rebind(inv, now);
    }
    for (auto& c : all)
      if (c->full_feature() && !c->host()) c->rebind(inv, nullptr);  // discovery sessions
    if (old->server.iscsi.port != inv->server.iscsi.port ||
        old->server.address != inv->server.address) {
      boost::system::error_code ec;
      acceptor_.close(ec);
      auto r = listen();
      if (!r) log::iscsi().error("{}", r.error_message());
    }
  }

  // connection_owner
  inventory::inventory_ptr current_inventory() override { return inv_; }
  std::shared_ptr<const per_boot_secrets> auto_secrets() override { return secrets_; }
  io_pool& pool() override { return pool_; }

  std::string portal_for(const asio::ip::tcp::endpoint& local) override {
    // §13.8: TargetAddress=domainname[:port][,portal-group-tag].
    std::string addr =
        inv_->server.address ? inv_->server.address->str() : local.address().to_string();
    return addr + ":" + std::to_string(inv_->server.iscsi.port) + ",1";
  }

  std::uint16_t new_tsih() override {
    if (++tsih_ == 0) tsih_ = 1;  // §11.12.6: TSIH 0 is reserved
    return tsih_;
  }

  void attach(const std::shared_ptr<connection>& c,
              unique_function<void(result<lu_ptr>)> done) override {
    auto* h = c->host();
    // Session reinstatement (RFC 7143 §6.3.5): the old session ends, its nexus lives on.
    std::shared_ptr<connection> replaced;
    if (auto old = sessions_.add(c.get(), c->initiator_name(), c->isid(), h->name)) {
      for (auto& other : conns_)
        if (other.get() == *old) replaced = other;
    }
    if (replaced) replaced->reinstated = true;
    const bool reinstated = replaced != nullptr;
    // The first login of a volatile host's new boot (disks/catalog.hpp): sessions still open
    // are its previous boot's (a hard-reset PC's connection not yet seen dead). They end before
    // the unit is opened afresh, so this login is not folded into their unit.
    const bool new_boot = !reinstated && provider_->begins_new_boot(*h);
    if (new_boot) {
      for (auto& other : std::vector(conns_))
        if (other != c && other->host() && other->host()->name == h->name)
          other->close("a new boot of the host began: this session was its previous boot's");
    }
    c->attached = true;
    const bool must_open = units_.attach(h->name, std::move(done));
    // Closed only now that the new session counts in the unit: the unit (its reservations and
    // unit attentions) stays open across the reinstatement instead of being dropped and reopened.
    if (replaced) replaced->close("session reinstated by a new login");
    if (!must_open) return;
    const auto why = reinstated ? open_reason::reinstatement
                     : new_boot ? open_reason::new_boot
                                : open_reason::new_session;
    provider_->open(inv_, *h, why, [this, name = h->name](result<lu_ptr> lu) {
      units_.opened(name, std::move(lu));
    });
  }

  void output_changed(std::ptrdiff_t delta) override {
    output_total_ = static_cast<std::size_t>(static_cast<std::ptrdiff_t>(output_total_) + delta);
  }
  bool output_over_budget() const override { return output_total_ > total_output_budget; }

  void boot_event(const svc::event& e) override {
    if (events_) events_(e);
  }

  void auth_failed(const std::string& source) override {
    throttle_.set_limits(limits_for(*inv_));
    throttle_.failed(source, std::chrono::steady_clock::now());
  }

  void detach(connection* c) override {
    for (auto it = conns_.begin(); it != conns_.end(); ++it) {
      if (it->get() == c) {
        // Keep it alive until the current handler unwinds.
        asio::post(io_, [keep = *it] {});
        conns_.erase(it);
        break;
      }
    }
    if (!c->attached || !c->host()) return;
    c->attached = false;
    sessions_.remove(c);
    auto lu = units_.detach(c->host()->name);
    if (lu && !c->reinstated) lu->nexus_lost(c->nexus());
  }

 private:
  result<void> listen() {
    boost::system::error_code ec;
    auto addr = inv_->server.address ? asio::ip::address_v4(inv_->server.address->value())
                                     : asio::ip::address_v4::any();
    asio::ip::tcp::endpoint ep(addr, inv_->server.iscsi.port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      acceptor_.close(ec);
      return error{"iscsi: cannot listen on " + ep.address().to_string() + ":" +
                   std::to_string(ep.port()) + ": " + ec.message()};
    }
    log::iscsi().info("listening on {}:{}", ep.address().to_string(), ep.port());
    accept();
    return {};
  }

  void accept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, asio::ip::tcp::socket s) {
      if (stopped_ || !acceptor_.is_open()) return;
      if (!ec) {
        if (admit(s)) {
          auto c = std::make_shared<connection>(std::move(s), *this);
          conns_.push_back(c);
          c->start();
        }
      } else if (ec == asio::error::operation_aborted) {
        return;
      }
      accept();
    });
  }

  static throttle_limits limits_for(const inventory::inventory& inv) {
    throttle_limits l;
    l.refuse_after = inv.server.iscsi.auth_failures;
    l.slow_after = std::min<std::uint32_t>(3, l.refuse_after);
    l.period = auth_period;
    return l;
  }

  // Connection caps (total and per source address) and the CHAP throttle: a refused connection
  // is closed before anything is allocated for it. Refusals are logged once per source and
  // period.
  bool admit(asio::ip::tcp::socket& s) {
    boost::system::error_code ec;
    auto ep = s.remote_endpoint(ec);
    if (ec) return false;
    const auto& cfg = inv_->server.iscsi;
    const std::string addr = ep.address().to_string();
    const char* why = nullptr;
    if (conns_.size() >= cfg.max_connections) {
      why = "too many connections (max-connections)";
    } else if (std::size_t same = std::count_if(conns_.begin(), conns_.end(),
                                                [&](auto& c) { return c->address() == addr; });
               same >= cfg.max_connections_per_address) {
      why = "too many connections from this address (max-connections-per-address)";
    } else {
      throttle_.set_limits(limits_for(*inv_));
      auto v = throttle_.check(addr, std::chrono::steady_clock::now());
      if (v == auth_throttle::verdict::wait) why = "failed logins: slowed down";
      if (v == auth_throttle::verdict::refuse) why = "too many failed logins: refused";
    }
    if (!why) return true;
    const auto now = std::chrono::steady_clock::now();
    refusals_.failed(addr, now);  // the table only rate-limits the log line
    if (refusals_.should_log(addr, now))
      log::iscsi().warn("{}: connection refused: {} (logged once per 5 minutes)", addr, why);
    s.close(ec);
    return false;
  }

  asio::io_context& io_;
  io_pool& pool_;
  svc::event_sink events_;
  inventory::inventory_ptr inv_;
  std::unique_ptr<lun_provider> provider_;
  asio::ip::tcp::acceptor acceptor_;
  std::vector<std::shared_ptr<connection>> conns_;
  unit_registry units_;
  session_table sessions_;
  std::uint16_t tsih_ = 0;
  std::size_t output_total_ = 0;
  auth_throttle throttle_;
  auth_throttle refusals_{{.slow_after = 1, .refuse_after = 1, .period = auth_period}};
  std::shared_ptr<const per_boot_secrets> secrets_;
  bool stopped_ = false;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace

std::unique_ptr<svc::service> make_service(svc::context& ctx, std::unique_ptr<lun_provider> p,
                                           std::shared_ptr<const per_boot_secrets> secrets) {
  return std::make_unique<iscsi_service>(ctx, std::move(p), std::move(secrets));
}

}  // namespace diskless::iscsi
