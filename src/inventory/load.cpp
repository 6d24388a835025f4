#include "inventory/load.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <pugixml.hpp>
#include <set>

#include "inventory/paths.hpp"
#include "inventory/validate.hpp"
#include "inventory/values.hpp"
#include "util/file.hpp"

namespace diskless::inventory {

int line_of_offset(std::string_view text, std::ptrdiff_t offset) {
  if (offset < 0) return 0;
  auto end = std::min<std::size_t>(static_cast<std::size_t>(offset), text.size());
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + end, '\n'));
}

namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      cur[j] =
          std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1] ? 1 : 0)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// " (did you mean 'x'?)" for the closest known word, or a list of what is allowed.
std::string suggestion(std::string_view got, const std::vector<std::string_view>& known) {
  std::string_view best;
  std::size_t best_d = 3;
  for (auto k : known) {
    auto d = edit_distance(got, k);
    if (d < best_d) best_d = d, best = k;
  }
  if (!best.empty()) return fmt::format("; did you mean '{}'?", best);
  return fmt::format("; expected one of: {}", fmt::join(known, ", "));
}

// Element name → allowed attributes and child elements.
struct element_schema {
  std::vector<std::string_view> attributes;
  std::vector<std::string_view> children;
};

const std::map<std::string_view, element_schema>& schema() {
  static const std::map<std::string_view, element_schema> s = {
      {"diskless", {{"version"}, {"server", "images", "hosts"}}},
      {"server", {{"address", "interface"}, {"dhcp", "tftp", "iscsi", "http", "api", "state"}}},
      {"dhcp",
       {{"mode", "range", "netmask", "router", "dns", "lease-time", "efi-loader", "ra",
         "known-only"},
        {}}},
      {"tftp", {{"root", "port", "port-range", "max-transfers"}, {}}},
      {"iscsi",
       {{"port", "iqn", "nop-interval", "max-connections", "max-connections-per-address",
         "login-timeout", "discovery-timeout", "auth-failures"},
        {}}},
      {"http", {{"port", "enabled", "address"}, {}}},
      {"api", {{"address", "port", "token-file", "open-reads", "enabled"}, {}}},
      {"state", {{"dir"}, {}}},
      {"images", {{}, {"image"}}},
      {"image",
       {{"name", "disk", "rbd", "snapshot", "ceph-conf", "ceph-user", "kernel", "initrd", "cmdline",
         "root-partition", "rootfstype"},
        {}}},
      {"hosts", {{"unknown"}, {"host"}}},
      {"host",
       {{"mac", "name", "image", "boot", "overlay", "ip", "chap-user", "chap-secret", "mutual-user",
         "mutual-secret", "allow-any-initiator", "force-option43", "reply-delay"},
        {}}},
  };
  return s;
}

// Byte offsets where each line starts, built once so that a node's line is a binary search:
// counting newlines from the start per node made loading quadratic in the file size.
class line_table {
 public:
  explicit line_table(std::string_view text) {
    starts_.push_back(0);
    for (std::size_t i = 0; i < text.size(); ++i)
      if (text[i] == '\n') starts_.push_back(i + 1);
  }
  // 1-based line of a byte offset; 0 for a negative offset (pugixml's "unknown").
  int line(std::ptrdiff_t offset) const {
    if (offset < 0) return 0;
    auto it = std::upper_bound(starts_.begin(), starts_.end(), static_cast<std::size_t>(offset));
    return static_cast<int>(it - starts_.begin());
  }

 private:
  std::vector<std::size_t> starts_;
};

class loader {
 public:
  loader(std::string_view text, const std::filesystem::path& file, const load_options& opts)
      : text_(text), lines_(text), file_(file.string()), opts_(opts) {}

