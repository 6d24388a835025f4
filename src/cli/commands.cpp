// `diskless check`, `diskless host ...`, `diskless image ...`.
#include "cli/commands.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "boot/script.hpp"
#include "inventory/edit.hpp"
#include "inventory/load.hpp"
#include "storage/qcow2_inspect.hpp"

namespace diskless::cli {

namespace {

void print_problems(const std::vector<inventory::problem>& problems) {
  for (const auto& p : problems) std::fprintf(stderr, "%s\n", p.str().c_str());
}

std::string json_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20)
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        else
          out += c;
    }
  }
  return out;
}

inventory::load_result load_or_report(const global_options& g) {
  auto r = inventory::load_file(g.config);
  // Errors confined to a host or image leave the inventory readable: listed, on stderr.
  if (r.error_count() > 0) {
    print_problems(r.problems);
    std::fprintf(stderr, "%s: %zu error(s)%s\n", g.config.c_str(), r.error_count(),
                 r.loaded() ? "; the entries they concern are disabled" : "");
  }
  return r;
}

// Attribute options shared by `host add` and `host set` (name in XML = option name).
const std::vector<std::string>& host_attrs = inventory::host_attribute_names();
const std::vector<std::string> image_attrs = {"disk",    "kernel",         "initrd",
                                              "cmdline", "root-partition", "rootfstype"};

// The attribute options of `host add`/`host set` and `image add`, bound to one value each.
struct attr_options {
  explicit attr_options(const std::vector<std::string>& n) : names(n), values(n.size()) {}
  std::vector<std::string> names;
  std::vector<std::string> values;  // sized once: CLI11 holds pointers into it
  std::vector<CLI::Option*> given;
  std::vector<std::string> unset;
};

std::shared_ptr<attr_options> add_attr_options(CLI::App& sub, const std::vector<std::string>& names,
                                               bool allow_unset) {
  auto a = std::make_shared<attr_options>(names);
  for (std::size_t i = 0; i < names.size(); ++i)
    a->given.push_back(
        sub.add_option("--" + names[i], a->values[i], "the " + names[i] + " attribute")
            ->type_name("VALUE"));
  if (allow_unset)
    sub.add_option("--unset", a->unset, "remove the attribute KEY (repeatable)")
        ->type_name("KEY")
        ->check(CLI::IsMember(names));
  return a;
}

// The given attributes in the schema's order; an empty value means "remove" (host set only).
result<inventory::attributes> collect(const attr_options& a, bool allow_empty) {
  inventory::attributes out;
  for (std::size_t i = 0; i < a.names.size(); ++i) {
    if (a.given[i]->count() == 0) continue;
    if (a.values[i].empty() && !allow_empty) return error{"--" + a.names[i] + " needs a value"};
    out.emplace_back(a.names[i], a.values[i]);
  }
  for (const auto& u : a.unset) out.emplace_back(u, "");
  return out;
}

int apply_edit(const global_options& g,
               const std::function<result<std::string>(std::string_view)>& edit,
               const std::string& done_message) {
  auto out = inventory::edit_file(g.config, edit);
  if (!out.error.empty()) {
    std::fprintf(stderr, "diskless: %s\n", out.error.c_str());
    return 1;
  }
  print_problems(out.problems);
  if (!out.ok) {
    std::fprintf(stderr, "refused: the edit would make %s invalid; the file is unchanged\n",
                 g.config.c_str());
    return 1;
  }
  std::printf("%s\n", done_message.c_str());
  return 0;
}

std::string host_line(const inventory::inventory& inv, const inventory::host& h) {
  return fmt::format(
      "{:<17}  {:<16} {:<16} {:<10} {:<10} {}", h.mac.str(), h.name,
      h.image.empty() ? "-" : h.image, to_string(h.boot), to_string(h.overlay),
      h.ip ? h.ip->str() : (inv.server.dhcp.mode == inventory::dhcp_mode::full ? "dynamic" : "-"));
}

std::string host_json(const inventory::inventory& inv, const inventory::host& h) {
  return fmt::format(
      R"({{"mac":"{}","name":"{}","image":"{}","boot":"{}","overlay":"{}","ip":{},"target":"{}","initiator":"{}","chap":{},"line":{}}})",
      h.mac.str(), json_escape(h.name), json_escape(h.image), to_string(h.boot),
      to_string(h.overlay), h.ip ? "\"" + h.ip->str() + "\"" : std::string("null"),
      json_escape(inv.target_iqn(h)), json_escape(inv.initiator_iqn(h)), h.chap ? "true" : "false",
      h.line);
}

