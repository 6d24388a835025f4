// libFuzzer target: the inventory loader over the input as XML text (parse, schema, every
// validation rule, line numbers of problems). Files are not checked (check_files = false), so
// the run touches no disk. Any outcome but a crash or a sanitizer report is fine; every problem
// must carry a message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "inventory/load.hpp"

using namespace diskless;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(data, data + size);  // the input bytes as text (a copy, no cast)
  std::string_view xml = text;
  inventory::load_options o;
  o.check_files = false;
  o.base_dir = "/nonexistent-diskless-fuzz";
  auto r = inventory::load_text(xml, "fuzz.xml", o);
  for (const auto& p : r.problems)
    if (p.message.empty() || p.line < 0) std::abort();
  if (!r.ok() && r.error_count() == 0) std::abort();  // refused without saying why
  (void)inventory::parse_duration(xml.substr(0, 32));
  return 0;
}
