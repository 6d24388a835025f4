#include "inventory/validate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <system_error>

namespace diskless::inventory {

std::string problem::str() const {
  std::string where = line > 0 ? fmt::format("{}:{}", file, line) : file;
  return fmt::format("{}: {}{}", where, severity == level::warning ? "warning: " : "", message);
}

std::size_t load_result::error_count() const {
  return static_cast<std::size_t>(std::count_if(problems.begin(), problems.end(), [](auto& p) {
    return p.severity == problem::level::error;
  }));
}

std::optional<std::string> ipxe_hazard(std::string_view value, bool one_word) {
  for (char ch : value) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f)
      return fmt::format(
          "contains the control character 0x{:02x}, which would end the iPXE "
          "command and start another",
          c);
    if (ch == '"' || ch == '\'' || ch == '\\')
      return fmt::format("contains {}, which iPXE's script parser treats as quoting", ch);
    if (ch == ' ' && one_word) return std::string("contains a space; it must be one word");
  }
  if (value.find("${") != std::string_view::npos)
    return std::string("contains \"${\", which iPXE expands as a setting");
  std::size_t pos = 0;
  while (pos < value.size()) {
    auto end = std::min(value.find(' ', pos), value.size());
    auto word = value.substr(pos, end - pos);
    if (word.starts_with('#') || word == "||" || word == "&&")
      return fmt::format("contains the word '{}', which ends an iPXE command", word);
    pos = end + 1;
  }
  return std::nullopt;
}

namespace {

struct checker {
  const inventory& inv;
  const load_options& opts;
  std::vector<problem>& out;
  const std::string& file;

