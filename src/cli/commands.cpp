// `diskless check`, `diskless host ...`, `diskless image ...`.
#include "cli/commands.hpp"

#include <fmt/format.h>

#include <boost/program_options.hpp>
#include <cstdio>

#include "boot/script.hpp"
#include "inventory/edit.hpp"
#include "inventory/load.hpp"

namespace po = boost::program_options;

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
  if (!r.ok()) {
    print_problems(r.problems);
    std::fprintf(stderr, "%s: %zu error(s)\n", g.config.c_str(), r.error_count());
  }
  return r;
}

// Attribute options shared by `host add` and `host set` (name in XML = option name).
const std::vector<std::string> host_attrs = {"mac",
                                             "name",
                                             "image",
                                             "boot",
                                             "overlay",
                                             "ip",
                                             "chap-user",
                                             "chap-secret",
                                             "mutual-user",
                                             "mutual-secret",
                                             "allow-any-initiator",
                                             "force-option43",
                                             "reply-delay"};
const std::vector<std::string> image_attrs = {"disk",    "kernel",         "initrd",
                                              "cmdline", "root-partition", "rootfstype"};

struct parsed_args {
  std::vector<std::string> positional;
  inventory::attributes attrs;  // in the schema's order
  bool json = false;
};

parsed_args parse_attrs(const std::vector<std::string>& args, const std::vector<std::string>& names,
                        bool allow_unset) {
  po::options_description d;
  std::vector<std::string> values(names.size());
  std::vector<std::string> unset;
  for (std::size_t i = 0; i < names.size(); ++i)
    d.add_options()(names[i].c_str(), po::value(&values[i]));
  d.add_options()("json", "")("words", po::value<std::vector<std::string>>());
  if (allow_unset) d.add_options()("unset", po::value(&unset));
  po::positional_options_description pos;
  pos.add("words", -1);
  po::variables_map vm;
  po::store(
      po::command_line_parser(args)
          .options(d)
          .positional(pos)
          .style(po::command_line_style::default_style & ~po::command_line_style::allow_guessing)
          .run(),
      vm);
  po::notify(vm);
  parsed_args out;
  if (vm.count("words")) out.positional = vm["words"].as<std::vector<std::string>>();
  out.json = vm.count("json") > 0;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (vm.count(names[i])) {
      if (values[i].empty() && !allow_unset)
        throw std::runtime_error("--" + names[i] + " needs a value");
      out.attrs.emplace_back(names[i], values[i]);
    }
  }
  for (const auto& u : unset) {
    if (std::find(names.begin(), names.end(), u) == names.end())
      throw std::runtime_error("--unset " + u + ": not an attribute; one of " +
                               fmt::format("{}", fmt::join(names, ", ")));
    out.attrs.emplace_back(u, "");
  }
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

}  // namespace

int run_check(const global_options& g, const std::vector<std::string>& args) {
  global_options local = g;
  if (args.size() > 1) {
    std::fprintf(stderr, "usage: diskless check [FILE]\n");
    return 2;
  }
  if (args.size() == 1) local.config = args[0];
  auto r = inventory::load_file(local.config);
  // The boot templates the inventory's hosts would be served with are part of the check.
  if (r.ok()) {
    for (auto& p : boot::check_templates(*r.inv)) r.problems.push_back(std::move(p));
    if (r.error_count() > 0) r.inv.reset();
  }
  print_problems(r.problems);
  if (!r.ok()) {
    std::fprintf(stderr, "%s: %zu error(s)\n", local.config.c_str(), r.error_count());
    return 1;
  }
  std::printf("%s: valid (%zu image(s), %zu host(s)%s)\n", local.config.c_str(),
              r.inv->images.size(), r.inv->hosts.size(),
              r.problems.empty() ? "" : fmt::format(", {} warning(s)", r.problems.size()).c_str());
  return 0;
}

