#pragma once
// What the HTTP service answers, decided without sockets: method + target + Range header +
// inventory → a response plan. The server (server.cpp) only carries the plan out.
//
// Routes:
//   GET|HEAD <a boot catalog name>   what boot::catalog::find answers for HTTP: the host's
//                                    rendered script (to that host only, else 403), an image's
//                                    kernel / initrd, an EFI iPXE
//                                    loader (boot/catalog.hpp lists the names); files with
//                                    Range (RFC 9110 §14)
//   GET /status                      JSON: the inventory's hosts and images   } only to the server
//   GET /metrics                     Prometheus text format: counters         } machine itself,
//                                                                              403 to anyone else
// route() does no I/O: a file on disk is opened by the server on its io_pool.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "boot/catalog.hpp"
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
  std::string body;  // when neither of the two below is set
  // A file to send, with Range (size and range resolved by the server): in memory, or on disk.
  std::shared_ptr<const std::string> content;
  std::optional<boot::disk_file> disk;
  bool script = false;  // body is a host's boot script
};

// Who sends the request (boot/catalog.hpp). `local`: the server machine itself (loopback, or
// the socket's own local address): only then are inventory-wide pages (/status, /metrics)
// served. The boot listener is on the boot LAN, where any PC can connect; hosts and MACs stay
// off it. A host's script goes only to that host (403 to anyone else, the server included).
using requester = boot::requester;

// Decides the answer for a request (a GET of a script counts as its fetch, boot/catalog.hpp).
// Never throws.
plan route(std::string_view method, std::string_view target, const boot::catalog& files,
           const counters& stats, const requester& from);

}  // namespace diskless::http
