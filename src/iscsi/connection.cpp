#include "iscsi/connection.hpp"

#include <cerrno>
#include <cstring>

#include "iscsi/pdu_types.hpp"
#include "iscsi/writer.hpp"
#include "util/log.hpp"

namespace diskless::iscsi {
namespace {

// Reads go into a small buffer until a normal session's login completes (an idle or discovery
// connection costs kilobytes), then into one sized for the negotiated PDUs.
constexpr std::size_t login_chunk = 16 * 1024;
constexpr std::size_t read_chunk = 512 * 1024;
// Stop reading from a peer that does not take its data (bounded memory per connection) and
// resume once most of it is out.
constexpr std::size_t queue_high = 64u << 20, queue_low = 16u << 20;
constexpr std::size_t max_gather = 64;  // PDUs per write
constexpr auto tick = std::chrono::seconds(5);

// FNV-1a over initiator name and ISID: the I_T nexus identity, stable across reinstatement.
scsi::nexus_id make_nexus(std::string_view name, const std::array<std::byte, 6>& isid) {
  std::uint64_t h = 1469598103934665603ull;
  auto mix = [&](std::uint8_t b) { h = (h ^ b) * 1099511628211ull; };
  for (char c : name) mix(static_cast<std::uint8_t>(c));
  for (auto b : isid) mix(std::to_integer<std::uint8_t>(b));
  return h;
}

}  // namespace

connection::connection(asio::ip::tcp::socket sock, connection_owner& owner)
    : sock_(std::move(sock)), timer_(sock_.get_executor()), owner_(owner), rbuf_(login_chunk) {
  boost::system::error_code ec;
  sock_.set_option(asio::ip::tcp::no_delay(true), ec);  // small responses must not wait
  sock_.native_non_blocking(true, ec);  // send_on_pool's send()/sendfile() must never block
  auto ep = sock_.remote_endpoint(ec);
  address_ = ec ? "?" : ep.address().to_string();
  peer_ = ec ? "?" : address_ + ":" + std::to_string(ep.port());
  last_rx_ = started_ = last_heard_ = std::chrono::steady_clock::now();
}

connection::~connection() = default;

void connection::start() {
  login_config cfg;
  cfg.inv = owner_.current_inventory();
  if (auto secrets = owner_.auto_secrets())
    cfg.auto_secret = [secrets](const mac_address& m) { return secrets->current(m); };
  login_ = std::make_unique<login_machine>(std::move(cfg));
  log::iscsi().debug("connection from {}", peer_);
  arm_timer();
  do_read();
}

void connection::close(std::string_view why) {
  if (phase_ == phase::closed) return;
  phase_ = phase::closed;
  log::iscsi().info("{} ({}): connection closed: {}", peer_, initiator_, why);
  boost::system::error_code ec;
  sock_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  // A pool thread may be sending on the descriptor: it is closed when that job returns, so the
  // number cannot be reused under it.
  if (!pool_sending_) sock_.close(ec);
  timer_.cancel();
  if (session_ && host_ && !session_->config().discovery) {
    send_tally();
    emit(svc::event_kind::iscsi_logout, std::string(why));
  }
  session_.reset();  // in-flight completions are dropped from here on
  owner_.output_changed(-static_cast<std::ptrdiff_t>(wq_bytes_));  // wq_ no longer counts
  // wq_ stays until destruction: an aborted async_write may still name its buffers.
  owner_.detach(this);
}

void connection::rebind(inventory::inventory_ptr inv, const inventory::host* h) {
  inv_ = inv;
  host_ = h;
  if (session_) session_->set_inventory(std::move(inv));
}

void connection::count_io(const pdu& p) {
  const bhs::scsi_command_view v{p.bhs};  // §11.3: R, W and Expected Data Transfer Length
  if (v.read()) tally_read_ += v.expected_length();
  if (v.write()) tally_written_ += v.expected_length();
  if (first_data_ && (tally_read_ || tally_written_)) {
    first_data_ = false;
    send_tally();
  }
}

void connection::send_tally() {
  if (!host_ || (tally_read_ == 0 && tally_written_ == 0)) return;
  svc::event e;
  e.kind = svc::event_kind::iscsi_io;
  e.name = initiator_;
  e.what = host_->name;
  e.bytes_read = std::exchange(tally_read_, 0);
  e.bytes_written = std::exchange(tally_written_, 0);
  owner_.boot_event(e);
}

void connection::emit(svc::event_kind k, std::string detail) {
  if (!host_) return;
  svc::event e;
  e.kind = k;
  e.name = initiator_;
  e.what = host_->name;
  e.address = ipv4_address::parse(address_).value_or(ipv4_address());
  e.detail = std::move(detail);
  owner_.boot_event(e);
}

void connection::arm_timer() {
  // The NOP-In interval is <iscsi nop-interval> (30 s by default); tick at least that often and
  // often enough to notice the login and discovery timeouts.
  auto inv = owner_.current_inventory();
  const auto& cfg = inv ? inv->server.iscsi : inventory::iscsi_config{};
  const std::chrono::seconds ping_after = cfg.nop_interval;
  auto every =
      std::min<std::chrono::seconds>({tick, ping_after, cfg.login_timeout, cfg.discovery_timeout});
  timer_.expires_after(every);
  timer_.async_wait([self = weak_from_this(), ping_after](const boost::system::error_code& ec) {
    auto c = self.lock();
    if (ec || !c || c->phase_ == phase::closed) return;
    c->on_tick(ping_after);
  });
}

void connection::on_tick(std::chrono::seconds ping_after) {
  auto now = std::chrono::steady_clock::now();
  send_tally();
  auto inv = owner_.current_inventory();
  const auto& cfg = inv ? inv->server.iscsi : inventory::iscsi_config{};
  if (!session_ && phase_ != phase::waiting_for_disk && now - started_ > cfg.login_timeout) {
    close("login not completed in time");
    return;
  }
  // A discovery session holds nothing worth keeping: silence ends it (RFC 7143 §4.3 leaves its
  // lifetime to the target).
  if (session_ && session_->config().discovery && now - last_heard_ > cfg.discovery_timeout) {
    close("discovery session idle");
    return;
  }
  // §11.19: ping idle sessions so dead peers surface in TCP; an unanswered ping is never
  // fatal (iPXE does not answer).
  if (session_ && now - last_rx_ > ping_after && wq_.empty()) {
    session_->ping();
    last_rx_ = now;
  }
  arm_timer();
}

void connection::do_read() {
  if (phase_ == phase::closed || phase_ == phase::waiting_for_disk || phase_ == phase::draining ||
      reading_ || paused_)
    return;
  // Grown here, where no span into it is alive (process() has returned).
  if (session_ && !session_->config().discovery && rbuf_.size() < read_chunk)
    rbuf_.assign(read_chunk, std::byte{0});
  reading_ = true;
  sock_.async_read_some(
      asio::buffer(rbuf_.data(), rbuf_.size()),
      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
        self->reading_ = false;
        if (self->phase_ == phase::closed) return;
        if (ec) {
          self->close(ec == asio::error::eof ? "peer closed" : ec.message());
          return;
        }
        self->on_read(n);
      });
}

