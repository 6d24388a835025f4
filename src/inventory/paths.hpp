#pragma once
// Where diskless looks for its inventory when none is named.
#include <filesystem>

namespace diskless::inventory {

// The inventory used when none is named (no -c): ./config/diskless.xml when it exists (a source
// tree), else /etc/diskless/diskless.xml (the Debian package's conffile).
std::filesystem::path default_path();

}  // namespace diskless::inventory
