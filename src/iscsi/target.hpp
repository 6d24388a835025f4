#pragma once
// Which targets exist and who may open them (src/iscsi/README.md): every inventory host whose
// image has a disk is a target "<iqn>:<host name>" with its disk at LUN 0; only the host's own
// initiator IQN may log in, unless the host allows any initiator.
#include <string_view>
#include <vector>

#include "inventory/model.hpp"

namespace diskless::iscsi {

bool host_has_disk(const inventory::inventory& inv, const inventory::host& h);
// The host whose target this is, or nullptr.
const inventory::host* find_target(const inventory::inventory& inv, std::string_view target_name);
bool initiator_allowed(const inventory::inventory& inv, const inventory::host& h,
                       std::string_view initiator_name);
// Targets this initiator may open, in inventory order (SendTargets=All, RFC 7143 §12.3).
std::vector<const inventory::host*> visible_targets(const inventory::inventory& inv,
                                                    std::string_view initiator_name);
// The host whose initiator IQN this is (for discovery CHAP), or nullptr.
const inventory::host* host_of_initiator(const inventory::inventory& inv,
                                         std::string_view initiator_name);
// Whether a session of `h` from `before` may continue under `after` unchanged (same disk,
// overlay, credentials and access rule).
bool same_target(const inventory::inventory& before, const inventory::host& a,
                 const inventory::inventory& after, const inventory::host& b);

}  // namespace diskless::iscsi
