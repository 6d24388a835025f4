#pragma once
// Offline checks of an image file for `diskless check`: what would make serving it fail or
// misbehave, found before a PC boots from it.
#include <filesystem>
#include <string>
#include <vector>

namespace diskless::storage {

struct image_problem {
  bool error = true;  // false: a warning (the image is served, but not all of it)
  std::string message;
};

// Reads the image's metadata (never its backing chain) and reports: qcow2 images that open_qcow2
// refuses (corrupt or hostile metadata, unsupported features, compressed clusters) and corrupt
// L2 entries beyond the tables open_qcow2 loads eagerly; raw files whose size is not a whole
// number of 512-byte blocks; files that cannot be read. Empty when the image is sound.
std::vector<image_problem> inspect_image(const std::filesystem::path& path);

}  // namespace diskless::storage
