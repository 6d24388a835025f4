// Request routing, authentication and the read-only routes of the API (handler.hpp). Writes are
// in writes.cpp.
#include <sys/stat.h>

#include <boost/json/serialize.hpp>

#include "api/handler.hpp"
#include "api/token.hpp"
#include "api/views.hpp"
#include "api/web.hpp"
#include "disks/overlay.hpp"
#include "util/bytes.hpp"

namespace diskless::api {

namespace json = boost::json;

http::api_response json_error(unsigned status, std::string message,
                              std::vector<std::string> problems) {
  json::object o{{"error", message}};
  if (!problems.empty()) {
    json::array a;
    for (auto& p : problems) a.push_back(json::string(p));
    o["problems"] = std::move(a);
  }
  http::api_response r{status, "application/json", json::serialize(o) + "\n", {}, nullptr};
  if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"diskless\"");
  return r;
}

namespace {

http::api_response ok(const json::value& v, unsigned status = 200) {
  return {status, "application/json", json::serialize(v) + "\n", {}, nullptr};
}

}  // namespace

std::optional<std::vector<std::string>> split_path(std::string_view target) {
  target = target.substr(0, target.find_first_of("?#"));
  std::vector<std::string> out;
  std::string cur;
  for (std::size_t i = 0; i < target.size(); ++i) {
    char c = target[i];
    if (c == '/') {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
      continue;
    }
    if (c == '%') {  // RFC 3986 §2.1: two hex digits (from_hex skips ':' and blanks: refused)
      if (i + 2 >= target.size()) return std::nullopt;
      auto two = target.substr(i + 1, 2);
      auto b = from_hex(two);
      if (b.size() != 1 || two.find_first_of(": \t\r\n") != std::string_view::npos ||
          b[0] == std::byte{0})
        return std::nullopt;
      c = static_cast<char>(b[0]);
      i += 2;
    }
    cur += c;
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

handler::handler(settings s, io_pool& pool, inventory::inventory_ptr inv)
    : s_(std::move(s)), pool_(pool), inv_(std::move(inv)) {}

void handler::handle(http::api_request req, reply_fn done) {
  if (req.body_too_large)
    return done(
        json_error(413, "the body is over " + std::to_string(http::max_api_body) + " bytes"));
  auto path = split_path(req.target);
  if (!path) return done(json_error(400, "bad %-escape in the path"));
  const bool read = req.method == "GET" || req.method == "HEAD";
  // The dashboard's files need no token: they hold no data (the page asks for the token).
  if (read && (path->empty() || (*path)[0] == "ui")) {
    auto page = web_asset(path->empty() ? "index.html" : path->size() == 2 ? (*path)[1] : "");
    if (!page) return done(json_error(404, "no such page"));
    return done({200, std::string(page->content_type), std::string(page->body), {}, nullptr});
  }
  const bool metrics = path->size() == 1 && (*path)[0] == "metrics";
  if (!metrics && (path->size() < 2 || (*path)[0] != "api" || (*path)[1] != "v1"))
    return done(json_error(404, "no such route; the API is under /api/v1/"));
  const bool open = read && inv_->server.api.open_reads;
  if (!open && !bearer_matches(req.authorization, s_.token))
    return done(json_error(401,
                           "missing or wrong bearer token (Authorization: Bearer TOKEN; "
                           "the token is in the file named by <api token-file>)"));
  if (metrics) {
    if (!read) return done(json_error(405, "GET only"));
    return done(
        {200,
         "text/plain; version=0.0.4; charset=utf-8",
         req.method == "HEAD" ? std::string() : metrics_text(*inv_, *s_.live, s_.version, reload_),
         {},
         nullptr});
  }
  path->erase(path->begin(), path->begin() + 2);
  if (read) {
    auto answer = [this, req, done](const segments& p, const overlay_sizes& sizes = {}) {
      auto r = get(p, req, sizes);
      if (req.method == "HEAD" && !r.stream) r.body.clear();
      done(std::move(r));
    };
    if (path->empty() || (*path)[0] != "hosts" || path->size() > 2) return answer(*path);
    // Host pages show each overlay's size on disk: stat() on the io_pool first.
    std::vector<std::pair<std::string, std::filesystem::path>> files;
    for (const auto& h : inv_->hosts) {
      const auto* img = inv_->find_image(h.image);
      if (!disks::has_overlay(h) || !img || img->rbd) continue;  // an RBD clone has no file
      if (path->size() == 1 || inv_->find_host_by_key((*path)[1]) == &h)
        files.emplace_back(h.name, disks::overlay_path(*inv_, h));
    }
    return pool_.submit(
        [files] {
          overlay_sizes sizes;
          for (const auto& [name, file] : files) {
            struct stat st {};
            if (::stat(file.c_str(), &st) == 0)
              sizes[name] = static_cast<std::uint64_t>(st.st_blocks) * 512;
          }
          return sizes;
        },
        [answer, p = *path](overlay_sizes sizes) { answer(p, sizes); });
  }
  write(*path, req, std::move(done));
}

http::api_response handler::get(const segments& path, const http::api_request&,
                                const overlay_sizes& sizes) {
  const auto& inv = *inv_;
  const auto& live = *s_.live;
  if (path.size() == 1 && path[0] == "status") {
    json::object phases;
    std::uint64_t sessions = 0;
    for (const auto& h : inv.hosts) {
      const auto* st = live.find(h.name);
      std::string p =
          st && st->current ? std::string(state::to_string(st->current->current)) : "off";
      phases[p] = phases.contains(p) ? phases[p].as_int64() + 1 : 1;
      if (st) sessions += st->sessions;
    }
    json::object server{{"version", s_.version},
                        {"config", inv.source.string()},
                        {"address", inv.server.address ? inv.server.address->str() : ""},
                        {"dhcp", std::string(inventory::to_string(inv.server.dhcp.mode))}};
    json::object counts{{"hosts", inv.hosts.size()},        {"images", inv.images.size()},
                        {"unknown", live.unknown_count()}, {"sessions", sessions},
                        {"event_clients", streams_.size()}, {"phases", std::move(phases)}};
    return ok(json::object{{"server", std::move(server)}, {"counts", std::move(counts)}});
  }
  if (path.size() == 1 && path[0] == "hosts") {
    json::array a;
    for (const auto& h : inv.hosts) a.push_back(host_json(inv, h, live.find(h.name), false, sizes));
    return ok(a);
  }
  if (path.size() == 2 && path[0] == "hosts") {
    const auto* h = inv.find_host_by_key(path[1]);
    if (!h) return json_error(404, "no host named or with MAC '" + path[1] + "'");
    return ok(host_json(inv, *h, live.find(h->name), true, sizes));
  }
  if (path.size() == 1 && path[0] == "images") {
    json::array a;
    for (const auto& im : inv.images) a.push_back(image_json(im));
    return ok(a);
  }
  if (path.size() == 1 && path[0] == "unknown") {
    json::array a;
    for (const auto& u : live.unknown()) a.push_back(unknown_json(u));
    return ok(a);
  }
  if (path.size() == 1 && path[0] == "leases") {
    json::array a;
    for (const auto& l : live.leases()) a.push_back(lease_json(l));
    return ok(a);
  }
  if (path.size() == 1 && path[0] == "sessions") {
    json::array a;
    for (const auto& [name, st] : live.hosts()) {
      if (st.sessions == 0) continue;
      json::object o{{"host", name}, {"sessions", st.sessions}};
      o["address"] = st.address ? json::value(st.address->str()) : json::value(nullptr);
      if (st.current) {
        o["boot_initiator"] = st.current->boot_initiator;
        o["os_initiator"] = st.current->os_initiator;
        o["bytes_read"] = st.current->bytes_read;
        o["bytes_written"] = st.current->bytes_written;
      }
      a.push_back(std::move(o));
    }
    return ok(a);
  }
  if (path.size() == 1 && path[0] == "events") return subscribe();
  return json_error(path.empty() || (path[0] != "hosts" && path[0] != "unknown") ? 404 : 405,
                    "no such route for GET");
}

// A new stream starts with the retry interval (WHATWG HTML §9.2.6) and a hello event.
http::api_response handler::subscribe() {
  std::erase_if(streams_, [](auto& s) { return s->dropped() || s->closed(); });
  if (streams_.size() >= max_event_clients)
    return json_error(503,
                      "too many event streams open (" + std::to_string(max_event_clients) + ")");
  auto s = std::make_shared<http::event_stream>(max_queued_events);
  s->push("retry: 2000\nevent: hello\ndata: {}\n\n");
  streams_.push_back(s);
  http::api_response r;
  r.stream = std::move(s);
  return r;
}

void handler::publish(const state::change& c) {
  std::erase_if(streams_, [](auto& s) { return s->dropped() || s->closed(); });
  if (streams_.empty()) return;
  auto text = sse_event(c, *s_.live);
  for (auto& s : streams_) s->push(text);
}

}  // namespace diskless::api
