#pragma once
// The dashboard's files (src/api/web/), embedded in the binary at build time (embed.cmake):
// no CDN, no internet, works offline.
#include <optional>
#include <string_view>

namespace diskless::api {

struct web_file {
  std::string_view content_type;
  std::string_view body;
};

// By file name ("index.html", "app.js", "style.css"); nullopt for any other name.
std::optional<web_file> web_asset(std::string_view name);

// What the generated web_assets.cpp defines.
struct embedded_file {
  std::string_view name;
  std::string_view body;
};
extern const embedded_file embedded_files[];
extern const std::size_t embedded_file_count;

}  // namespace diskless::api