// storage::inspect_image for every image file that exists (a missing one is the loader's
// problem already), as problems at the image's line.
std::vector<inventory::problem> inspect_images(const inventory::inventory& inv,
                                               const std::filesystem::path& file) {
  std::vector<inventory::problem> out;
  for (const auto& img : inv.images) {
    std::error_code ec;
    if (img.disk.empty()) continue;  // no file (none, or on RBD: checked by `serve`)
    const auto disk = inv.resolve(img.disk);
    if (!std::filesystem::exists(disk, ec)) continue;
    for (auto& ip : storage::inspect_image(disk)) {
      inventory::problem p;
      p.severity = ip.error ? inventory::problem::level::error : inventory::problem::level::warning;
      p.file = file.string();
      p.line = img.line;
      p.message = "image '" + img.name + "': " + ip.message;
      p.image = img.name;
      out.push_back(std::move(p));
    }
  }
  return out;
}

int check(const global_options& g, const std::string& file, bool strict) {
  const std::filesystem::path path = file.empty() ? g.config : std::filesystem::path(file);
  auto r = inventory::load_file(path);
  // The boot templates the inventory's hosts would be served with are part of the check, and so
  // are the image files' contents (corrupt or hostile qcow2 metadata, partial blocks).
  if (r.loaded()) {
    for (auto& p : boot::check_templates(*r.inv)) r.problems.push_back(std::move(p));
    for (auto& p : inspect_images(*r.inv, path)) r.problems.push_back(std::move(p));
  }
  print_problems(r.problems);
  // Every problem counts here, even one that serve would only disable a host or image for.
  const std::size_t errors = r.error_count();
  const std::size_t warnings = r.problems.size() - errors;
  if (errors > 0 || !r.loaded()) {
    std::fprintf(stderr, "%s: %zu error(s)\n", path.c_str(), errors);
    return 1;
  }
  if (strict && warnings > 0) {
    std::fprintf(stderr, "%s: %zu warning(s), refused by --strict\n", path.c_str(), warnings);
    return 1;
  }
  std::printf("%s: valid (%zu image(s), %zu host(s)%s)\n", path.c_str(), r.inv->images.size(),
              r.inv->hosts.size(),
              warnings == 0 ? "" : fmt::format(", {} warning(s)", warnings).c_str());
  return 0;
}

int host_list(const global_options& g, bool json) {
  auto r = load_or_report(g);
  if (!r.loaded()) return 1;
  const auto& inv = *r.inv;
  if (json) {
    std::string out = "[";
    for (std::size_t i = 0; i < inv.hosts.size(); ++i)
      out += (i ? "," : "") + host_json(inv, inv.hosts[i]);
    std::printf("%s]\n", out.c_str());
    return 0;
  }
  std::printf("%-17s  %-16s %-16s %-10s %-10s %s\n", "MAC", "NAME", "IMAGE", "BOOT", "OVERLAY",
              "IP");
  for (const auto& h : inv.hosts)
    std::printf("%s%s\n", host_line(inv, h).c_str(),
                inv.disabled_hosts.contains(h.name) ? "  (disabled)" : "");
  return 0;
}

int host_show(const global_options& g, const std::string& key, bool json) {
  auto r = load_or_report(g);
  if (!r.loaded()) return 1;
  const auto& inv = *r.inv;
  const auto* h = inv.find_host_by_key(key);
  if (!h) {
    std::fprintf(stderr, "no host named or with MAC '%s'\n", key.c_str());
    return 1;
  }
  if (json) {
    std::printf("%s\n", host_json(inv, *h).c_str());
    return 0;
  }
  std::printf(
      "name       %s\nmac        %s\nimage      %s\nboot       %s\noverlay    %s\n"
      "ip         %s\ntarget     %s\ninitiator  %s\nchap       %s\nboot file  %s\n",
      h->name.c_str(), h->mac.str().c_str(), h->image.c_str(),
      std::string(to_string(h->boot)).c_str(), std::string(to_string(h->overlay)).c_str(),
      h->ip ? h->ip->str().c_str() : "-", inv.target_iqn(*h).c_str(), inv.initiator_iqn(*h).c_str(),
      h->chap ? (h->chap->mutual() ? "mutual" : "one-way") : "none",
      boot::script_path(h->mac).c_str());
  return 0;
}