void connection::on_read(std::size_t n) {
  last_rx_ = last_heard_ = std::chrono::steady_clock::now();
  byte_span in(rbuf_.data(), n);
  if (!process(in)) return;
  if (!in.empty()) stash_.assign(in.begin(), in.end());  // paused for the disk: keep the rest
  do_read();
}

bool connection::process(byte_span& in) {
  while (!in.empty() && (phase_ == phase::login || phase_ == phase::full_feature)) {
    auto st = framer_.feed(in);
    if (st == framer::status::need_more) break;
    if (st == framer::status::error) {
      // §7.8 / ERL 0: a broken stream (bad header digest, oversized segment) ends the connection.
      log::iscsi().info("{}: bad PDU: {}", peer_, framer_.error_message());
      close("protocol error");
      return false;
    }
    auto p = framer_.take();
    if (!handle(std::move(p), framer_.data_digest_failed())) return false;
  }
  return phase_ != phase::closed;
}

bool connection::handle(pdu p, bool digest_failed) {
  if (session_) {
    if (p.op() == opcode::scsi_command && !session_->config().discovery) count_io(p);
    if (!session_->on_pdu(std::move(p), digest_failed)) phase_ = phase::draining;
    if (phase_ == phase::draining && wq_.empty() && !writing_) close("session ended");
    return phase_ != phase::closed;
  }
  if (!login_) return false;
  if (digest_failed) {  // digests are not in force during login; cannot happen
    close("digest during login");
    return false;
  }
  auto s = login_->on_pdu(p);
  switch (s.what) {
    case login_machine::kind::reply:
      send(std::move(s.response));
      return true;
    case login_machine::kind::failed: {
      phase_ = phase::draining;
      const auto st = bhs::login_response_status(s.response);
      const bool auth = st == static_cast<std::uint16_t>(login_status::authentication_failure);
      if (auth) owner_.auth_failed(address_);
      host_ = login_->host();
      initiator_ = login_->initiator_name();
      emit(svc::event_kind::iscsi_login_failed,
           auth ? "authentication failed" : fmt::format("login status {:#06x}", st));
      host_ = nullptr;
      send(std::move(s.response));
      return false;
    }
    case login_machine::kind::complete:
      login_complete(std::move(s));
      return phase_ != phase::closed;
  }
  return true;
}

