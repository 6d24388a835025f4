// Inventory bench: load (parse + read + validate), validate alone and diff for N hosts, the
// costs a reload puts on the pool (load) and on the event loop (diff). Built as the
// inventory_bench target; run through integration/bench/inventory.sh.
// Usage: inventory_bench [HOSTS] [OUT.xml]   (default 20000; OUT.xml: also write the file)
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "inventory/load.hpp"
#include "inventory/validate.hpp"

using namespace diskless::inventory;

namespace {

std::string make_xml(int hosts) {
  std::string xml =
      "<diskless version=\"1\">\n  <server address=\"10.0.0.1\"><dhcp mode=\"proxy\"/></server>\n"
      "  <images>\n    <image name=\"gold\" disk=\"gold.img\"/>\n"
      "    <image name=\"deb\" kernel=\"vmlinuz\" cmdline=\"console=ttyS0 quiet\"/>\n"
      "  </images>\n  <hosts unknown=\"ignore\">\n";
  for (int i = 0; i < hosts; ++i)
    xml += fmt::format(
        "    <host mac=\"52:54:00:{:02x}:{:02x}:{:02x}\" name=\"pc-{}\" image=\"{}\" "
        "boot=\"{}\" overlay=\"{}\"/>\n",
        (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff, i, i % 2 ? "gold" : "deb",
        i % 2 ? "sanboot" : "linux", i % 2 ? "volatile" : "none");
  return xml + "  </hosts>\n</diskless>\n";
}

template <typename F>
double millis(F&& f) {
  auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  int hosts = argc > 1 ? std::atoi(argv[1]) : 20000;
  auto xml = make_xml(hosts);
  if (argc > 2) std::ofstream(argv[2]) << xml;
  load_options opts;
  opts.check_files = false;
  opts.base_dir = "/srv/diskless";

  load_result a, b;
  double load_ms = millis([&] { a = load_text(xml, "bench.xml", opts); });
  if (!a.ok()) {
    std::fprintf(stderr, "bench inventory invalid: %s\n", a.problems.front().str().c_str());
    return 1;
  }
  std::vector<problem> problems;
  double validate_ms = millis([&] { validate(*a.inv, opts, problems, "bench.xml"); });
  // A reload that changes one host: the diff runs on the event loop.
  auto edited = xml;
  edited.replace(edited.rfind("overlay=\"volatile\""), 18, "overlay=\"persistent\"");
  b = load_text(edited, "bench.xml", opts);
  host_diff d;
  double diff_ms = millis([&] { d = diff(*a.inv, *b.inv); });
  std::printf(
      "hosts %d  file %.1f MB  load %.1f ms (parse+read+validate)  validate %.1f ms  "
      "diff %.1f ms (%zu changed)\n",
      hosts, xml.size() / 1e6, load_ms, validate_ms, diff_ms, d.changed.size());
  return d.changed.size() == 1 ? 0 : 1;
}
