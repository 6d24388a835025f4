// libFuzzer target: HTTP routing and Range parsing (route.hpp) without sockets. The input is
// "METHOD\nTARGET\nRANGE"; the catalog comes from a fixed inventory (one host, one image with
// kernel and initrd in a temporary directory). A routed file is then cut with the Range the
// server would apply; the range must lie inside the file.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

#include "http/route.hpp"
#include "inventory/load.hpp"

using namespace diskless;

namespace {
std::unique_ptr<boot::catalog> make_catalog() {
  auto dir = std::filesystem::temp_directory_path() /
             ("diskless-route-fuzz-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "k");
  std::ofstream(dir / "k/vmlinuz") << "KERNEL-0123456789";
  std::ofstream(dir / "k/initrd.img") << "INITRD";
  inventory::load_options o;
  o.check_files = false;
  o.base_dir = dir;
  auto r = inventory::load_text(R"(<diskless version="1">
  <server address="10.0.0.1"/>
  <images><image name="live" kernel="k/vmlinuz" initrd="k/initrd.img" cmdline="quiet"/></images>
  <hosts unknown="local">
    <host mac="52:54:00:00:00:01" name="pc1" image="live" boot="linux"/>
  </hosts>
</diskless>)",
                                "inv.xml", o);
  if (!r.ok()) std::abort();
  // 10.0.0.21 is pc1's PC (the holder its requester carries): scripts are rendered for it.
  return std::make_unique<boot::catalog>(r.inv);
}

std::string_view next_line(std::string_view& in) {
  auto nl = in.find('\n');
  auto line = in.substr(0, nl);
  in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
  return line;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto files = make_catalog();
  const std::string text(data, data + size);  // the input bytes as text (a copy, no cast)
  std::string_view in = text;
  auto method = next_line(in);
  auto target = next_line(in);
  auto range = in;
  http::counters stats;
  // Every kind of requester: the server itself (/status, /metrics), pc1's PC, another PC.
  http::route(method, target, *files, stats,
              http::requester{.local = true, .address = std::nullopt, .holder = std::nullopt});
  http::route(method, target, *files, stats,
              http::requester{.local = false,
                              .address = ipv4_address(0x0a000016),
                              .holder = mac_address::parse("52:54:00:00:00:02")});
  auto p = http::route(method, target, *files, stats,
                       http::requester{.local = false,
                                       .address = ipv4_address(0x0a000015),
                                       .holder = mac_address::parse("52:54:00:00:00:01")});
  std::uint64_t file_size = p.content ? p.content->size() : 0;
  for (std::uint64_t sz : {file_size, std::uint64_t{1000}, ~std::uint64_t{0}}) {
    bool unsatisfiable = false;
    auto r = http::parse_range(range, sz, unsatisfiable);
    if (r && (r->first > r->last || r->last >= sz || unsatisfiable)) std::abort();
  }
  return 0;
}
