#include "inventory/edit.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <pugixml.hpp>
#include <set>

#include "util/file.hpp"
#include "util/net.hpp"

namespace diskless::inventory {

namespace {

// Edits are made on the text itself: pugixml only finds the elements (offsets) and reads values,
// and the change is spliced into the original text, so comments, attribute layout and line breaks
// of everything not edited stay byte for byte as the admin wrote them.

// Parses the inventory text and hands its <diskless> element to `edit` (which returns the new
// text); a file that is not well-formed XML or has another root is refused before any edit.
template <class Edit>
result<std::string> edit_document(std::string_view xml, Edit&& edit) {
  pugi::xml_document doc;
  auto r = doc.load_buffer(xml.data(), xml.size(), pugi::parse_default | pugi::parse_comments);
  if (!r)
    return error{fmt::format("the file is not well-formed XML (line {}: {}); fix it first",
                             line_of_offset(xml, r.offset), r.description())};
  auto root = doc.document_element();
  if (std::string_view(root.name()) != "diskless")
    return error{"the root element is not <diskless>; fix the file first"};
  return edit(root);
}

std::string escape(std::string_view v) {
  std::string out;
  for (char c : v) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

struct attr_span {
  std::string name;
  std::size_t begin;        // of the whitespace before the name
  std::size_t value_begin;  // inside the quotes
  std::size_t value_end;
  std::size_t end;  // after the closing quote
};

struct tag_span {
  std::size_t begin = 0;      // '<'
  std::size_t attrs_end = 0;  // where "/>" or ">" starts (new attributes go here)
  std::size_t end = 0;        // after the start tag's '>'
  bool self_closing = false;
  std::vector<attr_span> attrs;
};

// Scans the start tag of `n` in the text it was parsed from.
std::optional<tag_span> start_tag(std::string_view text, pugi::xml_node n) {
  auto off = n.offset_debug();
  if (off < 1 || static_cast<std::size_t>(off) > text.size() || text[off - 1] != '<')
    return std::nullopt;
  tag_span t;
  t.begin = static_cast<std::size_t>(off - 1);
  std::size_t i = static_cast<std::size_t>(off) + std::string_view(n.name()).size();
  auto ws = [&](std::size_t k) {
    return k < text.size() &&
           (text[k] == ' ' || text[k] == '\t' || text[k] == '\n' || text[k] == '\r');
  };
  for (;;) {
    std::size_t before = i;
    while (ws(i)) ++i;
    if (i >= text.size()) return std::nullopt;
    if (text[i] == '/' || text[i] == '>') {
      t.attrs_end = before;
      t.self_closing = text[i] == '/';
      auto close = text.find('>', i);
      if (close == text.npos) return std::nullopt;
      t.end = close + 1;
      return t;
    }
    attr_span a;
    a.begin = before;
    std::size_t name_begin = i;
    while (i < text.size() && text[i] != '=' && !ws(i)) ++i;
    a.name = text.substr(name_begin, i - name_begin);
    while (ws(i)) ++i;
    if (i >= text.size() || text[i] != '=') return std::nullopt;
    ++i;
    while (ws(i)) ++i;
    if (i >= text.size() || (text[i] != '"' && text[i] != '\'')) return std::nullopt;
    char q = text[i++];
    a.value_begin = i;
    auto close = text.find(q, i);
    if (close == text.npos) return std::nullopt;
    a.value_end = close;
    a.end = i = close + 1;
    t.attrs.push_back(std::move(a));
  }
}

// [begin, end) of the whole element, including its end tag when it has one.
std::optional<std::pair<std::size_t, std::size_t>> element_extent(std::string_view text,
                                                                  pugi::xml_node n) {
  auto t = start_tag(text, n);
  if (!t) return std::nullopt;
  if (t->self_closing) return std::pair{t->begin, t->end};
  // Only leaf-like elements are removed whole; find the matching end tag by depth.
  std::string open = std::string("<") + n.name(), close = std::string("</") + n.name();
  std::size_t i = t->end;
  int depth = 1;
  while (i < text.size()) {
    auto c = text.find(close, i);
    if (c == text.npos) return std::nullopt;
    auto o = text.find(open, i);
    if (o != text.npos && o < c) {
      ++depth;
      i = o + open.size();
      continue;
    }
    if (--depth == 0) {
      auto gt = text.find('>', c);
      if (gt == text.npos) return std::nullopt;
      return std::pair{t->begin, gt + 1};
    }
    i = c + close.size();
  }
  return std::nullopt;
}

std::size_t line_begin(std::string_view text, std::size_t pos) {
  auto nl = text.rfind('\n', pos == 0 ? 0 : pos - 1);
  return nl == text.npos ? 0 : nl + 1;
}

bool blank(std::string_view s) {
  return s.find_first_not_of(" \t\r") == s.npos;
}

std::string indent_at(std::string_view text, std::size_t pos) {
  auto lb = line_begin(text, pos);
  auto prefix = text.substr(lb, pos - lb);
  return blank(prefix) ? std::string(prefix) : std::string();
}

std::string tag_text(const char* name, const attributes& attrs) {
  std::string out = std::string("<") + name;
  for (const auto& [k, v] : attrs)
    if (!v.empty()) out += fmt::format(" {}=\"{}\"", k, escape(v));
  return out + "/>";
}

std::string splice(std::string_view text, std::size_t begin, std::size_t end,
                   std::string_view with) {
  return std::string(text.substr(0, begin)) + std::string(with) + std::string(text.substr(end));
}

// Inserts element text as the last child of `parent`, on its own line, indented like its element
// siblings (or one level deeper than the parent).
result<std::string> append_child_text(std::string_view text, pugi::xml_node parent,
                                      const std::string& element) {
  auto pt = start_tag(text, parent);
  if (!pt) return error{"cannot locate <" + std::string(parent.name()) + "> in the file"};
  std::string parent_indent = indent_at(text, pt->begin);
  pugi::xml_node last;
  for (auto c : parent.children())
    if (c.type() == pugi::node_element) last = c;
  if (last) {
    auto ext = element_extent(text, last);
    if (!ext)
      return error{"cannot locate the last element of <" + std::string(parent.name()) + ">"};
    std::string indent = indent_at(text, ext->first);
    if (indent.empty()) indent = parent_indent + "  ";
    auto nl = text.find('\n', ext->second);
    // After the end of the last child's line (a trailing comment on it stays with it).
    if (nl != text.npos && blank(text.substr(ext->second, nl - ext->second)) == false &&
        text.substr(ext->second, nl - ext->second).find('<') != std::string_view::npos &&
        text.substr(ext->second, nl - ext->second).find("<!--") == std::string_view::npos)
      nl = text.npos;  // something else follows on that line: insert right after the element
    if (nl == text.npos) return splice(text, ext->second, ext->second, "\n" + indent + element);
    return splice(text, nl + 1, nl + 1, indent + element + "\n");
  }
  std::string indent = parent_indent + "  ";
  if (pt->self_closing) {
    // <hosts .../> becomes <hosts ...>\n  <host/>\n</hosts>
    std::string open(text.substr(pt->begin, pt->attrs_end - pt->begin));
    return splice(
        text, pt->begin, pt->end,
        open + ">\n" + indent + element + "\n" + parent_indent + "</" + parent.name() + ">");
  }
  auto ext = element_extent(text, parent);
  if (!ext) return error{"cannot locate </" + std::string(parent.name()) + ">"};
  auto close = text.rfind("</", ext->second);
  auto lb = line_begin(text, close);
  if (blank(text.substr(lb, close - lb))) return splice(text, lb, lb, indent + element + "\n");
  return splice(text, close, close, "\n" + indent + element + "\n" + parent_indent);
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

std::string no_host_message(std::string_view key) {
  return fmt::format("no host named or with MAC '{}'; see `diskless host list`", key);
}

result<std::string> remove_element_text(std::string_view text, pugi::xml_node n) {
  auto ext = element_extent(text, n);
  if (!ext) return error{"cannot locate the element in the file"};
  auto [b, e] = *ext;
  auto lb = line_begin(text, b);
  auto nl = text.find('\n', e);
  std::size_t le = nl == text.npos ? text.size() : nl + 1;
  if (blank(text.substr(lb, b - lb)) &&
      blank(text.substr(e, (nl == text.npos ? text.size() : nl) - e)))
    return splice(text, lb, le, "");  // the element had its lines to itself
  return splice(text, b, e, "");
}

result<std::string> set_attrs_text(std::string_view text, pugi::xml_node n,
                                   const attributes& attrs) {
  auto t = start_tag(text, n);
  if (!t) return error{"cannot locate the element in the file"};
  // Apply from the back so earlier offsets stay valid.
  struct change {
    std::size_t b, e;
    std::string with;
  };
  std::vector<change> changes;
  std::string added;
  for (const auto& [k, v] : attrs) {
    // By name, not a lambda capturing the binding k: clang 14 cannot capture structured bindings.
    const auto& name = k;
    auto it =
        std::find_if(t->attrs.begin(), t->attrs.end(), [&](auto& a) { return a.name == name; });
    if (it == t->attrs.end()) {
      if (!v.empty()) added += fmt::format(" {}=\"{}\"", k, escape(v));
    } else if (v.empty()) {
      changes.push_back({it->begin, it->end, ""});
    } else {
      changes.push_back({it->value_begin, it->value_end, escape(v)});
    }
  }
  if (!added.empty()) changes.push_back({t->attrs_end, t->attrs_end, added});
  std::sort(changes.begin(), changes.end(), [](auto& a, auto& b) { return a.b > b.b; });
  std::string out(text);
  for (const auto& c : changes) out = splice(out, c.b, c.e, c.with);
  return out;
}

}  // namespace

result<std::string> add_host(std::string_view xml, const attributes& attrs) {
  return edit_document(xml, [&](pugi::xml_node root) -> result<std::string> {
    if (auto hosts = root.child("hosts"))
      return append_child_text(xml, hosts, tag_text("host", attrs));
    auto pt = start_tag(xml, root);
    std::string indent = pt ? indent_at(xml, pt->begin) + "  " : "  ";
    return append_child_text(
        xml, root,
        "<hosts>\n" + indent + "  " + tag_text("host", attrs) + "\n" + indent + "</hosts>");
  });
}

result<std::string> set_host(std::string_view xml, std::string_view key, const attributes& attrs) {
  return edit_document(xml, [&](pugi::xml_node root) -> result<std::string> {
    auto h = find_host(root, key);
    if (!h) return error{no_host_message(key)};
    return set_attrs_text(xml, h, attrs);
  });
}

result<std::string> remove_host(std::string_view xml, std::string_view key) {
  return edit_document(xml, [&](pugi::xml_node root) -> result<std::string> {
    auto h = find_host(root, key);
    if (!h) return error{no_host_message(key)};
    return remove_element_text(xml, h);
  });
}

result<std::string> add_image(std::string_view xml, const attributes& attrs) {
  return edit_document(xml, [&](pugi::xml_node root) -> result<std::string> {
    if (auto images = root.child("images"))
      return append_child_text(xml, images, tag_text("image", attrs));
    // Keep the schema's order: <images> before <hosts>.
    if (auto hosts = root.child("hosts")) {
      auto t = start_tag(xml, hosts);
      if (!t) return error{"cannot locate <hosts> in the file"};
      std::string indent = indent_at(xml, t->begin);
      std::string text = "<images>\n" + indent + "  " + tag_text("image", attrs) + "\n" + indent +
                         "</images>\n" + indent;
      return splice(xml, t->begin, t->begin, text);
    }
    return append_child_text(xml, root,
                             "<images>\n    " + tag_text("image", attrs) + "\n  </images>");
  });
}

result<std::string> remove_image(std::string_view xml, std::string_view name) {
  return edit_document(xml, [&](pugi::xml_node root) -> result<std::string> {
    for (auto img : root.child("images").children("image")) {
      if (std::string_view(img.attribute("name").value()) != name) continue;
      std::vector<std::string> users;
      for (auto h : root.child("hosts").children("host"))
        if (std::string_view(h.attribute("image").value()) == name)
          users.push_back(h.attribute("name").value());
      if (!users.empty())
        return error{
            fmt::format("image '{}' is used by host(s) {}; move them to another image first", name,
                        fmt::join(users, ", "))};
      if (std::string_view(root.child("hosts").attribute("unknown").value()) == name)
        return error{
            fmt::format("image '{}' is the unknown-PC policy (<hosts unknown=...>)", name)};
      return remove_element_text(xml, img);
    }
    return error{fmt::format("no image named '{}'; see `diskless image list`", name)};
  });
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
  load_options o = opts;
  if (o.base_dir.empty()) o.base_dir = base_dir_of(file);
  auto check = load_text(*edited, file, o);
  // Refused only for errors the edit introduces: errors the file already had (a missing image
  // file, say) must not stop an unrelated `host add` or the `host remove` that fixes them.
  auto before = load_text(*text, file, o);
  std::set<std::string, std::less<>> had;
  for (const auto& p : before.problems)
    if (p.severity == problem::level::error) had.insert(p.message);
  out.problems = std::move(check.problems);
  if (!check.loaded()) return out;
  for (const auto& p : out.problems)
    if (p.severity == problem::level::error && !had.contains(p.message)) return out;
  if (auto w = write_file_atomic(file, *edited); !w) {
    out.error = w.error_message();
    return out;
  }
  out.ok = true;
  return out;
}

}  // namespace diskless::inventory