void connection::login_complete(login_machine::step s) {
  initiator_ = login_->initiator_name();
  isid_ = login_->isid();
  nexus_ = make_nexus(initiator_, isid_);
  inv_ = owner_.current_inventory();
  host_ = login_->host();
  auto finish = [this](out_pdu response, lu_ptr lu) {
    std::uint16_t tsih = owner_.new_tsih();
    bhs::set_login_tsih(response, tsih);
    auto params = login_->params();
    session_config cfg;
    cfg.params = params;
    cfg.discovery = login_->discovery();
    cfg.nexus = nexus_;
    cfg.exp_cmd_sn = login_->exp_cmd_sn();
    cfg.stat_sn = login_->next_stat_sn();
    cfg.inv = inv_;
    cfg.initiator_name = initiator_;
    if (host_) cfg.target_name = inv_->target_iqn(*host_);
    boost::system::error_code ec;
    cfg.portal = owner_.portal_for(sock_.local_endpoint(ec));
    cfg.queued_output = [this] { return wq_bytes_; };
    cfg.server_over_budget = [this] { return owner_.output_over_budget(); };
    send(std::move(response));  // the last PDU without digests (§13.1: they start after it)
    digests_h_ = params.header_digest;
    digests_d_ = params.data_digest;
    framer_.set_limits({params.target_mrdsl, params.header_digest, params.data_digest});
    session_ = std::make_unique<session>(std::move(cfg), std::move(lu),
                                         [this](out_pdu o) { send(std::move(o)); });
    log::iscsi().info("{}: {} logged in to {} (session {})", peer_, initiator_,
                      host_ ? inv_->target_iqn(*host_) : "discovery", tsih);
    if (host_) emit(svc::event_kind::iscsi_login, {});
    login_.reset();
    phase_ = phase::full_feature;
  };
  if (login_->discovery()) {
    finish(std::move(s.response), nullptr);
    return;
  }
  phase_ = phase::waiting_for_disk;
  auto response = std::make_shared<out_pdu>(std::move(s.response));
  owner_.attach(shared_from_this(),
                [self = weak_from_this(), response, finish](result<lu_ptr> lu) mutable {
                  auto c = self.lock();
                  if (!c || c->phase_ == phase::closed) return;
                  if (!lu) {
                    c->phase_ = phase::draining;
                    c->send(c->login_->failure(login_status::service_unavailable));
                    return;
                  }
                  finish(std::move(*response), std::move(*lu));
                  // Bytes that arrived meanwhile (normally none: the initiator waits for this
                  // response).
                  if (!c->stash_.empty()) {
                    bytes pending = std::move(c->stash_);
                    c->stash_.clear();
                    byte_span in(pending);
                    if (!c->process(in)) return;
                  }
                  c->do_read();
                });
}

void connection::send(out_pdu p) {
  if (phase_ == phase::closed) return;
  write_item item{std::move(p), {}};
  item.f = frame_for(item.p, digests_h_, digests_d_);
  const std::size_t n = item.f.head_len + item.p.length + item.f.tail_len;
  wq_bytes_ += n;
  owner_.output_changed(static_cast<std::ptrdiff_t>(n));
  wq_.push_back(std::move(item));
  if (wq_bytes_ > queue_high) paused_ = true;
  do_write();
}