  load_result run() {
    auto inv = std::make_shared<inventory>();
    inv->source = file_;
    inv->base_dir = opts_.base_dir.empty() ? std::filesystem::current_path() : opts_.base_dir;

    pugi::xml_document doc;
    auto parsed = doc.load_buffer(text_.data(), text_.size(), pugi::parse_default);
    if (!parsed) {
      add(problem::level::error, line_of_offset(text_, parsed.offset),
          fmt::format("malformed XML: {}; fix the markup here", parsed.description()));
      return finish(nullptr);
    }
    auto root = doc.document_element();
    if (std::string_view(root.name()) != "diskless") {
      err(root, fmt::format("the root element is <{}>; write <diskless version=\"1\"> ... "
                            "</diskless>",
                            root.name()));
      return finish(nullptr);
    }
    check_structure(root);
    if (auto v = root.attribute("version"); v && std::string_view(v.value()) != "1")
      err(root, fmt::format("version=\"{}\" is not supported; write version=\"1\"", v.value()));

    read_server(root.child("server"), *inv);
    for (auto n : root.child("images").children("image")) read_image(n, *inv);
    auto hosts = root.child("hosts");
    read_unknown(hosts, *inv);
    for (auto n : hosts.children("host")) read_host(n, *inv);

    validate(*inv, opts_, problems_, file_);
    return finish(inv);
  }

 private:
  int line(pugi::xml_node n) const { return lines_.line(n.offset_debug()); }

  void add(problem::level lvl, int line, std::string msg) {
    problems_.push_back(problem{lvl, file_, line, std::move(msg), {}, {}});
  }
  void err(pugi::xml_node n, std::string msg) {
    add(problem::level::error, line(n), std::move(msg));
  }

  load_result finish(std::shared_ptr<inventory> inv) {
    load_result r;
    r.problems = std::move(problems_);
    bool server_wide = std::any_of(r.problems.begin(), r.problems.end(), [](const problem& p) {
      return p.severity == problem::level::error && !p.scoped();
    });
    if (inv && !server_wide) {
      disable_scoped(*inv, r.problems, file_);
      r.inv = std::move(inv);
    }
    std::stable_sort(r.problems.begin(), r.problems.end(),
                     [](const problem& a, const problem& b) { return a.line < b.line; });
    return r;
  }

  // Unknown elements and attributes, recursively, with a "did you mean".
  void check_structure(pugi::xml_node n) {
    auto it = schema().find(n.name());
    if (it == schema().end()) return;  // reported by the parent
    const auto& s = it->second;
    for (auto a : n.attributes()) {
      std::string_view name = a.name();
      if (std::find(s.attributes.begin(), s.attributes.end(), name) == s.attributes.end()) {
        err(n, fmt::format("<{}> has no attribute '{}'{}", n.name(), name,
                           s.attributes.empty() ? std::string("; it takes none")
                                                : suggestion(name, s.attributes)));
      }
    }
    std::map<std::string_view, int> seen;
    for (auto c : n.children()) {
      if (c.type() != pugi::node_element) continue;
      std::string_view name = c.name();
      if (std::find(s.children.begin(), s.children.end(), name) == s.children.end()) {
        err(c, fmt::format("<{}> is not allowed inside <{}>{}", name, n.name(),
                           s.children.empty() ? std::string("; it takes no elements")
                                              : suggestion(name, s.children)));
        continue;
      }
      if (name != "image" && name != "host" && ++seen[name] == 2)
        err(c, fmt::format("<{}> appears twice inside <{}>; keep one", name, n.name()));
      check_structure(c);
    }
  }

  std::optional<ipv4_address> ip_attr(pugi::xml_node n, const char* attr) {
    auto a = n.attribute(attr);
    if (!a) return std::nullopt;
    auto ip = ipv4_address::parse(a.value());
    if (!ip)
      err(n, fmt::format("{}=\"{}\" is not an IPv4 address; write a dotted quad like 10.0.0.1",
                         attr, a.value()));
    return ip;
  }

  template <typename T>
  std::optional<T> number_attr(pugi::xml_node n, const char* attr, T lo, T hi) {
    auto a = n.attribute(attr);
    if (!a) return std::nullopt;
    auto v = parse_number<T>(a.value());
    if (!v || *v < lo || *v > hi) {
      err(n,
          fmt::format("{}=\"{}\" must be a whole number from {} to {}", attr, a.value(), lo, hi));
      return std::nullopt;
    }
    return v;
  }

