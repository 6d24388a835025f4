#pragma once
// The admin listener's contract (src/api/README.md): the HTTP service, started a second time on
// the <api> address, hands every request with its body to an api_handler and carries out the
// answer: a JSON (or page) response, or a server-sent event stream (text/event-stream, WHATWG
// HTML §9.2). No Asio here: handlers are sans-I/O and unit tested with strings.
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "http/route.hpp"
#include "inventory/model.hpp"

namespace diskless::http {

// Bodies larger than this are refused with 413 before the handler sees them.
inline constexpr std::size_t max_api_body = 64 * 1024;

struct api_request {
  std::string method, target;
  std::string authorization;  // the Authorization header as sent
  std::string content_type;
  std::string body;
  bool body_too_large = false;  // the body was over max_api_body and was not read
  requester from;
};

// Events queued for one client of an event stream. Bounded: a push onto a full queue marks the
// stream dropped (the client reads too slowly) and the connection closes it.
class event_stream {
 public:
  explicit event_stream(std::size_t max_queued) : max_(max_queued) {}

  // false when the stream is (now) dropped or closed.
  bool push(std::string chunk) {
    if (dropped_ || closed_) return false;
    if (queue_.size() >= max_) {
      dropped_ = true;
      queue_.clear();
    } else {
      queue_.push_back(std::move(chunk));
    }
    if (wake_) wake_();
    return !dropped_;
  }
  bool take(std::string& out) {
    if (queue_.empty()) return false;
    out = std::move(queue_.front());
    queue_.pop_front();
    return true;
  }
  bool dropped() const { return dropped_; }
  bool closed() const { return closed_; }
  void close() { closed_ = true; }
  // Called (on the loop) after each push; the connection sets it to resume writing.
  void on_push(std::function<void()> f) { wake_ = std::move(f); }

 private:
  std::size_t max_;
  std::deque<std::string> queue_;
  std::function<void()> wake_;
  bool dropped_ = false, closed_ = false;
};

struct api_response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Set: the answer is an event stream; body is ignored and the connection stays open.
  std::shared_ptr<event_stream> stream;
};

class api_handler {
 public:
  using reply_fn = std::function<void(api_response)>;
  virtual ~api_handler() = default;
  // Called on the loop; done may be called later (after work on the io_pool), on the loop.
  virtual void handle(api_request req, reply_fn done) = 0;
  // A new inventory is in force.
  virtual void apply(const inventory::inventory_ptr& inv) = 0;
};

}  // namespace diskless::http
