#include "inventory/validate.hpp"

#include <fmt/format.h>

#include <map>
#include <system_error>

namespace diskless::inventory {

namespace {

struct checker {
  const inventory& inv;
  const load_options& opts;
  std::vector<problem>& out;
  const std::string& file;

  void error(int line, std::string msg) {
    out.push_back(problem{problem::level::error, file, line, std::move(msg)});
  }
  void warning(int line, std::string msg) {
    out.push_back(problem{problem::level::warning, file, line, std::move(msg)});
  }

  void duplicates() {
    std::map<mac_address, const host*> macs;
    std::map<std::string, const host*> names;
    std::map<ipv4_address, const host*> ips;
    for (const auto& h : inv.hosts) {
      if (auto [it, fresh] = macs.emplace(h.mac, &h); !fresh && h.mac != mac_address{})
        error(h.line, fmt::format("MAC {} is already used by host '{}' (line {}); each PC needs "
                                  "its own <host>",
                                  h.mac.str(), it->second->name, it->second->line));
      if (!h.name.empty())
        if (auto [it, fresh] = names.emplace(h.name, &h); !fresh)
          error(h.line, fmt::format("host name '{}' is already used (line {}); pick another name",
                                    h.name, it->second->line));
      if (h.ip)
        if (auto [it, fresh] = ips.emplace(*h.ip, &h); !fresh)
          error(h.line, fmt::format("ip {} is already given to host '{}' (line {})", h.ip->str(),
                                    it->second->name, it->second->line));
    }
    std::map<std::string, const image*> images;
    for (const auto& i : inv.images)
      if (!i.name.empty())
        if (auto [it, fresh] = images.emplace(i.name, &i); !fresh)
          error(i.line, fmt::format("image name '{}' is already used (line {}); pick another name",
                                    i.name, it->second->line));
  }

  std::string image_names() const {
    std::vector<std::string> n;
    for (const auto& i : inv.images) n.push_back(i.name);
    return n.empty() ? std::string("(there are no <image> entries yet)")
                     : fmt::format("{}", fmt::join(n, ", "));
  }

  // The boot method and overlay must fit the image.
  void host_images() {
    std::map<std::string, const host*> writers;  // image name → host writing it directly
    for (const auto& h : inv.hosts) {
      bool needs_image = h.boot == boot_method::sanboot || h.boot == boot_method::linux ||
                         h.boot == boot_method::iscsi_root;
      const image* img = h.image.empty() ? nullptr : inv.find_image(h.image);
      if (!h.image.empty() && !img) {
        error(h.line, fmt::format("host '{}' uses image '{}', which is not defined; define it in "
                                  "<images> or use one of: {}",
                                  h.name, h.image, image_names()));
        continue;
      }
      if (needs_image && !img) {
        error(h.line, fmt::format("host '{}' boots with {} and needs image=\"...\"; one of: {}",
                                  h.name, to_string(h.boot), image_names()));
        continue;
      }
      if (!img) {
        if (h.overlay != overlay_mode::none)
          error(h.line, fmt::format("host '{}' has overlay=\"{}\" but no image; remove overlay",
                                    h.name, to_string(h.overlay)));
        continue;
      }
      if ((h.boot == boot_method::sanboot || h.boot == boot_method::iscsi_root) && !img->has_disk())
        error(h.line, fmt::format("host '{}' boots with {} but image '{}' has no disk=\"...\"; "
                                  "use boot=\"linux\" or give the image a disk",
                                  h.name, to_string(h.boot), img->name));
      if ((h.boot == boot_method::linux || h.boot == boot_method::iscsi_root) && !img->has_kernel())
        error(h.line, fmt::format("host '{}' boots with {} but image '{}' has no kernel=\"...\"; "
                                  "use boot=\"sanboot\" or give the image a kernel",
                                  h.name, to_string(h.boot), img->name));
      if (h.overlay != overlay_mode::none && !img->has_disk())
        error(h.line, fmt::format("host '{}' has overlay=\"{}\" but image '{}' has no disk to "
                                  "overlay; remove overlay",
                                  h.name, to_string(h.overlay), img->name));
      if (img->has_disk() && h.overlay == overlay_mode::none &&
          (h.boot == boot_method::sanboot || h.boot == boot_method::iscsi_root)) {
        if (auto [it, fresh] = writers.emplace(img->name, &h); !fresh)
          error(h.line, fmt::format("hosts '{}' (line {}) and '{}' both write image '{}' directly "
                                    "(overlay none); give them overlay=\"volatile\", "
                                    "\"persistent\" or \"readonly\"",
                                    it->second->name, it->second->line, h.name, img->name));
      }
    }
    if (inv.unknown.what == unknown_policy::kind::image) {
      const image* img = inv.find_image(inv.unknown.image);
      if (!img)
        error(inv.unknown.line, fmt::format("unknown=\"{}\" is neither ignore, local, menu nor an "
                                            "image name; images: {}",
                                            inv.unknown.image, image_names()));
      else if (!img->has_kernel())
        error(inv.unknown.line, fmt::format("unknown=\"{}\": unknown PCs boot it with linux, so "
                                            "the image needs a kernel=\"...\"",
                                            img->name));
    }
  }