  void error(int line, std::string msg) {
    out.push_back(problem{problem::level::error, file, line, std::move(msg), {}, {}});
  }
  // Errors confined to one entry: they disable it, not the server (inventory/load.hpp).
  void error(const host& h, std::string msg) {
    out.push_back(problem{problem::level::error, file, h.line, std::move(msg), h.name, {}});
  }
  void error(const image& i, std::string msg) {
    out.push_back(problem{problem::level::error, file, i.line, std::move(msg), {}, i.name});
  }
  void warning(int line, std::string msg) {
    out.push_back(problem{problem::level::warning, file, line, std::move(msg), {}, {}});
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

  // Values rendered into iPXE scripts (boot/script.hpp) must be inert there (ipxe_hazard).
  void script_values() {
    auto check = [&](const auto& entry, std::string_view what, std::string_view attr,
                     std::string_view value, bool one_word) {
      if (auto why = ipxe_hazard(value, one_word))
        error(entry, fmt::format("{} {}=\"{}\" {}; it is written into the iPXE boot script, so "
                                 "remove it (use plain words: letters, digits, '=', '/', ',', "
                                 "'.', '-', '_', ':')",
                                 what, attr, printable(value), *why));
    };
    for (const auto& img : inv.images) {
      auto what = fmt::format("image '{}':", printable(img.name));
      check(img, what, "name", img.name, true);
      check(img, what, "cmdline", img.cmdline, false);
      check(img, what, "rootfstype", img.rootfstype, true);
      check(img, what, "disk", img.disk.native(), false);
      check(img, what, "kernel", img.kernel.native(), false);
      check(img, what, "initrd", img.initrd.native(), false);
    }
    for (const auto& h : inv.hosts) {
      if (!h.chap) continue;
      auto what = fmt::format("host '{}':", h.name);
      check(h, what, "chap-user", h.chap->user, true);
      check(h, what, "chap-secret", h.chap->secret, true);
      check(h, what, "mutual-user", h.chap->mutual_user, true);
      check(h, what, "mutual-secret", h.chap->mutual_secret, true);
    }
  }

  // Control characters shown as \xNN so that a message stays one line.
  static std::string printable(std::string_view v) {
    std::string out;
    for (char ch : v) {
      auto c = static_cast<unsigned char>(ch);
      if (c < 0x20 || c == 0x7f)
        out += fmt::format("\\x{:02x}", c);
      else
        out += ch;
    }
    return out;
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
        error(h, fmt::format("host '{}' uses image '{}', which is not defined; define it in "
                             "<images> or use one of: {}",
                             h.name, h.image, image_names()));
        continue;
      }
      if (needs_image && !img) {
        error(h, fmt::format("host '{}' boots with {} and needs image=\"...\"; one of: {}", h.name,
                             to_string(h.boot), image_names()));
        continue;
      }
      if (!img) {
        if (h.overlay != overlay_mode::none)
          error(h, fmt::format("host '{}' has overlay=\"{}\" but no image; remove overlay", h.name,
                               to_string(h.overlay)));
        continue;
      }
      if ((h.boot == boot_method::sanboot || h.boot == boot_method::iscsi_root) && !img->has_disk())
        error(h, fmt::format("host '{}' boots with {} but image '{}' has no disk=\"...\"; "
                             "use boot=\"linux\" or give the image a disk",
                             h.name, to_string(h.boot), img->name));
      if ((h.boot == boot_method::linux || h.boot == boot_method::iscsi_root) && !img->has_kernel())
        error(h, fmt::format("host '{}' boots with {} but image '{}' has no kernel=\"...\"; "
                             "use boot=\"sanboot\" or give the image a kernel",
                             h.name, to_string(h.boot), img->name));
      if (h.overlay != overlay_mode::none && !img->has_disk())
        error(h, fmt::format("host '{}' has overlay=\"{}\" but image '{}' has no disk to "
                             "overlay; remove overlay",
                             h.name, to_string(h.overlay), img->name));
      if (img->rbd && img->rbd->snapshot.empty() && h.overlay != overlay_mode::none)
        error(h, fmt::format("host '{}' has overlay=\"{}\" but RBD image '{}' names no "
                             "snapshot; clones and read-only views are made from a snapshot: "
                             "add snapshot=\"...\" to the image",
                             h.name, to_string(h.overlay), img->name));
      if (img->has_disk() && h.overlay == overlay_mode::none &&
          (h.boot == boot_method::sanboot || h.boot == boot_method::iscsi_root)) {
        if (auto [it, fresh] = writers.emplace(img->name, &h); !fresh)
          error(h, fmt::format("hosts '{}' (line {}) and '{}' both write image '{}' directly "
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

  // A host with overlay="none" writes the image file itself; overlay hosts of the same image read
  // it beneath their overlays and would see those writes appear under their filesystems.
  void writer_and_overlays() {
    std::map<std::string_view, const host*> writer, overlaid;  // image → first such host
    for (const auto& h : inv.hosts) {
      if (h.boot != boot_method::sanboot && h.boot != boot_method::iscsi_root) continue;
      const image* img = inv.find_image(h.image);
      if (!img || !img->has_disk()) continue;
      (h.overlay == overlay_mode::none ? writer : overlaid).emplace(img->name, &h);
    }
    for (const auto& [name, w] : writer) {
      auto it = overlaid.find(name);
      if (it == overlaid.end()) continue;
      const host* o = it->second;
      error(*w, fmt::format("host '{}' writes image '{}' directly (overlay=\"none\") while "
                            "host '{}' (line {}) boots it with overlay=\"{}\": the overlay "
                            "hosts would see its writes beneath their disks and corrupt "
                            "their filesystems; give '{}' overlay=\"persistent\" (its "
                            "changes kept in its own overlay) or an image of its own",
                            w->name, name, o->name, o->line, to_string(o->overlay), w->name));
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
        error(h, fmt::format("ip {} of host '{}' is outside the subnet {}/{}", h.ip->str(), h.name,
                             inv.server.address->str(), d.netmask->str()));
      else if (d.range_start && *h.ip >= *d.range_start && *h.ip <= *d.range_end)
        error(h, fmt::format("ip {} of host '{}' is inside the dynamic range {}-{}; pick an "
                             "address outside it",
                             h.ip->str(), h.name, d.range_start->str(), d.range_end->str()));
      else if (*h.ip == *inv.server.address)
        error(h,
              fmt::format("ip {} of host '{}' is the server's own address", h.ip->str(), h.name));
    }
  }

  void files() {
    if (!opts.check_files) return;
    std::set<std::string_view> used_images;  // one pass over the hosts, not one per image
    for (const auto& h : inv.hosts) used_images.insert(h.image);
    if (inv.unknown.what == unknown_policy::kind::image) used_images.insert(inv.unknown.image);
    for (const auto& img : inv.images) {
      bool used = used_images.contains(img.name);
      for (const auto* p : {&img.disk, &img.kernel, &img.initrd}) {
        if (p->empty()) continue;
        std::error_code ec;
        auto path = inv.resolve(*p);
        if (std::filesystem::is_regular_file(path, ec) || std::filesystem::is_block_file(path, ec))
          continue;
        auto msg = fmt::format("image '{}': file {} does not exist (resolved to {})", img.name,
                               p->string(), path.string());
        if (used)
          error(img, msg + "; create it or fix the path");
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
  c.writer_and_overlays();
  c.script_values();
  c.addresses();
  c.files();
}

void disable_scoped(inventory& inv, std::vector<problem>& problems, const std::string& file) {
  for (const auto& p : problems) {
    if (p.severity != problem::level::error) continue;
    if (!p.image.empty()) inv.disabled_images.try_emplace(p.image, p.message);
    if (!p.host.empty()) inv.disabled_hosts.try_emplace(p.host, p.message);
  }
  for (const auto& h : inv.hosts)
    if (auto it = inv.disabled_images.find(h.image); it != inv.disabled_images.end())
      inv.disabled_hosts.try_emplace(h.name, it->second);  // "image 'x': ..."
  const std::string_view instead = inv.unknown.what == unknown_policy::kind::ignore
                                       ? "gets no boot (unknown=\"ignore\")"
                                       : "is treated as an unknown PC";
  for (const auto& h : inv.hosts)
    if (auto it = inv.disabled_hosts.find(h.name); it != inv.disabled_hosts.end())
      problems.push_back(problem{problem::level::warning,
                                 file,
                                 h.line,
                                 fmt::format("host '{}' is disabled until this is fixed ({}); "
                                             "its PC {}, every other host is served",
                                             h.name, it->second, instead),
                                 {},
                                 {}});
}

}  // namespace diskless::inventory
