#pragma once
// Per-boot CHAP secrets (chap-secret="auto", config/diskless.xml.5) and the random strings they
// are made of.
//
// Contract: random_secret() draws from the kernel CSPRNG (getrandom(2)); the alphabet is
// [A-Za-z0-9], so a secret is inert in iPXE scripts and kernel command lines. A secret is never
// logged. per_boot_secrets is thread-safe (HTTP/TFTP rotate on the loop, iSCSI logins read it);
// it lives in memory only: a server restart forgets every secret.
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "util/net.hpp"

namespace diskless {

// n characters from [A-Za-z0-9] (≈5.95 bits each), uniformly (rejection sampling).
std::string random_secret(std::size_t n);

class per_boot_secrets {
 public:
  // 16 characters: the longest secret Windows' initiator accepts (RFC 7143 §12.1.3 wants at
  // least 12), ≈95 bits.
  static constexpr std::size_t length = 16;

  // The PC with this MAC starts a new boot: a fresh secret replaces the previous one.
  std::string rotate(const mac_address& mac);
  // The secret of the MAC's current boot; nullopt before its first boot since the server started.
  std::optional<std::string> current(const mac_address& mac) const;

 private:
  mutable std::mutex mutex_;
  std::map<mac_address, std::string> by_mac_;
};

}  // namespace diskless
