// The API's writes (handler.hpp): host add/replace/patch/remove, adopting an unknown MAC and an
// overlay reset. Inventory edits are those of `diskless host` (inventory/edit.hpp), run on the
// io_pool; an edit that would make the file invalid is refused with 422 and the problems.

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <variant>

#include "api/handler.hpp"
#include "api/wake.hpp"
#include "inventory/edit.hpp"

namespace diskless::api {

namespace json = boost::json;

namespace {

// The attributes of <host> the API (like `diskless host add/set`) writes.
const std::vector<std::string>& host_fields = inventory::host_attribute_names();

struct body_error {
  unsigned status;
  std::string message;
};

// A JSON object of host fields → attributes. Strings, booleans and integers are written as
// their text; null (allow_null: PATCH) removes the attribute. Anything else is a 400.
std::variant<inventory::attributes, body_error> parse_fields(std::string_view body,
                                                             bool allow_null) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return body_error{400, "malformed JSON: " + ec.message()};
  if (!v.is_object()) return body_error{400, "the body must be a JSON object"};
  inventory::attributes out;
  for (const auto& field : host_fields) {  // in the schema's order
    const auto* x = v.as_object().if_contains(field);
    if (!x) continue;
    if (x->is_string())
      out.emplace_back(field, std::string(x->as_string()));
    else if (x->is_bool())
      out.emplace_back(field, x->as_bool() ? "true" : "false");
    else if (x->is_int64())
      out.emplace_back(field, std::to_string(x->as_int64()));
    else if (x->is_null() && allow_null)
      out.emplace_back(field, "");
    else
      return body_error{400, "field '" + field + "' must be a string"};
  }
  for (const auto& kv : v.as_object()) {
    std::string key(kv.key());
    if (std::find(host_fields.begin(), host_fields.end(), key) == host_fields.end())
      return body_error{400, "unknown field '" + key + "'"};
  }
  return out;
}

std::string attr(const inventory::attributes& a, std::string_view key) {
  for (const auto& [k, v] : a)
    if (k == key) return v;
  return {};
}

}  // namespace

void handler::write(const segments& path, const http::api_request& req, reply_fn done) {
  const auto& m = req.method;
  const bool hosts = !path.empty() && path[0] == "hosts";
  if (hosts && path.size() == 3 && path[2] == "wake" && m == "POST") {
    const auto* h = inv_->find_host_by_key(path[1]);
    if (!h) return done(json_error(404, "no host named or with MAC '" + path[1] + "'"));
    return pool_.submit(
        [mac = h->mac, itf = inv_->server.interface] { return send_magic_packet(mac, itf); },
        [done, name = h->name](result<void> r) {
          if (!r) return done(json_error(500, "wake " + name + ": " + r.error_message()));
          json::object o{{"ok", true}, {"message", "magic packet sent to " + name}};
          done({202, "application/json", json::serialize(o) + "\n", {}, nullptr});
        });
  }
  if (hosts && path.size() == 4 && path[2] == "overlay" && path[3] == "reset" && m == "POST") {
    const auto* h = inv_->find_host_by_key(path[1]);
    if (!h) return done(json_error(404, "no host named or with MAC '" + path[1] + "'"));
    return reset_overlay(*h, std::move(done));
  }
  const bool adopt = path.size() == 3 && path[0] == "unknown" && path[2] == "adopt";
  const bool one_host = hosts && path.size() == 2;
  const bool all_hosts = hosts && path.size() == 1;
  if (!(adopt && m == "POST") && !(all_hosts && m == "POST") &&
      !(one_host && (m == "PUT" || m == "PATCH" || m == "DELETE"))) {
    const bool known = adopt || one_host || all_hosts;
    return done(json_error(known ? 405 : 404, known ? "method not allowed here" : "no such route"));
  }
  if (m == "DELETE") {
    std::string key = path[1];
    return edit([key](std::string_view t) { return inventory::remove_host(t, key); }, 200,
                "host " + key + " removed", std::move(done));
  }
  if (!req.content_type.empty() && req.content_type.find("json") == std::string::npos)
    return done(json_error(415, "send application/json"));
  auto parsed = parse_fields(req.body, m == "PATCH");
  if (auto* e = std::get_if<body_error>(&parsed)) return done(json_error(e->status, e->message));
  auto attrs = std::get<inventory::attributes>(std::move(parsed));
  if (adopt) {
    auto mac = mac_address::parse(path[1]);
    if (!mac) return done(json_error(400, "'" + path[1] + "' is not a MAC address"));
    if (!attr(attrs, "mac").empty()) return done(json_error(400, "the MAC is in the path"));
    attrs.insert(attrs.begin(), {"mac", mac->str()});
  }
  if (m == "POST") {
    auto mac = mac_address::parse(attr(attrs, "mac"));
    if (!mac) return done(json_error(422, "field 'mac' must be a MAC address (aa:bb:cc:dd:ee:ff)"));
    if (attr(attrs, "name").empty()) attrs.insert(attrs.begin() + 1, {"name", mac->dashed()});
    std::string name = attr(attrs, "name");
    return edit([attrs](std::string_view t) { return inventory::add_host(t, attrs); }, 201,
                "host " + name + " added", std::move(done));
  }
  if (attrs.empty()) return done(json_error(400, "nothing to change"));
  if (m == "PUT") {  // replaces: the optional attributes not given are removed
    for (const auto& f : host_fields)
      if (f != "mac" && f != "name" && attr(attrs, f).empty() &&
          std::none_of(attrs.begin(), attrs.end(), [&](auto& a) { return a.first == f; }))
        attrs.emplace_back(f, "");
  }
  std::string key = path[1];
  edit([key, attrs](std::string_view t) { return inventory::set_host(t, key, attrs); }, 200,
       "host " + key + " changed", std::move(done));
}

