#include "inventory/edit.hpp"

#include <fmt/format.h>
#include <pugixml.hpp>

#include <sstream>

#include "util/file.hpp"
#include "util/net.hpp"

namespace diskless::inventory {

namespace {

constexpr unsigned parse_flags = pugi::parse_full | pugi::parse_ws_pcdata;

struct doc_text {
  pugi::xml_document doc;
  std::string error;
};

bool parse(std::string_view xml, pugi::xml_document& doc, std::string& error) {
  auto r = doc.load_buffer(xml.data(), xml.size(), parse_flags);
  if (!r) {
    error = fmt::format("the file is not well-formed XML (line {}: {}); fix it first",
                        line_of_offset(xml, r.offset), r.description());
    return false;
  }
  if (std::string_view(doc.document_element().name()) != "diskless") {
    error = "the root element is not <diskless>; fix the file first";
    return false;
  }
  return true;
}

// pugixml drops whitespace outside the root element, so the root element is printed and
// spliced between the original text's prefix and suffix.
std::string serialize(const pugi::xml_document& doc, std::string_view original) {
  std::ostringstream out;
  auto root = doc.document_element();
  root.print(out, "", pugi::format_raw);
  std::string_view close = "</diskless>";
  auto start = root.offset_debug() - 1;
  auto end = original.rfind(close);
  if (start < 0 || end == original.npos || static_cast<std::size_t>(start) >= end ||
      original[static_cast<std::size_t>(start)] != '<') {
    std::ostringstream all;
    doc.save(all, "", pugi::format_raw | pugi::format_no_declaration);
    return all.str();
  }
  return std::string(original.substr(0, static_cast<std::size_t>(start))) + out.str() +
         std::string(original.substr(end + close.size()));
}

bool is_ws(pugi::xml_node n) {
  if (n.type() != pugi::node_pcdata) return false;
  std::string_view v = n.value();
  return v.find_first_not_of(" \t\r\n") == v.npos;
}

// The indentation (the whitespace text before an element), e.g. "\n    ".
std::string indent_of(pugi::xml_node n) {
  auto prev = n.previous_sibling();
  if (prev && is_ws(prev)) return prev.value();
  return "\n";
}

// Appends `child` as the last element of `parent`, indented like its element siblings (or one
// level deeper than the parent), keeping the closing tag's own indentation.
pugi::xml_node append_element(pugi::xml_node parent, const char* name) {
  pugi::xml_node last_el, last_content;
  for (auto c : parent.children()) {
    if (c.type() == pugi::node_element) last_el = c;
    if (!is_ws(c)) last_content = c;  // elements, comments: the new one goes after them
  }
  std::string indent = last_el ? indent_of(last_el) : indent_of(parent) + "  ";
  if (last_el) {
    auto ws = parent.insert_child_after(pugi::node_pcdata, last_content);
    ws.set_value(indent.c_str());
    return parent.insert_child_after(name, ws);
  }
  // No element children: put the new one before any trailing whitespace (the closing tag's).
  auto last = parent.last_child();
  if (last && is_ws(last)) {
    auto ws = parent.insert_child_before(pugi::node_pcdata, last);
    ws.set_value(indent.c_str());
    return parent.insert_child_before(name, last);
  }
  auto ws = parent.append_child(pugi::node_pcdata);
  ws.set_value(indent.c_str());
  auto el = parent.append_child(name);
  auto close = parent.append_child(pugi::node_pcdata);
  close.set_value(indent_of(parent).c_str());
  return el;
}

void remove_element(pugi::xml_node n) {
  auto parent = n.parent();
  auto prev = n.previous_sibling();
  if (prev && is_ws(prev)) parent.remove_child(prev);
  parent.remove_child(n);
}

pugi::xml_node find_host(pugi::xml_node root, std::string_view key) {
  auto mac = mac_address::parse(key);
  for (auto h : root.child("hosts").children("host")) {
    if (std::string_view(h.attribute("name").value()) == key) return h;
    auto hm = mac_address::parse(h.attribute("mac").value());
    if (mac && hm && *mac == *hm) return h;
  }
  return {};
}

void set_attrs(pugi::xml_node n, const attributes& attrs) {
  for (const auto& [k, v] : attrs) {
    auto a = n.attribute(k.c_str());
    if (v.empty()) {
      if (a) n.remove_attribute(a);
    } else if (a) {
      a.set_value(v.c_str());
    } else {
      n.append_attribute(k.c_str()).set_value(v.c_str());
    }
  }
}

pugi::xml_node ensure_child(pugi::xml_node root, const char* name) {
  if (auto c = root.child(name)) return c;
  return append_element(root, name);
}

}  // namespace

result<std::string> add_host(std::string_view xml, const attributes& attrs) {
  pugi::xml_document doc;
  std::string e;
  if (!parse(xml, doc, e)) return error{e};
  auto hosts = ensure_child(doc.document_element(), "hosts");
  auto h = append_element(hosts, "host");
  set_attrs(h, attrs);
  return serialize(doc, xml);
}

result<std::string> set_host(std::string_view xml, std::string_view key, const attributes& attrs) {
  pugi::xml_document doc;
  std::string e;
  if (!parse(xml, doc, e)) return error{e};
  auto h = find_host(doc.document_element(), key);
  if (!h) return error{fmt::format("no host named or with MAC '{}'; see `diskless host list`", key)};
  set_attrs(h, attrs);
  return serialize(doc, xml);
}

result<std::string> remove_host(std::string_view xml, std::string_view key) {
  pugi::xml_document doc;
  std::string e;
  if (!parse(xml, doc, e)) return error{e};
  auto h = find_host(doc.document_element(), key);
  if (!h) return error{fmt::format("no host named or with MAC '{}'; see `diskless host list`", key)};
  remove_element(h);
  return serialize(doc, xml);
}

result<std::string> add_image(std::string_view xml, const attributes& attrs) {
  pugi::xml_document doc;
  std::string e;
  if (!parse(xml, doc, e)) return error{e};
  auto root = doc.document_element();
  pugi::xml_node images = root.child("images");
  if (!images) {
    // Keep the schema's order: <images> before <hosts>.
    if (auto hosts = root.child("hosts")) {
      std::string indent = indent_of(hosts);
      images = root.insert_child_before("images", hosts);
      root.insert_child_before(pugi::node_pcdata, hosts).set_value(indent.c_str());
      images.append_child(pugi::node_pcdata).set_value(indent.c_str());
    } else {
      images = append_element(root, "images");
    }
  }
  auto img = append_element(images, "image");
  set_attrs(img, attrs);
  return serialize(doc, xml);
}

result<std::string> remove_image(std::string_view xml, std::string_view name) {
  pugi::xml_document doc;
  std::string e;
  if (!parse(xml, doc, e)) return error{e};
  auto root = doc.document_element();
  for (auto img : root.child("images").children("image")) {
    if (std::string_view(img.attribute("name").value()) != name) continue;
    std::vector<std::string> users;
    for (auto h : root.child("hosts").children("host"))
      if (std::string_view(h.attribute("image").value()) == name)
        users.push_back(h.attribute("name").value());
    if (!users.empty())
      return error{fmt::format("image '{}' is used by host(s) {}; move them to another image first",
                               name, fmt::join(users, ", "))};
    if (std::string_view(root.child("hosts").attribute("unknown").value()) == name)
      return error{fmt::format("image '{}' is the unknown-PC policy (<hosts unknown=...>)", name)};
    remove_element(img);
    return serialize(doc, xml);
  }
  return error{fmt::format("no image named '{}'; see `diskless image list`", name)};
}

edit_outcome edit_file(const std::filesystem::path& file,
                       const std::function<result<std::string>(std::string_view)>& edit,
                       const load_options& opts) {
  edit_outcome out;
  file_lock lock(file);
  if (!lock.locked()) {
    out.error = fmt::format("cannot lock {}.lock", file.string());
    return out;
  }
  auto text = read_file(file);
  if (!text) {
    out.error = text.error_message();
    return out;
  }
  auto edited = edit(*text);
  if (!edited) {
    out.error = edited.error_message();
    return out;
  }
  auto check = load_text(*edited, file, opts);
  out.problems = std::move(check.problems);
  if (!check.ok()) return out;
  if (auto w = write_file_atomic(file, *edited); !w) {
    out.error = w.error_message();
    return out;
  }
  out.ok = true;
  return out;
}

}  // namespace diskless::inventory
