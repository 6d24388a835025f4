#include "util/secret.hpp"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <exception>
#include <span>
#include <string_view>

namespace diskless {
namespace {

constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

// Fills buf from getrandom(2); blocks only before the kernel's pool is first initialised, long
// past at any time a server answers PCs.
void fill(std::span<unsigned char> buf) {
  std::size_t done = 0;
  while (done < buf.size()) {
    auto n = ::getrandom(buf.data() + done, buf.size() - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::terminate();  // no entropy source at all: nothing safe to hand out
    }
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

std::string random_secret(std::size_t n) {
  std::string out;
  out.reserve(n);
  // 62 * 4 = 248: bytes 248..255 are drawn again so every character is equally likely.
  constexpr unsigned limit = alphabet.size() * (256 / alphabet.size());
  std::array<unsigned char, 64> buf{};
  while (out.size() < n) {
    fill(buf);
    for (unsigned char b : buf) {
      if (b >= limit) continue;
      out += alphabet[b % alphabet.size()];
      if (out.size() == n) break;
    }
  }
  return out;
}

std::string per_boot_secrets::rotate(const mac_address& mac) {
  auto s = random_secret(length);
  std::lock_guard lock(mutex_);
  by_mac_[mac] = s;
  return s;
}

std::optional<std::string> per_boot_secrets::current(const mac_address& mac) const {
  std::lock_guard lock(mutex_);
  auto it = by_mac_.find(mac);
  if (it == by_mac_.end()) return std::nullopt;
  return it->second;
}

}  // namespace diskless