void connection::do_write() {
  if (writing_ || phase_ == phase::closed || wq_.empty()) return;
  writing_ = true;
  // A file-backed PDU (and what follows it) goes out from the pool: sendfile may wait for the
  // disk, which the loop never does.
  std::size_t n = std::min(wq_.size(), max_gather);
  for (std::size_t i = 0; i < n; ++i) {
    if (wq_[i].p.from_file()) {
      if (i == 0) {
        in_flight_items_ = 1;
        while (in_flight_items_ < n && wq_[in_flight_items_].p.from_file()) ++in_flight_items_;
        send_on_pool();
        return;
      }
      n = i;  // memory PDUs before it go first, with one gather write
      break;
    }
  }
  std::vector<asio::const_buffer> bufs;
  bufs.reserve(n * 3);
  for (std::size_t i = 0; i < n; ++i) {
    auto& it = wq_[i];
    bufs.emplace_back(it.f.head.data(), it.f.head_len);
    if (it.p.length) bufs.emplace_back(it.p.data().data(), it.p.length);
    if (it.f.tail_len) bufs.emplace_back(it.f.tail.data(), it.f.tail_len);
  }
  in_flight_items_ = n;
  asio::async_write(sock_, bufs,
                    [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                      self->writing_ = false;
                      if (self->phase_ == phase::closed) return;
                      if (ec) {
                        self->close(ec.message());
                        return;
                      }
                      self->wrote(self->in_flight_items_);
                    });
}

void connection::send_on_pool() {
  std::vector<file_piece> pieces;
  pieces.reserve(in_flight_items_);
  for (std::size_t i = 0; i < in_flight_items_; ++i)
    pieces.push_back(file_piece::of(wq_[i].p, wq_[i].f));
  pool_sending_ = true;
  owner_.pool().submit(
      [sock = sock_.native_handle(), pieces = std::move(pieces), pos = file_pos_] {
        return send_pieces(sock, pieces, pos);
      },
      [self = shared_from_this()](file_progress p) {
        self->pool_sending_ = false;
        if (self->phase_ == phase::closed) {
          boost::system::error_code ec;
          self->sock_.close(ec);  // deferred by close() while the pool used the descriptor
          self->writing_ = false;
          return;
        }
        if (p.err) {
          self->writing_ = false;
          self->close(std::string("send: ") + std::strerror(p.err));
          return;
        }
        std::size_t total = self->in_flight_items_;
        self->file_pos_ = p.pos;
        if (p.items < total) {
          // The socket is full: pop what went out, wait until it drains, go on from there.
          self->in_flight_items_ = total - p.items;
          if (p.items) self->wrote_partial(p.items);
          self->sock_.async_wait(asio::socket_base::wait_write,
                                 [self](const boost::system::error_code& ec) {
                                   if (self->phase_ == phase::closed) {
                                     self->writing_ = false;
                                     return;
                                   }
                                   if (ec) {
                                     self->writing_ = false;
                                     self->close(ec.message());
                                     return;
                                   }
                                   self->send_on_pool();
                                 });
          return;
        }
        self->writing_ = false;
        self->wrote(total);
      });
}

void connection::wrote_partial(std::size_t items) {
  for (std::size_t i = 0; i < items; ++i) {
    auto& it = wq_.front();
    const std::size_t n = it.f.head_len + it.p.length + it.f.tail_len;
    wq_bytes_ -= n;
    owner_.output_changed(-static_cast<std::ptrdiff_t>(n));
    wq_.pop_front();
  }
}

void connection::wrote(std::size_t items) {
  wrote_partial(items);
  in_flight_items_ = 0;
  if (wq_.empty() && phase_ == phase::draining) {
    close("session ended");
    return;
  }
  if (paused_ && wq_bytes_ < queue_low) {
    paused_ = false;
    do_read();
  }
  // Output went out: READs held by the budget may start, the window may advance.
  if (session_ && phase_ == phase::full_feature) session_->output_drained();
  do_write();
}

}  // namespace diskless::iscsi