  std::optional<bool> bool_attr(pugi::xml_node n, const char* attr) {
    auto a = n.attribute(attr);
    if (!a) return std::nullopt;
    std::string_view v = a.value();
    if (v == "true" || v == "yes" || v == "1") return true;
    if (v == "false" || v == "no" || v == "0") return false;
    err(n, fmt::format("{}=\"{}\" must be true or false", attr, v));
    return std::nullopt;
  }

  void read_api(pugi::xml_node a, api_config& api) {
    api.enabled = bool_attr(a, "enabled").value_or(true);
    if (auto ip = ip_attr(a, "address")) api.address = *ip;
    if (auto p = number_attr<std::uint16_t>(a, "port", 1, 65535)) api.port = *p;
    api.token_file = a.attribute("token-file").value();
    if (auto o = bool_attr(a, "open-reads")) api.open_reads = *o;
  }

  void read_server(pugi::xml_node s, inventory& inv) {
    auto& srv = inv.server;
    if (!s) return;  // all defaults
    srv.address = ip_attr(s, "address");
    srv.interface = s.attribute("interface").value();
    if (auto d = s.child("dhcp")) read_dhcp(d, srv.dhcp);
    if (auto t = s.child("tftp")) read_tftp(t, srv.tftp);
    if (auto i = s.child("iscsi")) read_iscsi(i, srv.iscsi);
    if (auto h = s.child("http")) {
      if (auto p = number_attr<std::uint16_t>(h, "port", 1, 65535)) srv.http.port = *p;
      if (auto e = bool_attr(h, "enabled")) srv.http.enabled = *e;
      srv.http.address = ip_attr(h, "address");
    }
    if (auto a = s.child("api")) read_api(a, srv.api);
    if (auto st = s.child("state")) {
      if (auto d = st.attribute("dir")) {
        if (std::string_view(d.value()).empty())
          err(st, "dir=\"\" is empty; write a directory, like dir=\"state\"");
        else
          srv.state_dir = d.value();
      }
    }
  }

  void read_dhcp(pugi::xml_node d, dhcp_config& c) {
    c.line = line(d);
    if (auto m = d.attribute("mode")) {
      if (auto mode = parse_dhcp_mode(m.value()))
        c.mode = *mode;
      else
        err(d, fmt::format("mode=\"{}\" is not a DHCP mode{}", m.value(),
                           suggestion(m.value(), {"proxy", "full", "off"})));
    }
    if (auto r = d.attribute("range")) {
      std::string_view v = r.value();
      auto dash = v.find('-');
      auto a = dash == v.npos ? std::nullopt : ipv4_address::parse(v.substr(0, dash));
      auto b = dash == v.npos ? std::nullopt : ipv4_address::parse(v.substr(dash + 1));
      if (!a || !b || *b < *a)
        err(d, fmt::format("range=\"{}\" must be FIRST-LAST with FIRST <= LAST, like "
                           "10.0.0.100-10.0.0.199",
                           v));
      else
        c.range_start = a, c.range_end = b;
    }
    c.netmask = ip_attr(d, "netmask");
    if (c.netmask && !is_valid_netmask(*c.netmask))
      err(d, fmt::format("netmask=\"{}\" is not a contiguous netmask; write e.g. 255.255.255.0",
                         c.netmask->str()));
    c.router = ip_attr(d, "router");
    read_dhcp_options(d, c);
  }

  // What the full-mode DHCP server hands out beyond addresses, and the boot-time knobs.
  void read_dhcp_options(pugi::xml_node d, dhcp_config& c) {
    if (auto dns = d.attribute("dns")) {
      std::string_view v = dns.value();
      while (!v.empty()) {
        auto comma = v.find(',');
        auto part = v.substr(0, comma);
        while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
        while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
        if (auto ip = ipv4_address::parse(part))
          c.dns.push_back(*ip);
        else
          err(d, fmt::format("dns=\"{}\": '{}' is not an IPv4 address; write a comma-separated "
                             "list like 10.0.0.1,10.0.0.2",
                             dns.value(), part));
        if (comma == v.npos) break;
        v.remove_prefix(comma + 1);
      }
    }
    if (auto lt = d.attribute("lease-time")) {
      auto t = parse_duration(lt.value());
      if (!t || t->count() < 60)
        err(d, fmt::format("lease-time=\"{}\" must be a duration of at least 60 s, like 3600, "
                           "30m, 1h or 1d",
                           lt.value()));
      else
        c.lease_time = *t;
    }
    if (auto e = d.attribute("efi-loader")) {
      std::string_view v = e.value();
      if (v != "ipxe.efi" && v != "snponly.efi")
        err(d, fmt::format("efi-loader=\"{}\" must be ipxe.efi or snponly.efi", v));
      else
        c.efi_loader = v;
    }
    if (auto k = bool_attr(d, "known-only")) c.known_only = *k;
    if (auto r = d.attribute("ra")) {
      std::string_view v = r.value();
      if (v == "on" || v == "true" || v == "yes")
        c.ra = true;
      else if (v == "off" || v == "false" || v == "no")
        c.ra = false;
      else
        err(d, fmt::format("ra=\"{}\" must be on or off (IPv6 router advertisements; the "
                           "default is on in full mode, off otherwise)",
                           v));
    }
  }

