#pragma once
// Cross-entry checks of a parsed inventory (duplicates, references, subnets, files).
#include <string>
#include <vector>

#include "inventory/load.hpp"

namespace diskless::inventory {

// Appends every problem found to `out` (file is the name used in messages).
void validate(const inventory& inv, const load_options& opts, std::vector<problem>& out,
              const std::string& file);

}  // namespace diskless::inventory
