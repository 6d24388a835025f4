// Fuzzes CDB decoding and every command handler: the input is a CDB (first 16 bytes, length taken
// from the first byte's group code when shorter) followed by data-out, run against a small
// in-memory disk with an inline I/O pool. Any crash, sanitizer report or missing completion is a
// bug; every input must produce a status.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "scsi/disk_unit.hpp"
#include "storage/memory_device.hpp"

using namespace diskless;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static io_pool pool(0, [](io_pool::task t) { t(); });
  static auto dev = std::make_shared<storage::memory_device>(64 * 512);
  static scsi::disk_unit unit(dev, pool, scsi::disk_unit::options::for_host("fuzz"));
  if (size == 0) return 0;
  scsi::task t;
  std::size_t cdb_len = std::min<std::size_t>(size, 16);
  for (std::size_t i = 0; i < cdb_len; ++i) t.cdb.push_back(std::byte{data[i]});
  for (std::size_t i = cdb_len; i < size; ++i) t.data_out.push_back(std::byte{data[i]});
  t.nexus = size % 3;  // a few nexuses so reservations and unit attentions interact
  t.expected_length = static_cast<std::uint32_t>(t.data_out.size());
  bool completed = false;
  unit.execute(std::move(t), [&](scsi::task_result r) {
    completed = true;
    if (r.st == scsi::status::check_condition && r.sense.size() != 18) std::abort();
  });
  if (!completed) std::abort();
  if (size % 7 == 0) unit.lun_reset(size % 3);
  return 0;
}