  void read_tftp(pugi::xml_node t, tftp_config& c) {
    if (auto r = t.attribute("root")) c.root = r.value();
    if (auto p = number_attr<std::uint16_t>(t, "port", 1, 65535)) c.port = *p;
    if (auto r = t.attribute("port-range")) {
      std::string_view v = r.value();
      auto dash = v.find('-');
      auto lo = dash == v.npos ? std::nullopt : parse_number<std::uint16_t>(v.substr(0, dash));
      auto hi = dash == v.npos ? std::nullopt : parse_number<std::uint16_t>(v.substr(dash + 1));
      if (!lo || !hi || *lo == 0 || *hi < *lo)
        err(t, fmt::format("port-range=\"{}\" must be LOW-HIGH, like 30000-30999", v));
      else
        c.port_range_low = *lo, c.port_range_high = *hi;
    }
    if (auto m = number_attr<std::uint32_t>(t, "max-transfers", 1, 100000)) c.max_transfers = *m;
  }

  void read_iscsi(pugi::xml_node i, iscsi_config& c) {
    if (auto p = number_attr<std::uint16_t>(i, "port", 1, 65535)) c.port = *p;
    if (auto q = i.attribute("iqn")) {
      if (!is_valid_iqn(q.value()))
        err(i, fmt::format("iqn=\"{}\" is not an iSCSI qualified name; write "
                           "iqn.YYYY-MM.reversed.domain, lower case, like "
                           "iqn.2026-11.lan.diskless",
                           q.value()));
      else
        c.iqn = q.value();
    }
    read_seconds(i, "nop-interval", c.nop_interval);
    read_seconds(i, "login-timeout", c.login_timeout);
    read_seconds(i, "discovery-timeout", c.discovery_timeout);
    if (auto m = number_attr<std::uint32_t>(i, "max-connections", 1, 100000))
      c.max_connections = *m;
    if (auto m = number_attr<std::uint32_t>(i, "max-connections-per-address", 1, 100000))
      c.max_connections_per_address = *m;
    if (auto m = number_attr<std::uint32_t>(i, "auth-failures", 1, 1000)) c.auth_failures = *m;
  }

  void read_seconds(pugi::xml_node i, const char* name, std::chrono::seconds& out) {
    if (auto n = i.attribute(name)) {
      auto t = parse_duration(n.value());
      if (!t || t->count() < 1 || t->count() > 3600)
        err(i, fmt::format("{}=\"{}\" must be a duration from 1 s to 1 h, like 30 or 1m", name,
                           n.value()));
      else
        out = *t;
    }
  }

  void read_image(pugi::xml_node n, inventory& inv) {
    image img;
    img.line = line(n);
    img.name = n.attribute("name").value();
    if (img.name.empty()) err(n, "<image> needs a name=\"...\"");
    img.disk = n.attribute("disk").value();
    read_rbd(n, img);
    img.kernel = n.attribute("kernel").value();
    img.initrd = n.attribute("initrd").value();
    img.cmdline = n.attribute("cmdline").value();
    if (auto p = number_attr<std::uint32_t>(n, "root-partition", 1, 128)) img.root_partition = *p;
    if (auto f = n.attribute("rootfstype")) img.rootfstype = f.value();
    if (!img.has_disk() && !img.has_kernel())
      err(n, fmt::format("image '{}' has neither disk=\"...\", rbd=\"...\" nor kernel=\"...\"; "
                         "give it a disk image (raw or qcow2, or on Ceph RBD) or a kernel",
                         img.name));
    if (!img.initrd.empty() && !img.has_kernel())
      err(n, fmt::format("image '{}' has an initrd but no kernel=\"...\"", img.name));
    inv.images.push_back(std::move(img));
  }