  void addresses() {
    const auto& d = inv.server.dhcp;
    if (d.mode != dhcp_mode::full) return;
    if (!d.range_start && !std::any_of(inv.hosts.begin(), inv.hosts.end(),
                                       [](const host& h) { return h.ip.has_value(); }))
      error(d.line,
            "<dhcp mode=\"full\"> needs range=\"FIRST-LAST\" (or hosts with ip=\"...\") to "
            "hand out addresses");
    if (!d.netmask) error(d.line, "<dhcp mode=\"full\"> needs netmask=\"...\", like 255.255.255.0");
    if (!inv.server.address && inv.server.interface.empty())
      error(d.line, "<server> needs address=\"...\" or interface=\"...\" for full DHCP");
    if (!d.netmask || !inv.server.address) return;
    ipv4_subnet net{*inv.server.address, *d.netmask};
    if (d.range_start && (!net.contains(*d.range_start) || !net.contains(*d.range_end)))
      error(d.line,
            fmt::format("range {}-{} is outside the server's subnet {}/{}", d.range_start->str(),
                        d.range_end->str(), inv.server.address->str(), d.netmask->str()));
    for (const auto& h : inv.hosts) {
      if (!h.ip) continue;
      if (!net.contains(*h.ip))
        error(h.line, fmt::format("ip {} of host '{}' is outside the subnet {}/{}", h.ip->str(),
                                  h.name, inv.server.address->str(), d.netmask->str()));
      else if (d.range_start && *h.ip >= *d.range_start && *h.ip <= *d.range_end)
        error(h.line, fmt::format("ip {} of host '{}' is inside the dynamic range {}-{}; pick an "
                                  "address outside it",
                                  h.ip->str(), h.name, d.range_start->str(), d.range_end->str()));
      else if (*h.ip == *inv.server.address)
        error(h.line,
              fmt::format("ip {} of host '{}' is the server's own address", h.ip->str(), h.name));
    }
  }

  void files() {
    if (!opts.check_files) return;
    for (const auto& img : inv.images) {
      bool used =
          std::any_of(inv.hosts.begin(), inv.hosts.end(),
                      [&](const host& h) { return h.image == img.name; }) ||
          (inv.unknown.what == unknown_policy::kind::image && inv.unknown.image == img.name);
      for (const auto* p : {&img.disk, &img.kernel, &img.initrd}) {
        if (p->empty()) continue;
        std::error_code ec;
        auto path = inv.resolve(*p);
        if (std::filesystem::is_regular_file(path, ec) || std::filesystem::is_block_file(path, ec))
          continue;
        auto msg = fmt::format("image '{}': file {} does not exist (resolved to {})", img.name,
                               p->string(), path.string());
        if (used)
          error(img.line, msg + "; create it or fix the path");
        else
          warning(img.line, msg + "; no host uses the image yet");
      }
    }
  }
};

}  // namespace

void validate(const inventory& inv, const load_options& opts, std::vector<problem>& out,
              const std::string& file) {
  checker c{inv, opts, out, file};
  c.duplicates();
  c.host_images();
  c.addresses();
  c.files();
}

}  // namespace diskless::inventory
