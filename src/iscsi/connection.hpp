#pragma once
// One TCP connection from an initiator: reads bytes into the framer, drives the login machine and
// then the session, and writes PDUs with gather writes from a bounded queue. A connection whose
// peer does not read stops being read from (its queue is full) but never blocks the loop or other
// connections.
#include <array>
#include <chrono>
#include <deque>
#include <memory>
#include <string>

#include "iscsi/login.hpp"
#include "iscsi/lun_provider.hpp"
#include "iscsi/pdu.hpp"
#include "iscsi/session.hpp"
#include "service/events.hpp"
#include "util/asio.hpp"
#include "util/io_pool.hpp"
#include "util/secret.hpp"

namespace diskless::iscsi {

class connection;

// What a connection needs from the server.
class connection_owner {
 public:
  virtual ~connection_owner() = default;
  virtual inventory::inventory_ptr current_inventory() = 0;
  // chap-secret="auto" secrets (null: none are made, such hosts cannot log in).
  virtual std::shared_ptr<const per_boot_secrets> auto_secrets() = 0;
  // Where file-backed Data-In is sent from (sendfile may wait for the disk).
  virtual io_pool& pool() = 0;
  virtual std::string portal_for(const asio::ip::tcp::endpoint& local) = 0;
  virtual std::uint16_t new_tsih() = 0;
  // A normal session's login is complete: reinstate (end an older session with the same
  // initiator name + ISID) and get the host's logical unit.
  virtual void attach(const std::shared_ptr<connection>& c,
                      unique_function<void(result<lu_ptr>)> done) = 0;
  // The connection is gone (called once).
  virtual void detach(connection* c) = 0;
  // Bytes queued for sending changed by `delta` (the server bounds the total).
  virtual void output_changed(std::ptrdiff_t delta) = 0;
  // The server's queued output is over its budget: sessions with output queued stall.
  virtual bool output_over_budget() const = 0;
  // A login from `source` (an address) failed authentication.
  virtual void auth_failed(const std::string& source) = 0;
  // A boot event (service/events.hpp): logins, logouts, I/O tallies. Ignored by default.
  virtual void boot_event(const svc::event& /*e*/) {}
};

class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(asio::ip::tcp::socket sock, connection_owner& owner);
  ~connection();
  void start();
  // Ends the connection now (no more reads or writes); idempotent.
  void close(std::string_view why);
  // Re-points the session at a new inventory (the same host still exists there).
  void rebind(inventory::inventory_ptr inv, const inventory::host* h);

  bool full_feature() const { return session_ != nullptr; }
  const inventory::host* host() const { return host_; }
  const std::string& initiator_name() const { return initiator_; }
  const std::string& address() const { return address_; }  // the peer's, without port
  const std::array<std::byte, 6>& isid() const { return isid_; }
  scsi::nexus_id nexus() const { return nexus_; }
  bool reinstated = false;  // replaced by a newer login: the nexus lives on
  bool attached = false;    // counted in its host's sessions

 private:
  struct write_item {
    out_pdu p;
    wire_frame f;
  };
  void do_read();
  void on_read(std::size_t n);
  bool process(byte_span& in);
  bool handle(pdu p, bool digest_failed);
  void login_complete(login_machine::step s);
  void send(out_pdu p);
  void do_write();
  // Sends queue items [0, in_flight_items_) from byte file_pos_ of the first, with send() and
  // sendfile() on a pool thread (file-backed Data-In); continues on the loop.
  void send_on_pool();
  void wrote(std::size_t items);          // items sent: pop them, resume reading, write more
  void wrote_partial(std::size_t items);  // only pop them
  void arm_timer();
  // Counts a SCSI command's expected transfer (RFC 7143 §11.3: R/W flags and Expected Data
  // Transfer Length) for the I/O tally.
  void count_io(const pdu& p);
  // Sends the bytes counted since the last tally as an iscsi_io event (when any).
  void send_tally();
  void emit(svc::event_kind k, std::string detail);
  void on_tick(std::chrono::seconds ping_after);

  asio::ip::tcp::socket sock_;
  asio::steady_timer timer_;
  connection_owner& owner_;
  bytes rbuf_;
  bytes stash_;  // bytes received while the login waits for the disk
  framer framer_;
  std::unique_ptr<login_machine> login_;
  std::unique_ptr<session> session_;
  inventory::inventory_ptr inv_;
  const inventory::host* host_ = nullptr;
  std::string initiator_;
  std::array<std::byte, 6> isid_{};
  scsi::nexus_id nexus_ = 0;
  bool digests_h_ = false, digests_d_ = false;
  std::deque<write_item> wq_;
  std::size_t wq_bytes_ = 0;
  std::size_t in_flight_items_ = 0;
  std::size_t file_pos_ = 0;   // bytes of wq_.front() already sent by send_on_pool
  bool pool_sending_ = false;  // a pool thread uses the socket: close() must not close its fd
  // Where the connection is in its life (RFC 7143 §6: login, then full feature phase); draining:
  // the session or login has ended, queued output goes out, then the connection closes.
  enum class phase { login, waiting_for_disk, full_feature, draining, closed };
  phase phase_ = phase::login;
  // Transfers in progress (independent of the phase).
  bool writing_ = false, reading_ = false, paused_ = false;
  std::chrono::steady_clock::time_point last_rx_, started_;
  std::chrono::steady_clock::time_point last_heard_;  // last bytes received (pings do not count)
  std::string peer_;
  std::string address_;                               // peer_ without the port
  std::uint64_t tally_read_ = 0, tally_written_ = 0;  // bytes since the last tally
  bool first_data_ = true;  // the first data command is tallied at once (the boot's first READ)
};

}  // namespace diskless::iscsi