  // rbd="POOL/IMAGE" [snapshot] [ceph-conf] [ceph-user]: syntax only, no cluster is asked.
  void read_rbd(pugi::xml_node n, image& img) {
    auto spec = n.attribute("rbd");
    if (!spec) {
      for (const char* a : {"snapshot", "ceph-conf", "ceph-user"})
        if (n.attribute(a))
          err(n,
              fmt::format("image '{}': {}=\"...\" only goes with rbd=\"POOL/IMAGE\"", img.name, a));
      return;
    }
    if (!img.disk.empty()) {
      err(n, fmt::format("image '{}' has both disk=\"...\" and rbd=\"...\"; keep one", img.name));
      return;
    }
    auto parsed = parse_rbd_spec(spec.value(), n.attribute("snapshot").value());
    if (!parsed) {
      err(n, fmt::format("image '{}': rbd=\"{}\" snapshot=\"{}\": {}", img.name, spec.value(),
                         n.attribute("snapshot").value(), parsed.error_message()));
      return;
    }
    parsed->conf = n.attribute("ceph-conf").value();
    parsed->user = n.attribute("ceph-user").value();
    if (auto u = n.attribute("ceph-user"); u && !valid_ceph_user(parsed->user))
      err(n, fmt::format("image '{}': ceph-user=\"{}\" must be client.NAME (letters, digits, "
                         "'.', '_', '-')",
                         img.name, u.value()));
    if (auto c = n.attribute("ceph-conf"); c && parsed->conf.empty())
      err(n,
          fmt::format("image '{}': ceph-conf is empty; remove it or name a ceph.conf", img.name));
    img.rbd = std::move(*parsed);
  }

  void read_unknown(pugi::xml_node hosts, inventory& inv) {
    auto u = hosts.attribute("unknown");
    if (!u) return;
    std::string_view v = u.value();
    if (v == "ignore")
      inv.unknown.what = unknown_policy::kind::ignore;
    else if (v == "local")
      inv.unknown.what = unknown_policy::kind::local;
    else if (v == "menu")
      inv.unknown.what = unknown_policy::kind::menu;
    else {
      inv.unknown.what = unknown_policy::kind::image;
      inv.unknown.image = v;
    }
    inv.unknown.line = line(hosts);
  }

