#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>

#include "api/handler.hpp"
#include "api/token.hpp"
#include "api/wake.hpp"
#include "disks/catalog.hpp"
#include "inventory/load.hpp"

namespace diskless::api {
namespace {

namespace fs = std::filesystem;
constexpr std::string_view token = "0123456789abcdef0123456789abcdef";

const char* const inventory_xml = R"(<diskless version="1">
  <server address="10.0.0.1"><api/><state dir="state"/></server>
  <images>
    <!-- the lab's image -->
    <image name="win" disk="win.img"/>
  </images>
  <hosts>
    <host mac="52:54:00:00:00:01" name="pc1" image="win" overlay="persistent"/>
  </hosts>
</diskless>
)";

struct rig {
  fs::path dir = fs::temp_directory_path() / ("api-test-" + std::to_string(::getpid()));
  fs::path file = dir / "diskless.xml";
  std::shared_ptr<state::model> live = std::make_shared<state::model>();
  io_pool pool{0, [](io_pool::task t) { t(); }};
  disks::disk_catalog disks;
  std::unique_ptr<handler> h;
  int reloads = 0;

  rig() {
    fs::create_directories(dir);
    std::ofstream(dir / "win.img") << "x";
    std::ofstream(file) << inventory_xml;
    reload();
  }
  ~rig() { fs::remove_all(dir); }

  void reload() {
    auto r = inventory::load_file(file);
    EXPECT_TRUE(r.loaded());
    live->apply(*r.inv);
    if (!h)
      h = std::make_unique<handler>(
          settings{live, file, std::string(token), "test", [this] { ++reloads; },
                   [this](const inventory::inventory& inv, const inventory::host& h) {
                     return disks.reset_overlay(inv, h);
                   }},
          pool, r.inv);
    else
      h->apply(r.inv);
  }

  http::api_response call(std::string method, std::string target, std::string body = {},
                          bool auth = true) {
    http::api_request req;
    req.method = std::move(method);
    req.target = std::move(target);
    req.body = std::move(body);
    if (auth) req.authorization = "Bearer " + std::string(token);
    std::optional<http::api_response> out;
    h->handle(std::move(req), [&](http::api_response r) { out = std::move(r); });
    EXPECT_TRUE(out.has_value());  // the inline pool completes at once
    return out ? *out : http::api_response{};
  }

