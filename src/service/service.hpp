#pragma once
// The service contract (src/service/README.md). Each protocol (DHCP, TFTP, iSCSI, HTTP, IPv6 RA)
// is a service that `serve` builds once at start and then drives through this interface. All
// calls happen on the loop thread. Services must not block the loop: file and disk work goes to
// the io_pool.
#include <memory>
#include <string_view>

#include "inventory/model.hpp"
#include "service/events.hpp"
#include "util/result.hpp"

namespace boost::asio {
class io_context;
}

namespace diskless {
class io_pool;
}

namespace diskless::svc {

class service {
 public:
  virtual ~service() = default;
  virtual std::string_view name() const = 0;
  // Opens sockets. An error here (port in use, no permission) stops `serve` with the message.
  virtual result<void> start() = 0;
  // Closes sockets, ends sessions and flushes state (leases, overlays). Called once.
  virtual void stop() = 0;
  // A new valid inventory is in force. Sessions of unchanged hosts must survive.
  virtual void apply(const inventory::inventory_ptr& inv) = 0;
};

// What every service is built from.
struct context {
  boost::asio::io_context& io;
  io_pool& pool;
  inventory::inventory_ptr inventory;  // the inventory in force at start
  // Where boot events go (service/events.hpp); may be empty. Called on the loop thread only.
  event_sink events;
};

}  // namespace diskless::svc