int host_add(const global_options& g, const std::string& mac_text, const attr_options& opts) {
  auto mac = mac_address::parse(mac_text);
  if (!mac) {
    std::fprintf(stderr, "'%s' is not a MAC address; write aa:bb:cc:dd:ee:ff\n", mac_text.c_str());
    return 2;
  }
  auto given = collect(opts, false);
  if (!given) {
    std::fprintf(stderr, "diskless host add: %s\n", given.error_message().c_str());
    return 2;
  }
  inventory::attributes attrs{{"mac", mac->str()}};
  std::string name = mac->dashed();
  for (const auto& [k, v] : *given) {
    if (k == "mac") continue;
    if (k == "name") name = v;
    attrs.emplace_back(k, v);
  }
  if (std::none_of(attrs.begin(), attrs.end(), [](auto& a) { return a.first == "name"; }))
    attrs.insert(attrs.begin() + 1, {"name", name});
  return apply_edit(
      g, [&](std::string_view t) { return inventory::add_host(t, attrs); },
      fmt::format("host {} ({}) added", name, mac->str()));
}

int host_set(const global_options& g, const std::string& key, const attr_options& opts) {
  auto attrs = collect(opts, true);
  if (attrs && attrs->empty()) attrs = error{"nothing to change: give --KEY VALUE or --unset KEY"};
  if (!attrs) {
    std::fprintf(stderr, "diskless host set: %s\n", attrs.error_message().c_str());
    return 2;
  }
  for (auto& [k, v] : *attrs)
    if (k == "mac" && !v.empty()) {
      auto m = mac_address::parse(v);
      if (!m) {
        std::fprintf(stderr, "'%s' is not a MAC address\n", v.c_str());
        return 2;
      }
      v = m->str();
    }
  return apply_edit(
      g, [&](std::string_view t) { return inventory::set_host(t, key, *attrs); },
      fmt::format("host {} updated", key));
}

int image_list(const global_options& g, bool json) {
  auto r = load_or_report(g);
  if (!r.loaded()) return 1;
  const auto& inv = *r.inv;
  if (json)
    std::printf("[");
  else
    std::printf("%-16s %-6s %s\n", "NAME", "HOSTS", "FILES");
  bool first = true;
  for (const auto& img : inv.images) {
    auto users = std::count_if(inv.hosts.begin(), inv.hosts.end(),
                               [&](auto& h) { return h.image == img.name; });
    if (json) {
      std::printf(
          "%s{\"name\":\"%s\",\"disk\":\"%s\",\"kernel\":\"%s\",\"initrd\":\"%s\","
          "\"cmdline\":\"%s\",\"hosts\":%ld}",
          first ? "" : ",", json_escape(img.name).c_str(), json_escape(img.disk.string()).c_str(),
          json_escape(img.kernel.string()).c_str(), json_escape(img.initrd.string()).c_str(),
          json_escape(img.cmdline).c_str(), static_cast<long>(users));
      first = false;
      continue;
    }
    std::string files;
    if (!img.disk.empty()) files += "disk=" + img.disk.string() + " ";
    if (img.rbd) files += "rbd=" + img.rbd->spec() + " ";
    if (img.has_kernel()) files += "kernel=" + img.kernel.string() + " ";
    if (!img.initrd.empty()) files += "initrd=" + img.initrd.string();
    std::printf("%-16s %-6ld %s\n", img.name.c_str(), static_cast<long>(users), files.c_str());
  }
  if (json) std::printf("]\n");
  return 0;
}

int image_add(const global_options& g, const std::string& name, const attr_options& opts) {
  auto given = collect(opts, false);
  if (!given) {
    std::fprintf(stderr, "diskless image add: %s\n", given.error_message().c_str());
    return 2;
  }
  inventory::attributes attrs{{"name", name}};
  attrs.insert(attrs.end(), given->begin(), given->end());
  return apply_edit(
      g, [&](std::string_view t) { return inventory::add_image(t, attrs); },
      fmt::format("image {} added", name));
}