  std::string text() {
    std::ifstream in(file);
    return {std::istreambuf_iterator<char>(in), {}};
  }
};

TEST(ApiRoutes, ReadsNeedTheTokenUnlessOpened) {
  rig r;
  EXPECT_EQ(r.call("GET", "/api/v1/hosts", {}, false).status, 401u);
  auto bad = r.call("GET", "/api/v1/hosts", {}, false);
  EXPECT_NE(bad.body.find("bearer token"), std::string::npos);
  EXPECT_EQ(r.call("GET", "/api/v1/hosts").status, 200u);
  // <api open-reads="true">: GETs open, writes still need the token.
  std::string xml = inventory_xml;
  xml.replace(xml.find("<api/>"), 6, R"(<api open-reads="true"/>)");
  std::ofstream(r.file) << xml;
  r.reload();
  EXPECT_EQ(r.call("GET", "/api/v1/hosts", {}, false).status, 200u);
  EXPECT_EQ(r.call("DELETE", "/api/v1/hosts/pc1", {}, false).status, 401u);
  EXPECT_EQ(r.call("POST", "/api/v1/hosts", R"({"mac":"52:54:00:00:00:09"})", false).status, 401u);
}

TEST(ApiRoutes, WrongTokenIsRefused) {
  rig r;
  http::api_request req;
  req.method = "GET";
  req.target = "/api/v1/status";
  req.authorization = "Bearer 0123456789abcdef0123456789abcdeX";
  unsigned status = 0;
  r.h->handle(req, [&](http::api_response x) { status = x.status; });
  EXPECT_EQ(status, 401u);
  EXPECT_FALSE(bearer_matches("Bearer", token));
  EXPECT_TRUE(bearer_matches("bearer " + std::string(token), token));
}

TEST(ApiRoutes, ReadRoutes) {
  rig r;
  auto s = r.call("GET", "/api/v1/status");
  EXPECT_EQ(s.status, 200u);
  EXPECT_NE(s.body.find(R"("hosts":1)"), std::string::npos) << s.body;
  auto h = r.call("GET", "/api/v1/hosts/pc1");
  EXPECT_EQ(h.status, 200u);
  EXPECT_NE(h.body.find(R"("phase":"off")"), std::string::npos) << h.body;
  EXPECT_EQ(r.call("GET", "/api/v1/hosts/52-54-00-00-00-01").status, 200u);
  EXPECT_EQ(r.call("GET", "/api/v1/hosts/nope").status, 404u);
  EXPECT_EQ(r.call("GET", "/api/v1/images").status, 200u);
  EXPECT_EQ(r.call("GET", "/api/v1/unknown").body, "[]\n");
  EXPECT_EQ(r.call("GET", "/api/v1/leases").body, "[]\n");
  EXPECT_EQ(r.call("GET", "/api/v1/sessions").body, "[]\n");
  EXPECT_EQ(r.call("GET", "/api/v1/nothing").status, 404u);
  EXPECT_EQ(r.call("GET", "/other").status, 404u);
  EXPECT_EQ(r.call("GET", "/api/v1/hosts/%zz").status, 400u);
  EXPECT_EQ(r.call("GET", "/api/v1/hosts/pc%00").status, 400u);
  EXPECT_EQ(r.call("GET", "/api/v1/hosts/pc%3").status, 400u);
  EXPECT_EQ(r.call("GET", "/api/v1/hosts/pc%31").status, 200u);  // %31 = '1'
}

TEST(ApiRoutes, HostsShowOverlaySizeOnDisk) {
  rig r;
  EXPECT_NE(r.call("GET", "/api/v1/hosts/pc1").body.find(R"("overlay_bytes":null)"),
            std::string::npos);
  fs::create_directories(r.dir / "state" / "overlays");
  std::ofstream(r.dir / "state" / "overlays" / "52-54-00-00-00-01.qcow2")
      << std::string(100000, 'x');
  auto one = r.call("GET", "/api/v1/hosts/pc1").body;
  EXPECT_EQ(one.find(R"("overlay_bytes":null)"), std::string::npos) << one;
  EXPECT_NE(one.find(R"("overlay_bytes":1)"), std::string::npos) << one;  // >= 100000
  EXPECT_NE(r.call("GET", "/api/v1/hosts").body.find(R"("overlay_bytes":1)"), std::string::npos);
}

TEST(ApiRoutes, DashboardIsServedWithoutToken) {
  rig r;
  auto page = r.call("GET", "/", {}, false);
  EXPECT_EQ(page.status, 200u);
  EXPECT_NE(page.content_type.find("text/html"), std::string::npos);
  EXPECT_NE(page.body.find("/ui/app.js"), std::string::npos);
  EXPECT_EQ(r.call("GET", "/ui/app.js", {}, false).status, 200u);
  EXPECT_EQ(r.call("GET", "/ui/nope.js", {}, false).status, 404u);
}

TEST(ApiRoutes, EventStreamIsBoundedAndDropsSlowClients) {
  rig r;
  auto first = r.call("GET", "/api/v1/events");
  ASSERT_TRUE(first.stream);
  std::string hello;
  ASSERT_TRUE(first.stream->take(hello));
  EXPECT_NE(hello.find("event: hello"), std::string::npos);
  state::change c;
  c.host = "pc1";
  c.last.name = "discover";
  for (std::size_t i = 0; i < max_queued_events; ++i) r.h->publish(c);
  EXPECT_FALSE(first.stream->dropped());
  r.h->publish(c);  // nobody read: one too many
  EXPECT_TRUE(first.stream->dropped());
  EXPECT_EQ(r.h->event_clients(), 1u);
  r.h->publish(c);
  EXPECT_EQ(r.h->event_clients(), 0u);
  std::vector<std::shared_ptr<http::event_stream>> open;
  for (std::size_t i = 0; i < max_event_clients; ++i)
    open.push_back(r.call("GET", "/api/v1/events").stream);
  EXPECT_EQ(r.call("GET", "/api/v1/events").status, 503u);
}

TEST(ApiRoutes, BadBodiesAre400Or413) {
  rig r;
  const auto before = r.text();
  EXPECT_EQ(r.call("POST", "/api/v1/hosts", "{").status, 400u);
  EXPECT_EQ(r.call("POST", "/api/v1/hosts", "[1]").status, 400u);
  EXPECT_EQ(r.call("POST", "/api/v1/hosts", R"({"mac":"52:54:00:00:00:09","color":"red"})").status,
            400u);
  EXPECT_EQ(r.call("POST", "/api/v1/hosts", R"({"mac":["x"]})").status, 400u);
  EXPECT_EQ(r.call("POST", "/api/v1/hosts", R"({"mac":null})").status, 400u);
  EXPECT_EQ(r.call("POST", "/api/v1/hosts", R"({"name":"x"})").status, 422u);
  EXPECT_EQ(r.call("PATCH", "/api/v1/hosts/pc1", "{}").status, 400u);
  http::api_request big;
  big.method = "POST";
  big.target = "/api/v1/hosts";
  big.body_too_large = true;
  unsigned status = 0;
  r.h->handle(big, [&](http::api_response x) { status = x.status; });
  EXPECT_EQ(status, 413u);
  http::api_request xml;
  xml.method = "POST";
  xml.target = "/api/v1/hosts";
  xml.content_type = "application/xml";
  xml.authorization = "Bearer " + std::string(token);
  r.h->handle(xml, [&](http::api_response x) { status = x.status; });
  EXPECT_EQ(status, 415u);
  EXPECT_EQ(r.text(), before);
  EXPECT_EQ(r.reloads, 0);
}

TEST(ApiRoutes, WrongMethodsAndRoutes) {
  rig r;
  EXPECT_EQ(r.call("PUT", "/api/v1/hosts", "{}").status, 405u);
  EXPECT_EQ(r.call("POST", "/api/v1/hosts/pc1", "{}").status, 405u);
  EXPECT_EQ(r.call("GET", "/api/v1/unknown/52:54:00:00:00:07/adopt").status, 405u);
  EXPECT_EQ(r.call("POST", "/api/v1/status", "{}").status, 404u);
  EXPECT_EQ(r.call("POST", "/api/v1/hosts/nope/overlay/reset").status, 404u);
  EXPECT_EQ(r.call("POST", "/api/v1/hosts/nope/wake").status, 404u);
  EXPECT_EQ(r.call("GET", "/api/v1/hosts/pc1/wake").status, 405u);
}

TEST(ApiRoutes, InvalidEditIs422WithFileLineProblemsAndFileUntouched) {
  rig r;
  const auto before = r.text();
  auto res =
      r.call("POST", "/api/v1/hosts", R"({"mac":"52:54:00:00:00:09","name":"pc9","image":"nope"})");
  EXPECT_EQ(res.status, 422u) << res.body;
  EXPECT_NE(res.body.find("diskless.xml:"), std::string::npos) << res.body;
  EXPECT_NE(res.body.find("problems"), std::string::npos);
  res =
      r.call("POST", "/api/v1/hosts", R"({"mac":"52:54:00:00:00:01","name":"dup","image":"win"})");
  EXPECT_EQ(res.status, 422u) << res.body;
  EXPECT_EQ(r.call("PATCH", "/api/v1/hosts/ghost", R"({"image":"win"})").status, 404u);
  EXPECT_EQ(r.call("DELETE", "/api/v1/hosts/ghost").status, 404u);
  EXPECT_EQ(r.call("PUT", "/api/v1/hosts/pc1", R"({"boot":"linux"})").status, 422u);  // no image
  EXPECT_EQ(r.text(), before);
  EXPECT_EQ(r.reloads, 0);
}

TEST(ApiRoutes, WritesEditTheFileKeepingComments) {
  rig r;
  auto res =
      r.call("POST", "/api/v1/hosts",
             R"({"mac":"52:54:00:00:00:09","name":"pc9","image":"win","overlay":"persistent"})");
  EXPECT_EQ(res.status, 201u) << res.body;
  EXPECT_NE(r.text().find(R"(name="pc9")"), std::string::npos);
  EXPECT_NE(r.text().find("<!-- the lab's image -->"), std::string::npos);
  EXPECT_EQ(r.call("PATCH", "/api/v1/hosts/pc9", R"({"overlay":"volatile"})").status, 200u);
  EXPECT_NE(r.text().find(R"(overlay="volatile")"), std::string::npos);
  EXPECT_EQ(r.call("PATCH", "/api/v1/hosts/pc9", R"({"force-option43":true})").status, 200u);
  EXPECT_NE(r.text().find(R"(force-option43="true")"), std::string::npos);
  EXPECT_EQ(r.call("PATCH", "/api/v1/hosts/pc9", R"({"force-option43":null})").status, 200u);
  EXPECT_EQ(r.text().find("force-option43"), std::string::npos);
  EXPECT_EQ(r.call("DELETE", "/api/v1/hosts/pc9").status, 200u);
  EXPECT_EQ(r.text().find("pc9"), std::string::npos);
  EXPECT_EQ(r.reloads, 5);
}

TEST(ApiRoutes, AdoptTurnsAnUnknownMacIntoAHost) {
  rig r;
  EXPECT_EQ(r.call("POST", "/api/v1/unknown/zz/adopt", R"({"name":"x"})").status, 400u);
  EXPECT_EQ(r.call("POST", "/api/v1/unknown/52:54:00:00:00:07/adopt",
                   R"({"name":"new","mac":"52:54:00:00:00:08"})")
                .status,
            400u);
  auto res = r.call("POST", "/api/v1/unknown/52%3A54%3A00%3A00%3A00%3A07/adopt",
                    R"({"name":"new","image":"win","overlay":"volatile"})");
  EXPECT_EQ(res.status, 201u) << res.body;
  EXPECT_NE(r.text().find(R"(mac="52:54:00:00:00:07" name="new")"), std::string::npos) << r.text();
}

// The reset happens in the server's process: an overlay no login holds is removed (the next
// login starts from the image), and no request file is left behind for later.
TEST(ApiRoutes, OverlayResetRemovesAnUnusedOverlay) {
  rig r;
  const auto ov = r.dir / "state" / "overlays" / "52-54-00-00-00-01.qcow2";
  fs::create_directories(ov.parent_path());
  std::ofstream(ov) << "qcow2";
  auto res = r.call("POST", "/api/v1/hosts/pc1/overlay/reset");
  EXPECT_EQ(res.status, 200u) << res.body;
  EXPECT_FALSE(fs::exists(ov));
  EXPECT_TRUE(fs::is_empty(ov.parent_path()));  // no pc1.reset request file
  EXPECT_EQ(r.call("POST", "/api/v1/hosts/52-54-00-00-00-01/overlay/reset").status, 200u);
}

TEST(ApiRoutes, MetricsHaveHelpAndTypeForEveryFamily) {
  rig r;
  EXPECT_EQ(r.call("GET", "/metrics", {}, false).status, 401u);
  EXPECT_EQ(r.call("POST", "/metrics").status, 405u);
  auto m = r.call("GET", "/metrics");
  ASSERT_EQ(m.status, 200u);
  EXPECT_NE(m.body.find("diskless_build_info{version=\"test\"} 1\n"), std::string::npos);
  EXPECT_NE(m.body.find("diskless_hosts{phase=\"off\"} 1\n"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("diskless_config_last_reload_successful 1\n"), std::string::npos);
  EXPECT_NE(m.body.find("diskless_iscsi_sessions{host=\"pc1\"} 0\n"), std::string::npos);
  // Every sample line's family was announced by a HELP and a TYPE line before it.
  std::set<std::string> help, type;
  std::istringstream in(m.body);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("# HELP ")) help.insert(line.substr(7, line.find(' ', 7) - 7));
    if (line.starts_with("# TYPE ")) type.insert(line.substr(7, line.find(' ', 7) - 7));
    if (line.starts_with("#")) continue;
    auto name = line.substr(0, line.find_first_of("{ "));
    for (const char* suffix : {"_bucket", "_sum", "_count"})
      if (!help.count(name) && name.ends_with(suffix))
        name.resize(name.size() - std::string_view(suffix).size());
    EXPECT_TRUE(help.count(name) && type.count(name)) << line;
  }
  r.h->config_loaded(false, state::time_point{});
  EXPECT_NE(r.call("GET", "/metrics").body.find("diskless_config_last_reload_successful 0\n"),
            std::string::npos);
}

