#pragma once
// Helpers shared by the inventory unit tests.
#include <filesystem>

#include "inventory/load.hpp"

namespace diskless::inventory {

// Options that load an inventory without looking at the files it names (image files, kernels),
// relative paths resolved against `base_dir`.
inline load_options no_files(std::filesystem::path base_dir = "/srv/diskless") {
  load_options o;
  o.check_files = false;
  o.base_dir = std::move(base_dir);
  return o;
}

}  // namespace diskless::inventory