// The edit runs where the CLI's does (locked, validated, atomic) on the io_pool; the server's
// reload (asked for at once, and seen by its inotify watch) puts it in force.
void handler::edit(std::function<result<std::string>(std::string_view)> change, unsigned ok_status,
                   std::string what, reply_fn done) {
  pool_.submit([file = s_.config, change] { return inventory::edit_file(file, change); },
               [this, ok_status, what, done](inventory::edit_outcome out) {
                 std::vector<std::string> problems;
                 for (const auto& p : out.problems) problems.push_back(p.str());
                 if (!out.error.empty()) {
                   bool missing =
                       out.error.starts_with("no host") || out.error.starts_with("no image");
                   return done(json_error(missing ? 404 : 422, out.error, problems));
                 }
                 if (!out.ok)
                   return done(json_error(422,
                                          "the edit would make the inventory invalid; the "
                                          "file is unchanged",
                                          problems));
                 if (s_.reload) s_.reload();
                 json::object o{{"ok", true}, {"message", what}};
                 json::array warnings;
                 for (auto& p : problems) warnings.push_back(json::string(p));
                 o["warnings"] = std::move(warnings);
                 done({ok_status, "application/json", json::serialize(o) + "\n", {}, nullptr});
               });
}

// In this process (disks::disk_catalog::reset_overlay, on the pool): a live overlay is recreated
// and the host's sessions end; one not open is removed. The answer says what happened.
void handler::reset_overlay(const inventory::host& h, reply_fn done) {
  if (!s_.reset_overlay) return done(json_error(503, "overlay resets are not available"));
  pool_.submit(
      [reset = s_.reset_overlay, inv = inv_, name = h.name]() -> std::string {
        const auto* host = inv->find_host_by_name(name);
        if (!host) return "no host " + name;
        auto r = reset(*inv, *host);
        return r ? std::string() : r.error_message();
      },
      [done, name = h.name](std::string err) {
        if (!err.empty()) return done(json_error(409, err));
        json::object o{{"ok", true},
                       {"message", "overlay of " + name +
                                       " reset: it starts again from the image (sessions ended)"}};
        done({200, "application/json", json::serialize(o) + "\n", {}, nullptr});
      });
}

}  // namespace diskless::api