  void read_host(pugi::xml_node n, inventory& inv) {
    host h;
    h.line = line(n);
    auto mac = n.attribute("mac");
    if (!mac) {
      err(n, "<host> needs mac=\"aa:bb:cc:dd:ee:ff\"");
    } else if (auto m = mac_address::parse(mac.value())) {
      h.mac = *m;
    } else {
      err(n, fmt::format("mac=\"{}\" is not a MAC address; write aa:bb:cc:dd:ee:ff", mac.value()));
    }
    h.name = n.attribute("name").value();
    if (h.name.empty())
      err(n, "<host> needs name=\"...\" (lower-case letters, digits, '-' and '.', like lab-01)");
    else if (!is_valid_host_name(h.name))
      err(n, fmt::format("name=\"{}\" is not usable in an IQN or file name; use lower-case "
                         "letters, digits, '-' and '.', starting with a letter or digit, like "
                         "lab-01",
                         h.name));
    h.image = n.attribute("image").value();
    if (auto b = n.attribute("boot")) {
      if (auto m = parse_boot_method(b.value()))
        h.boot = *m;
      else
        err(n, fmt::format(
                   "boot=\"{}\" is not a boot method{}", b.value(),
                   suggestion(b.value(), {"sanboot", "linux", "iscsi-root", "local", "menu"})));
    } else {
      h.boot = boot_method::sanboot;
    }
    if (auto o = n.attribute("overlay")) {
      if (auto m = parse_overlay_mode(o.value()))
        h.overlay = *m;
      else
        err(n, fmt::format("overlay=\"{}\" is not an overlay mode{}", o.value(),
                           suggestion(o.value(), {"none", "readonly", "persistent", "volatile"})));
    }
    h.ip = ip_attr(n, "ip");
    auto cu = n.attribute("chap-user"), cs = n.attribute("chap-secret");
    auto mu = n.attribute("mutual-user"), ms = n.attribute("mutual-secret");
    if (cu || cs || mu || ms) {
      chap_credentials c{cu.value(), cs.value(), mu.value(), ms.value()};
      if (c.user.empty() || c.secret.empty())
        err(n, "CHAP needs both chap-user=\"...\" and chap-secret=\"...\"");
      // RFC 7143 §12.1.3 wants secrets of at least 12 bytes (96 bits); iPXE and open-iscsi
      // accept shorter ones, Windows' initiator refuses < 12. Treat as an error: it is a
      // security setting admins expect to be right.
      if (!c.secret.empty() && !c.auto_secret() && (c.secret.size() < 12 || c.secret.size() > 16))
        err(n,
            "chap-secret must be 12 to 16 characters (RFC 7143 §12.1.3; Windows refuses others) "
            "or \"auto\" (a random secret per boot)");
      if ((!c.mutual_user.empty() || !c.mutual_secret.empty()) &&
          (c.mutual_user.empty() || c.mutual_secret.empty()))
        err(n, "mutual CHAP needs both mutual-user=\"...\" and mutual-secret=\"...\"");
      if (!c.mutual_secret.empty() && (c.mutual_secret.size() < 12 || c.mutual_secret.size() > 16))
        err(n, "mutual-secret must be 12 to 16 characters");
      if (!c.mutual_secret.empty() && c.mutual_secret == c.secret)
        err(n, "mutual-secret must differ from chap-secret (RFC 7143 §12.1.3)");
      h.chap = std::move(c);
    }
    if (auto a = bool_attr(n, "allow-any-initiator")) h.allow_any_initiator = *a;
    if (auto f = bool_attr(n, "force-option43")) h.quirks.force_option43 = *f;
    if (auto d = n.attribute("reply-delay")) {
      if (auto ms2 = parse_millis(d.value()))
        h.quirks.reply_delay = *ms2;
      else
        err(n, fmt::format("reply-delay=\"{}\" must be a delay up to 10 minutes, like 500ms or 2s",
                           d.value()));
    }
    inv.hosts.push_back(std::move(h));
  }

  std::string_view text_;
  line_table lines_;
  std::string file_;
  load_options opts_;
  std::vector<problem> problems_;
};

}  // namespace

const std::vector<std::string>& host_attribute_names() {
  static const std::vector<std::string> names = [] {
    const auto& a = schema().at("host").attributes;
    return std::vector<std::string>(a.begin(), a.end());
  }();
  return names;
}

load_result load_text(std::string_view xml, const std::filesystem::path& file,
                      const load_options& opts) {
  loader l(xml, file, opts);
  return l.run();
}

std::filesystem::path base_dir_of(const std::filesystem::path& file) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(file, ec);
  return (ec ? file : abs.lexically_normal()).parent_path();
}

std::filesystem::path default_path() {
  std::error_code ec;
  std::filesystem::path local = "config/diskless.xml";
  if (std::filesystem::exists(local, ec)) return local;
  return "/etc/diskless/diskless.xml";
}

load_result load_file(const std::filesystem::path& file, const load_options& opts) {
  auto text = read_file(file);
  if (!text) {
    load_result r;
    r.problems.push_back(problem{problem::level::error,
                                 file.string(),
                                 0,
                                 fmt::format("cannot read the inventory ({}); create it from "
                                             "config/diskless.xml or pass -c FILE",
                                             text.error_message()),
                                 {},
                                 {}});
    return r;
  }
  // Paths in an inventory mean the same whichever directory `diskless` runs in.
  load_options o = opts;
  if (o.base_dir.empty()) o.base_dir = base_dir_of(file);
  return load_text(*text, file, o);
}

}  // namespace diskless::inventory
