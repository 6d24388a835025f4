#pragma once
// The API's bearer token (src/api/README.md): read from <api token-file>, which must be a regular
// file of mode 0600 (or stricter) owned by us; created with 32 random bytes as hex when missing.
// Blocking file I/O: at start only.
#include <filesystem>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace diskless::api {

struct token_file {
  std::string token;
  bool created = false;  // generated just now
};

result<token_file> load_or_create_token(const std::filesystem::path& file);

// "Bearer <token>" (RFC 6750 §2.1) compared in constant time for a given length.
bool bearer_matches(std::string_view authorization, std::string_view token);

}  // namespace diskless::api
