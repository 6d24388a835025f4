#include "http/route.hpp"

#include <fmt/format.h>

#include <charconv>

#include "boot/script.hpp"
#include "util/log.hpp"

namespace diskless::http {

namespace {

std::optional<std::uint64_t> number(std::string_view s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::string json_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
      continue;
    }
    out += c;
  }
  return out;
}

plan status_json(const inventory::inventory& inv) {
  std::string hosts, images;
  for (const auto& h : inv.hosts) {
    hosts += fmt::format(
        "{}{{\"name\":\"{}\",\"mac\":\"{}\",\"image\":\"{}\",\"boot\":\"{}\",\"overlay\":\"{}\","
        "\"target\":\"{}\",\"script\":\"/{}\"}}",
        hosts.empty() ? "" : ",", json_escape(h.name), h.mac.str(), json_escape(h.image),
        inventory::to_string(h.boot), inventory::to_string(h.overlay),
        json_escape(inv.target_iqn(h)), boot::script_path(h.mac));
  }
  for (const auto& i : inv.images) {
    images += fmt::format("{}{{\"name\":\"{}\",\"disk\":{},\"kernel\":{}}}",
                          images.empty() ? "" : ",", json_escape(i.name),
                          i.has_disk() ? "true" : "false", i.has_kernel() ? "true" : "false");
  }
  return plan{200,
              "application/json",
              fmt::format("{{\"server\":\"{}\",\"hosts\":[{}],\"images\":[{}]}}\n",
                          inv.server.address ? inv.server.address->str() : "", hosts, images),
              {},
              {},
              {}};
}

plan metrics(const inventory::inventory& inv, const counters& c) {
  // Prometheus text exposition format 0.0.4.
  return plan{200,
              "text/plain; version=0.0.4",
              fmt::format("# TYPE diskless_hosts gauge\ndiskless_hosts {}\n"
                          "# TYPE diskless_images gauge\ndiskless_images {}\n"
                          "# TYPE diskless_http_requests_total counter\n"
                          "diskless_http_requests_total {}\n"
                          "# TYPE diskless_http_not_found_total counter\n"
                          "diskless_http_not_found_total {}\n"
                          "# TYPE diskless_http_errors_total counter\n"
                          "diskless_http_errors_total {}\n"
                          "# TYPE diskless_http_scripts_total counter\n"
                          "diskless_http_scripts_total {}\n"
                          "# TYPE diskless_http_files_total counter\n"
                          "diskless_http_files_total {}\n"
                          "# TYPE diskless_http_sent_bytes_total counter\n"
                          "diskless_http_sent_bytes_total {}\n",
                          inv.hosts.size(), inv.images.size(), c.requests, c.not_found, c.errors,
                          c.scripts, c.files, c.bytes_sent),
              {},
              {},
              {}};
}

}  // namespace

std::optional<byte_range> parse_range(std::string_view header, std::uint64_t size,
                                      bool& unsatisfiable) {
  unsatisfiable = false;
  constexpr std::string_view unit = "bytes=";
  if (!header.starts_with(unit)) return std::nullopt;
  auto spec = header.substr(unit.size());
  if (spec.find(',') != std::string_view::npos) return std::nullopt;  // multipart: send it all
  auto dash = spec.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto a = spec.substr(0, dash), b = spec.substr(dash + 1);
  if (a.empty()) {  // suffix: the last n bytes
    auto n = number(b);
    if (!n) return std::nullopt;
    if (*n == 0 || size == 0) {
      unsatisfiable = true;
      return std::nullopt;
    }
    return byte_range{size - std::min(*n, size), size - 1};
  }
  auto first = number(a);
  if (!first) return std::nullopt;
  std::optional<std::uint64_t> last =
      b.empty() ? std::optional<std::uint64_t>(size - 1) : number(b);
  if (!last || (!b.empty() && *last < *first)) return std::nullopt;  // invalid: ignored
  if (*first >= size) {                                              // valid but past the end: 416
    unsatisfiable = true;
    return std::nullopt;
  }
  return byte_range{*first, std::min(*last, size - 1)};
}

plan route(std::string_view method, std::string_view target, const boot::catalog& files,
           const counters& stats, const requester& from) {
  if (method != "GET" && method != "HEAD")
    return plan{405, "text/plain", "method not allowed\n", {}, {}, {}};
  const auto& inv = files.inventory();
  auto q = target.find('?');
  auto path = target.substr(0, q);
  if (path == "/status" || path == "/metrics") {
    if (!from.local) {
      log::http().debug("{} refused: not requested from the server itself", path);
      return plan{403, "text/plain", "forbidden: ask from the server machine itself\n", {}, {}, {}};
    }
    return path == "/status" ? status_json(inv) : metrics(inv, stats);
  }
  const plan not_found{404, "text/plain", "not found\n", {}, {}, {}};
  if (path.find("..") != std::string_view::npos || path.find('%') != std::string_view::npos)
    return not_found;  // only our own names are served
  auto r = files.find(path, boot::via::http, from, method == "GET");
  if (!r) {
    log::http().error("{}: {}", path, r.error_message());
    return plan{500, "text/plain", "broken boot template: " + r.error_message() + "\n", {}, {}, {}};
  }
  if (!*r) return not_found;
  auto& f = **r;
  if (f.refused)  // the catalog logged why
    return plan{403, "text/plain", "forbidden: a boot script goes to its own PC only\n",
                {},  {},           {}};
  if (f.script) return plan{200, "text/plain", *f.content, {}, {}, true};
  return plan{200, "application/octet-stream", {}, std::move(f.content), std::move(f.disk), false};
}

}  // namespace diskless::http
