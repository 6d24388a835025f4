#pragma once
// What the HTTP service answers, decided without sockets: method + target + Range header +
// inventory → a response plan. The server (server.cpp) only carries the plan out.
//
// Routes:
//   GET|HEAD /boot/<mac-with-dashes>.ipxe      the host's rendered iPXE script (boot::lookup)
//   GET|HEAD /images/<image>/vmlinuz|initrd    the image's kernel / initrd, with Range (RFC 9110
//   §14) GET /status                                JSON: the inventory's hosts and images GET
//   /metrics                               Prometheus text format: counters of this service
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "boot/templates.hpp"
#include "inventory/model.hpp"

namespace diskless::http {

struct byte_range {
  std::uint64_t first = 0, last = 0;  // inclusive
};

// Parses a Range header value for a resource of `size` bytes (RFC 9110 §14.1.2): a single
// "bytes=a-b", "bytes=a-" or "bytes=-n". nullopt: no usable single range (then the whole file is
// sent, as RFC 9110 allows ignoring Range); `unsatisfiable` is set when the range starts past the
// end (416).
std::optional<byte_range> parse_range(std::string_view header, std::uint64_t size,
                                      bool& unsatisfiable);

struct counters {
  std::uint64_t requests = 0, not_found = 0, errors = 0, bytes_sent = 0, scripts = 0, files = 0;
};

struct plan {
  unsigned status = 200;
  std::string content_type = "text/plain";
  std::string body;            // when file is empty
  std::filesystem::path file;  // a file to send (size and range resolved by the server)
};

// Decides the answer for a request. Never throws.
plan route(std::string_view method, std::string_view target, const inventory::inventory& inv,
           const boot::template_set& templates, const counters& stats);

}  // namespace diskless::http