int run_host(const global_options& g, const std::vector<std::string>& args) {
  if (args.empty()) {
    std::fprintf(stderr, "usage: diskless host list|show|add|set|remove ...\n");
    return 2;
  }
  const std::string& sub = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (sub == "list" || sub == "show") {
    auto p = parse_attrs(rest, {}, false);
    auto r = load_or_report(g);
    if (!r.ok()) return 1;
    const auto& inv = *r.inv;
    if (sub == "show") {
      if (p.positional.size() != 1) {
        std::fprintf(stderr, "usage: diskless host show NAME|MAC\n");
        return 2;
      }
      const auto* h = inv.find_host_by_key(p.positional[0]);
      if (!h) {
        std::fprintf(stderr, "no host named or with MAC '%s'\n", p.positional[0].c_str());
        return 1;
      }
      if (p.json) {
        std::printf("%s\n", host_json(inv, *h).c_str());
        return 0;
      }
      std::printf(
          "name       %s\nmac        %s\nimage      %s\nboot       %s\noverlay    %s\n"
          "ip         %s\ntarget     %s\ninitiator  %s\nchap       %s\nboot file  boot/%s.ipxe\n",
          h->name.c_str(), h->mac.str().c_str(), h->image.c_str(),
          std::string(to_string(h->boot)).c_str(), std::string(to_string(h->overlay)).c_str(),
          h->ip ? h->ip->str().c_str() : "-", inv.target_iqn(*h).c_str(),
          inv.initiator_iqn(*h).c_str(),
          h->chap ? (h->chap->mutual() ? "mutual" : "one-way") : "none", h->mac.dashed().c_str());
      return 0;
    }
    if (p.json) {
      std::string out = "[";
      for (std::size_t i = 0; i < inv.hosts.size(); ++i)
        out += (i ? "," : "") + host_json(inv, inv.hosts[i]);
      std::printf("%s]\n", out.c_str());
      return 0;
    }
    std::printf("%-17s  %-16s %-16s %-10s %-10s %s\n", "MAC", "NAME", "IMAGE", "BOOT", "OVERLAY",
                "IP");
    for (const auto& h : inv.hosts) std::printf("%s\n", host_line(inv, h).c_str());
    return 0;
  }
  if (sub == "add") {
    auto p = parse_attrs(rest, host_attrs, false);
    if (p.positional.size() != 1) {
      std::fprintf(stderr,
                   "usage: diskless host add MAC --name NAME --image IMAGE --boot METHOD "
                   "[--overlay MODE] [--ip IP] ...\n");
      return 2;
    }
    auto mac = mac_address::parse(p.positional[0]);
    if (!mac) {
      std::fprintf(stderr, "'%s' is not a MAC address; write aa:bb:cc:dd:ee:ff\n",
                   p.positional[0].c_str());
      return 2;
    }
    inventory::attributes attrs{{"mac", mac->str()}};
    std::string name = mac->dashed();
    for (const auto& [k, v] : p.attrs) {
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
  if (sub == "set") {
    auto p = parse_attrs(rest, host_attrs, true);
    if (p.positional.size() != 1 || p.attrs.empty()) {
      std::fprintf(stderr, "usage: diskless host set NAME|MAC --key value ... [--unset KEY]\n");
      return 2;
    }
    for (auto& [k, v] : p.attrs)
      if (k == "mac" && !v.empty()) {
        auto m = mac_address::parse(v);
        if (!m) {
          std::fprintf(stderr, "'%s' is not a MAC address\n", v.c_str());
          return 2;
        }
        v = m->str();
      }
    return apply_edit(
        g, [&](std::string_view t) { return inventory::set_host(t, p.positional[0], p.attrs); },
        fmt::format("host {} updated", p.positional[0]));
  }
  if (sub == "remove") {
    if (rest.size() != 1) {
      std::fprintf(stderr, "usage: diskless host remove NAME|MAC\n");
      return 2;
    }
    return apply_edit(
        g, [&](std::string_view t) { return inventory::remove_host(t, rest[0]); },
        fmt::format("host {} removed", rest[0]));
  }
  std::fprintf(stderr, "diskless host: unknown subcommand '%s' (list, show, add, set, remove)\n",
               sub.c_str());
  return 2;
}

int run_image(const global_options& g, const std::vector<std::string>& args) {
  if (args.empty()) {
    std::fprintf(stderr, "usage: diskless image list|add|remove ...\n");
    return 2;
  }
  const std::string& sub = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (sub == "list") {
    auto p = parse_attrs(rest, {}, false);
    auto r = load_or_report(g);
    if (!r.ok()) return 1;
    const auto& inv = *r.inv;
    if (p.json)
      std::printf("[");
    else
      std::printf("%-16s %-6s %s\n", "NAME", "HOSTS", "FILES");
    bool first = true;
    for (const auto& img : inv.images) {
      auto users = std::count_if(inv.hosts.begin(), inv.hosts.end(),
                                 [&](auto& h) { return h.image == img.name; });
      if (p.json) {
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
      if (img.has_disk()) files += "disk=" + img.disk.string() + " ";
      if (img.has_kernel()) files += "kernel=" + img.kernel.string() + " ";
      if (!img.initrd.empty()) files += "initrd=" + img.initrd.string();
      std::printf("%-16s %-6ld %s\n", img.name.c_str(), static_cast<long>(users), files.c_str());
    }
    if (p.json) std::printf("]\n");
    return 0;
  }
  if (sub == "add") {
    auto p = parse_attrs(rest, image_attrs, false);
    if (p.positional.size() != 1) {
      std::fprintf(stderr,
                   "usage: diskless image add NAME --disk FILE | --kernel FILE "
                   "[--initrd FILE] [--cmdline TEXT]\n");
      return 2;
    }
    inventory::attributes attrs{{"name", p.positional[0]}};
    attrs.insert(attrs.end(), p.attrs.begin(), p.attrs.end());
    return apply_edit(
        g, [&](std::string_view t) { return inventory::add_image(t, attrs); },
        fmt::format("image {} added", p.positional[0]));
  }
  if (sub == "remove") {
    if (rest.size() != 1) {
      std::fprintf(stderr, "usage: diskless image remove NAME\n");
      return 2;
    }
    return apply_edit(
        g, [&](std::string_view t) { return inventory::remove_image(t, rest[0]); },
        fmt::format("image {} removed", rest[0]));
  }
  std::fprintf(stderr, "diskless image: unknown subcommand '%s' (list, add, remove)\n",
               sub.c_str());
  return 2;
}

}  // namespace diskless::cli