// State a leaf command's parse fills, shared by its option bindings and its action.
struct leaf_args {
  std::string key;
  bool json = false;
};

// Adds `name` under `parent` with one required positional (shown as `key`, e.g. "HOST").
CLI::App* add_keyed(CLI::App& parent, const char* name, const char* help, const char* key,
                    leaf_args& a) {
  auto* sub = parent.add_subcommand(name, help);
  sub->add_option(key, a.key, std::string(key) == "HOST" ? "the host's name or MAC" : key)
      ->required();
  return sub;
}

// Adds `remove KEY` under `parent`: the inventory edit `remove` (of a host or an image) applied
// to the file, then "<what> KEY removed".
using remove_edit = result<std::string> (*)(std::string_view, std::string_view);
void add_remove(CLI::App& parent, const char* help, const char* key, const char* what,
                remove_edit remove, const std::shared_ptr<leaf_args>& a, const global_options& g,
                action& chosen) {
  auto* sub = add_keyed(parent, "remove", help, key, *a);
  sub->callback([&g, &chosen, a, remove, what] {
    chosen = [&g, a, remove, what] {
      return apply_edit(
          g, [&](std::string_view t) { return remove(t, a->key); },
          fmt::format("{} {} removed", what, a->key));
    };
  });
}

}  // namespace

void add_check_command(CLI::App& app, const global_options& g, action& chosen) {
  auto file = std::make_shared<std::string>();
  auto* sub = app.add_subcommand(
      "check", "validate the inventory (default: -c FILE); problems as FILE:LINE: message");
  sub->add_option("FILE", *file, "the inventory to check instead of -c FILE");
  auto strict = std::make_shared<bool>(false);
  sub->add_flag("--strict", *strict, "treat warnings as errors (exit 1), for CI");
  sub->callback([&g, &chosen, file, strict] {
    chosen = [&g, file, strict] { return check(g, *file, *strict); };
  });
}

void add_host_command(CLI::App& app, const global_options& g, action& chosen) {
  auto* host = app.add_subcommand("host", "the PCs in the inventory")->require_subcommand(1);
  auto a = std::make_shared<leaf_args>();
  auto* list = host->add_subcommand("list", "list the hosts");
  list->add_flag("--json", a->json, "one JSON array");
  list->callback([&, a] { chosen = [&g, a] { return host_list(g, a->json); }; });
  auto* show = add_keyed(*host, "show", "one host's settings", "HOST", *a);
  show->add_flag("--json", a->json, "one JSON object");
  show->callback([&, a] { chosen = [&g, a] { return host_show(g, a->key, a->json); }; });
  auto* add = add_keyed(*host, "add", "add a host (written into the inventory)", "MAC", *a);
  auto add_opts = add_attr_options(*add, host_attrs, false);
  add->callback(
      [&, a, add_opts] { chosen = [&g, a, add_opts] { return host_add(g, a->key, *add_opts); }; });
  auto* set = add_keyed(*host, "set", "change a host's attributes", "HOST", *a);
  auto set_opts = add_attr_options(*set, host_attrs, true);
  set->callback(
      [&, a, set_opts] { chosen = [&g, a, set_opts] { return host_set(g, a->key, *set_opts); }; });
  add_remove(*host, "remove a host", "HOST", "host", inventory::remove_host, a, g, chosen);
}

void add_image_command(CLI::App& app, const global_options& g, action& chosen) {
  auto* image = app.add_subcommand("image", "the images hosts boot")->require_subcommand(1);
  auto a = std::make_shared<leaf_args>();
  auto* list = image->add_subcommand("list", "list the images and how many hosts use each");
  list->add_flag("--json", a->json, "one JSON array");
  list->callback([&, a] { chosen = [&g, a] { return image_list(g, a->json); }; });
  auto* add = add_keyed(*image, "add",
                        "add an image: --disk FILE, or --kernel FILE [--initrd FILE] "
                        "[--cmdline TEXT]",
                        "NAME", *a);
  auto add_opts = add_attr_options(*add, image_attrs, false);
  add->callback(
      [&, a, add_opts] { chosen = [&g, a, add_opts] { return image_add(g, a->key, *add_opts); }; });
  add_remove(*image, "remove an image no host uses", "NAME", "image", inventory::remove_image, a, g,
             chosen);
}

}  // namespace diskless::cli
