#include "iscsi/target.hpp"

namespace diskless::iscsi {

bool host_has_disk(const inventory::inventory& inv, const inventory::host& h) {
  if (h.image.empty()) return false;
  auto* img = inv.find_image(h.image);
  return img && img->has_disk();
}

const inventory::host* find_target(const inventory::inventory& inv, std::string_view name) {
  for (auto& h : inv.hosts)
    if (host_has_disk(inv, h) && inv.target_iqn(h) == name) return &h;
  return nullptr;
}

bool initiator_allowed(const inventory::inventory& inv, const inventory::host& h,
                       std::string_view initiator_name) {
  // RFC 3722 §6: iSCSI names compare case-insensitively in practice because they are normalised
  // to lower case; ours are generated lower case, so an exact compare after lowering suffices.
  if (h.allow_any_initiator) return true;
  std::string lowered(initiator_name);
  for (auto& c : lowered)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return lowered == inv.initiator_iqn(h);
}

std::vector<const inventory::host*> visible_targets(const inventory::inventory& inv,
                                                    std::string_view initiator_name) {
  std::vector<const inventory::host*> out;
  for (auto& h : inv.hosts)
    if (host_has_disk(inv, h) && initiator_allowed(inv, h, initiator_name)) out.push_back(&h);
  return out;
}

const inventory::host* host_of_initiator(const inventory::inventory& inv,
                                         std::string_view initiator_name) {
  for (auto& h : inv.hosts)
    if (inv.initiator_iqn(h) == initiator_name) return &h;
  return nullptr;
}

namespace {
bool same_chap(const std::optional<inventory::chap_credentials>& a,
               const std::optional<inventory::chap_credentials>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return true;
  return a->user == b->user && a->secret == b->secret && a->mutual_user == b->mutual_user &&
         a->mutual_secret == b->mutual_secret;
}
}  // namespace

bool same_target(const inventory::inventory& before, const inventory::host& a,
                 const inventory::inventory& after, const inventory::host& b) {
  if (a.name != b.name || a.image != b.image || a.overlay != b.overlay ||
      a.allow_any_initiator != b.allow_any_initiator || !same_chap(a.chap, b.chap))
    return false;
  if (before.target_iqn(a) != after.target_iqn(b)) return false;
  auto* ia = before.find_image(a.image);
  auto* ib = after.find_image(b.image);
  if (!ia || !ib) return false;
  return before.resolve(ia->disk) == after.resolve(ib->disk);
}

}  // namespace diskless::iscsi
