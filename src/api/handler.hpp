#pragma once
// The JSON API and dashboard behind the admin listener (src/api/README.md): routes a request to
// an answer. Reads come from the inventory in force and the live state model; writes go through
// the CLI's edit path (inventory/edit.hpp: validated, atomic, comments kept) on the io_pool and
// are applied by the server's reload. Never throws on bad input.
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/metrics.hpp"
#include "http/handler.hpp"
#include "inventory/model.hpp"
#include "state/model.hpp"
#include "util/io_pool.hpp"

namespace diskless::api {

inline constexpr std::size_t max_event_clients = 32;   // open event streams
inline constexpr std::size_t max_queued_events = 256;  // per stream before it is dropped

struct settings {
  std::shared_ptr<const state::model> live;
  std::filesystem::path config;  // the inventory file edits go to
  std::string token;
  std::string version;
  std::function<void()> reload;  // asks the server to reload now (after an edit); may be empty
  // Resets a host's overlay in this process (disks::disk_catalog::reset_overlay); blocking, run
  // on the io_pool. Empty: overlay resets are refused (503).
  std::function<result<void>(const inventory::inventory&, const inventory::host&)> reset_overlay;
};

class handler final : public http::api_handler {
 public:
  handler(settings s, io_pool& pool, inventory::inventory_ptr inv);

  void handle(http::api_request req, reply_fn done) override;
  void apply(const inventory::inventory_ptr& inv) override { inv_ = inv; }
  // Sends a state change to every open event stream (dropping streams that fall behind).
  void publish(const state::change& c);
  std::size_t event_clients() const { return streams_.size(); }
  // The outcome of an inventory load (start or reload), for /metrics.
  void config_loaded(bool ok, state::time_point when) {
    reload_.last_successful = ok;
    if (ok) reload_.last_success = when;
  }

 private:
  using segments = std::vector<std::string>;
  // Host name -> bytes its overlay file takes on disk (stat on the pool before get()).
  using overlay_sizes = std::map<std::string, std::uint64_t, std::less<>>;
  http::api_response get(const segments& path, const http::api_request& req,
                         const overlay_sizes& sizes = {});
  void write(const segments& path, const http::api_request& req, reply_fn done);
  http::api_response subscribe();
  void edit(std::function<result<std::string>(std::string_view)> change, unsigned ok_status,
            std::string what, reply_fn done);
  void reset_overlay(const inventory::host& h, reply_fn done);

  settings s_;
  io_pool& pool_;
  inventory::inventory_ptr inv_;
  std::vector<std::shared_ptr<http::event_stream>> streams_;
  reload_info reload_;
  // Overlay file sizes on disk (allocated bytes) by host, from the last stat on the io_pool.
};

// Helpers shared with the tests.
http::api_response json_error(unsigned status, std::string message,
                              std::vector<std::string> problems = {});
// "/api/v1/hosts/pc%2D1?x" → {"api", "v1", "hosts", "pc-1"}; nullopt for a bad %-escape.
std::optional<std::vector<std::string>> split_path(std::string_view target);

}  // namespace diskless::api
