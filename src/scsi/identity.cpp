#include "scsi/identity.hpp"

#include <fmt/format.h>

namespace diskless::scsi {

std::uint64_t fnv1a64(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string serial_for(std::uint64_t naa) {
  return fmt::format("DL{:014X}", naa & 0x00ffffffffffffffULL);
}

identity identity_for(std::string_view stable_key) {
  // The same derivation disk_unit::options::for_host has always used for the host name, so a
  // disk keeps the identity an installed OS already knows it by.
  std::uint64_t h = fnv1a64(stable_key);
  return identity{serial_for(h), h & 0x0fffffffffffffffULL};
}

}  // namespace diskless::scsi