TEST(ApiWake, MagicPacketIsSixFfThenTheMacSixteenTimes) {
  auto mac = *mac_address::parse("52:54:00:ab:cd:ef");
  auto p = magic_packet(mac);
  ASSERT_EQ(p.size(), 102u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(p[i], std::byte{0xff});
  for (int r = 0; r < 16; ++r) {
    EXPECT_EQ(p[6 + r * 6], std::byte{0x52}) << r;
    EXPECT_EQ(p[6 + r * 6 + 5], std::byte{0xef}) << r;
  }
}

TEST(ApiToken, CreatedPrivateAndReadBack) {
  auto dir = fs::temp_directory_path() / ("api-token-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto t = load_or_create_token(dir / "sub" / "api.token");
  ASSERT_TRUE(t) << t.error_message();
  EXPECT_TRUE(t->created);
  EXPECT_EQ(t->token.size(), 64u);
  EXPECT_EQ(fs::status(dir / "sub" / "api.token").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  auto again = load_or_create_token(dir / "sub" / "api.token");
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->token, t->token);
  fs::permissions(dir / "sub" / "api.token", fs::perms::group_read, fs::perm_options::add);
  auto open = load_or_create_token(dir / "sub" / "api.token");
  ASSERT_FALSE(open);
  EXPECT_NE(open.error_message().find("chmod 600"), std::string::npos);
  std::ofstream(dir / "short") << "abc\n";
  fs::permissions(dir / "short", fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_FALSE(load_or_create_token(dir / "short"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace diskless::api
