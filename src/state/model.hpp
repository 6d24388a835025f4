#pragma once
// The live state of every PC (src/state/README.md): fed the services' boot events
// (service/events.hpp) on the loop thread, read by the API. No I/O, no Asio, no clock of its own:
// every input carries its time. Memory is bounded whatever arrives: per-host state exists only
// for inventory hosts, a boot keeps at most limits::steps steps and limits::errors errors, a host
// at most limits::boots finished boots, and unknown MACs and leases are capped tables that drop
// the least recently seen entry.
#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "inventory/model.hpp"
#include "service/events.hpp"
#include "util/net.hpp"

namespace diskless::state {

using clock = std::chrono::system_clock;
using time_point = clock::time_point;

// Where a PC's boot is, in the order a boot goes through them; failed stands outside the order.
enum class phase : std::uint8_t { off, dhcp, loader, script, kernel, iscsi, os, failed };
std::string_view to_string(phase p);

struct step {
  std::string name;  // discover, offer, request, ack, loader, script, kernel, initrd, file,
                     // iscsi-login, first-read, os-takeover, iscsi-logout, error
  time_point at;
  std::string detail;  // address, file name, initiator, reason
};

struct boot_record {
  std::uint64_t id = 0;  // numbers boots across all hosts, from 1
  time_point started, updated;
  std::optional<time_point> finished;  // the OS took over, or the boot failed
  phase current = phase::dhcp;
  std::optional<ipv4_address> address;
  std::uint16_t arch = 0;           // RFC 4578 §2.1 (0 = BIOS)
  bool ipxe = false;                // iPXE asked (it got its script)
  std::vector<step> steps;          // oldest first, at most limits::steps (later ones dropped)
  std::vector<std::string> errors;  // at most limits::errors
  std::string boot_initiator, os_initiator;
  std::uint64_t bytes_read = 0, bytes_written = 0;
  bool first_read = false;
  // "running", "os" (the OS took over), "failed", or "superseded" (a new boot began first).
  std::string outcome = "running";
};

struct host_state {
  std::string name;
  mac_address mac;
  std::optional<boot_record> current;
  std::deque<boot_record> history;  // finished boots, newest first
  unsigned sessions = 0;            // live iSCSI sessions
  std::optional<ipv4_address> address;
  std::optional<time_point> last_seen;
  std::string last_error;
  std::string method;  // the inventory's boot method (for the duration histogram)
  std::uint64_t total_read = 0, total_written = 0;  // over every boot since start
};

struct unknown_pc {
  mac_address mac;
  std::uint16_t arch = 0;
  std::string vendor_class, uuid;  // DHCP options 60 and 97 (hex)
  time_point first_seen, last_seen;
  std::uint64_t count = 0;  // DHCP packets seen
};

struct lease_seen {
  mac_address mac;
  ipv4_address address;
  std::string host;  // empty for an unknown MAC
  time_point at;     // the last ACK
};

struct limits {
  std::size_t boots = 10;     // finished boots kept per host
  std::size_t steps = 48;     // steps kept per boot
  std::size_t errors = 8;     // errors kept per boot
  std::size_t unknown = 256;  // unknown MACs
  std::size_t leases = 4096;  // addresses acked
};

// Counters since start, for /metrics. Every label comes from a fixed set (DHCP message types,
// boot file kinds, outcomes, boot methods), so they stay small.
struct totals {
  std::map<std::pair<std::string, std::string>, std::uint64_t> dhcp;   // (request, reply)
  std::map<std::pair<std::string, std::string>, std::uint64_t> files;  // (via, kind)
  std::map<std::string, std::uint64_t> logins;                         // ok, refused
  std::map<std::string, std::uint64_t> boots;                          // finished boots by outcome
  std::uint64_t bytes_read = 0, bytes_written = 0;
  // Seconds from the firmware's DISCOVER to the OS takeover, by boot method (le = bucket bound).
  static constexpr std::array<double, 9> bounds{5, 10, 20, 30, 60, 120, 300, 600, 1800};
  struct histogram {
    std::array<std::uint64_t, bounds.size()> buckets{};  // cumulative
    std::uint64_t count = 0;
    double sum = 0;
  };
  std::map<std::string, histogram> boot_seconds;
};

// One change for the live event stream (the API turns it into a server-sent event).
struct change {
  enum class kind : std::uint8_t { step, unknown, sessions } what = kind::step;
  std::string host;  // empty for an unknown MAC
  mac_address mac;
  phase current = phase::off;
  step last;  // kind::step: the step just recorded
};

class model {
 public:
  explicit model(limits l = {}) : limits_(l) {}

  // A new inventory is in force: hosts added get an empty state, removed ones lose theirs, kept
  // ones (by name) keep it; a MAC that became a host leaves the unknown list.
  void apply(const inventory::inventory& inv);

  // Records an event; returns what the live stream should show (empty when nothing).
  std::vector<change> on_event(const svc::event& e, time_point now);

  const std::map<std::string, host_state, std::less<>>& hosts() const { return hosts_; }
  const host_state* find(std::string_view name) const;
  // Newest first.
  std::vector<unknown_pc> unknown() const;
  std::vector<lease_seen> leases() const;
  std::size_t unknown_count() const { return unknown_.size(); }
  std::size_t lease_count() const { return leases_.size(); }
  const unknown_pc* find_unknown(const mac_address& mac) const {
    auto it = unknown_.find(mac);
    return it == unknown_.end() ? nullptr : &it->second;
  }
  const limits& bounds() const { return limits_; }
  const totals& counted() const { return totals_; }

 private:
  host_state* by_mac(const mac_address& mac);
  host_state* by_address(ipv4_address a);
  void on_dhcp(const svc::event& e, time_point now, std::vector<change>& out);
  void set_address(host_state& h, ipv4_address a);
  void on_file(const svc::event& e, time_point now, std::vector<change>& out);
  void on_iscsi(const svc::event& e, time_point now, std::vector<change>& out);
  void see_unknown(const svc::event& e, time_point now, std::vector<change>& out);
  void see_lease(const svc::event& e, const std::string& host, time_point now);
  boot_record& begin_boot(host_state& h, time_point now);
  boot_record& ensure_boot(host_state& h, time_point now);
  void add_step(host_state& h, boot_record& b, step s, std::vector<change>& out);
  void add_error(host_state& h, boot_record& b, const std::string& what);
  static void advance(boot_record& b, phase p);
  void finish(host_state& h, boot_record& b, phase p, time_point now);

  limits limits_;
  std::map<std::string, host_state, std::less<>> hosts_;
  std::map<mac_address, std::string> mac_to_name_;
  std::map<ipv4_address, std::string> address_to_name_;
  std::map<mac_address, unknown_pc> unknown_;
  std::map<mac_address, lease_seen> leases_;
  std::uint64_t next_boot_id_ = 1;
  totals totals_;
};

}  // namespace diskless::state
