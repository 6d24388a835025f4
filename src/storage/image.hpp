#pragma once
// Image files as block devices, whatever their format (src/storage/README.md): the one place that
// tells raw from qcow2 and opens either, for the disk catalog, the CLI and qcow2 backing chains.
#include <filesystem>
#include <memory>
#include <string_view>

#include "storage/block_device.hpp"
#include "util/result.hpp"

namespace diskless::storage {

enum class image_format { raw, qcow2 };

// Reads the first bytes of the file: "QFI\xfb" is qcow2, anything else raw.
result<image_format> detect_format(const std::filesystem::path& path);

// "raw" or "qcow2", as a qcow2 header's backing format extension spells it.
std::string_view format_name(image_format f);

struct image_open_options {
  bool writable = false;  // false gives a read_only() device
  // "raw", "qcow2", or empty to detect it from the file's magic (detect_format). Any other name
  // is refused (a qcow2 header may name a backing format we do not read).
  std::string_view format = {};
  // How many images sit above this one in a qcow2 backing chain (0 for the image itself); bounds
  // the chain's length.
  int chain_depth = 0;
};

// Opens an image file (raw or qcow2). A qcow2 image opens its backing chain read-only (through
// this same function). Errors carry the path.
result<std::shared_ptr<block_device>> open_image(const std::filesystem::path& path,
                                                 const image_open_options& o);
// The same, format detected.
result<std::shared_ptr<block_device>> open_image(const std::filesystem::path& path, bool writable);

}  // namespace diskless::storage
