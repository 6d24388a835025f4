#pragma once
// IPv6 Neighbor Discovery, router side, just enough to answer Router Solicitations
// (RFC 4861). Why a DHCPv4 server does this: iPXE configures IPv6 beside DHCPv4 and waits for a
// Router Advertisement (about 13 s) before it goes on when no router answers. We advertise a
// router that is no default router (lifetime 0), with no prefix and the M/O flags clear, so hosts
// learn nothing from us except that the link has been answered.
//
// Sans-I/O: the codec works on ICMPv6 messages (no IPv6 header; the kernel's raw ICMPv6 socket
// strips it and computes checksums, RFC 3542 §3.1), the scheduler decides when to send what. The
// socket lives in ra/server.cpp.
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "util/bytes.hpp"
#include "util/net.hpp"
#include "util/result.hpp"

namespace diskless::ra::ndp {

using ipv6_address = std::array<std::uint8_t, 16>;

inline constexpr std::uint8_t type_router_solicitation = 133;   // RFC 4861 §4.1
inline constexpr std::uint8_t type_router_advertisement = 134;  // RFC 4861 §4.2
inline constexpr std::uint8_t option_source_lla = 1;            // RFC 4861 §4.6.1
inline constexpr std::uint8_t option_mtu = 5;                   // RFC 4861 §4.6.4

inline constexpr ipv6_address all_nodes{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
inline constexpr ipv6_address all_routers{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
inline constexpr ipv6_address unspecified{};

bool is_link_local(const ipv6_address& a);     // fe80::/10
std::string to_string(const ipv6_address& a);  // RFC 5952 text form

// A received Router Solicitation that passed the checks of RFC 4861 §6.1.1.
struct router_solicitation {
  std::optional<mac_address> source_lla;  // the Source Link-Layer Address option, if present
};

// Validates an RS (RFC 4861 §6.1.1): IP hop limit 255 (from IPV6_HOPLIMIT; a router further
// away could have forged it), ICMP code 0, at least 8 octets, every option with a length > 0
// that stays inside the message, and no Source Link-Layer Address option when the IP source is
// the unspecified address. A link-layer option whose length is not one 8-octet unit (Ethernet,
// RFC 2464 §6) is skipped, as are unknown options (§4.6). The checksum is the kernel's job.
result<router_solicitation> parse_solicitation(byte_span icmp, int hop_limit,
                                               const ipv6_address& source);

// What we advertise (RFC 4861 §4.2). The defaults are the "not a router" answer described above.
struct advertisement {
  std::uint8_t cur_hop_limit = 0;         // 0: unspecified
  bool managed = false;                   // M: addresses by DHCPv6
  bool other = false;                     // O: other configuration by DHCPv6
  std::uint16_t router_lifetime = 0;      // seconds; 0: not a default router (§6.2.5 semantics)
  std::uint32_t reachable_time = 0;       // ms; 0: unspecified
  std::uint32_t retrans_timer = 0;        // ms; 0: unspecified
  std::optional<mac_address> source_lla;  // our MAC (§6.2.3: SHOULD be included)
  std::uint32_t mtu = 0;                  // 0: no MTU option
};

// The ICMPv6 message with a zero checksum (the kernel fills it in on a raw ICMPv6 socket).
bytes build_advertisement(const advertisement& a);

// The reverse, for tests and tools: the fields of an RA (type 134, code 0, >= 16 octets, options
// well formed). Options other than source link-layer address and MTU are skipped.
result<advertisement> parse_advertisement(byte_span icmp);

// The ICMPv6 checksum over the RFC 8200 §8.1 pseudo-header (with the checksum field taken as
// zero), and the same written into a message's checksum field.
std::uint16_t checksum(const ipv6_address& src, const ipv6_address& dst, byte_span icmp);
void set_checksum(bytes& icmp, const ipv6_address& src, const ipv6_address& dst);

// When to send. RFC 4861 §6.2.4 (unsolicited: the first MAX_INITIAL_RTR_ADVERTISEMENTS at most
// MAX_INITIAL_RTR_ADVERT_INTERVAL apart, then every MinRtrAdvInterval..MaxRtrAdvInterval) and
// §6.2.6 (solicited: after a random 0..MAX_RA_DELAY_TIME, to the all-nodes group, at most once
// per MIN_DELAY_BETWEEN_RAS). When the rate limit would hold the answer back, a host with a
// specified source address is answered by unicast instead, which §6.2.6 allows. Multicast is
// preferred: a unicast RA first needs the kernel's neighbor solicitation answered, and iPXE in
// the middle of DHCP took ~0.8 s to answer one (measured).
class scheduler {
 public:
  using clock = std::chrono::steady_clock;
  using duration = std::chrono::milliseconds;
  // random(max): a uniformly random duration in [0, max].
  using random_fn = std::function<duration(duration)>;

  static constexpr duration max_initial_interval{16'000};
  static constexpr int max_initial_advertisements = 3;
  static constexpr duration max_ra_delay{500};
  static constexpr duration min_delay_between_ras{3'000};
  static constexpr duration max_interval{600'000};        // MaxRtrAdvInterval default
  static constexpr duration min_interval{200'000};        // MinRtrAdvInterval: 0.33 * Max
  static constexpr std::size_t max_pending_unicast = 64;  // beyond: folded into a multicast

  explicit scheduler(random_fn random);

  // The interface starts advertising: the first unsolicited RA goes out at once.
  void start(clock::time_point now);
  // A valid RS from `source` (unspecified = ::).
  void solicited(clock::time_point now, const ipv6_address& source);
  // The destinations due by `now` (all_nodes and/or unicast addresses), in order; records them
  // as sent and plans the next unsolicited one.
  std::vector<ipv6_address> due(clock::time_point now);
  // Sending to `to` failed for now (the interface's link-local address is still tentative, in
  // duplicate address detection): try again after retry_delay.
  void retry(clock::time_point now, const ipv6_address& to);
  static constexpr duration retry_delay{250};
  // When due() next has something (clock::time_point::max() when stopped).
  clock::time_point next() const;

 private:
  void plan_multicast(clock::time_point at);

  random_fn random_;
  bool started_ = false;
  int initial_sent_ = 0;
  clock::time_point next_multicast_ = clock::time_point::max();
  std::optional<clock::time_point> last_multicast_;
  struct pending {
    ipv6_address to;
    clock::time_point at;
  };
  std::vector<pending> unicast_;
};

}  // namespace diskless::ra::ndp
