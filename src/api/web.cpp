#include "api/web.hpp"

namespace diskless::api {

std::optional<web_file> web_asset(std::string_view name) {
  for (std::size_t i = 0; i < embedded_file_count; ++i) {
    const auto& f = embedded_files[i];
    if (f.name != name) continue;
    std::string_view type = "application/octet-stream";
    if (name.ends_with(".html")) type = "text/html; charset=utf-8";
    if (name.ends_with(".js")) type = "text/javascript; charset=utf-8";
    if (name.ends_with(".css")) type = "text/css; charset=utf-8";
    return web_file{type, f.body};
  }
  return std::nullopt;
}

}  // namespace diskless::api
