#pragma once
// Shared helpers for the scsi unit tests: a disk_unit over a memory_device with an inline io_pool,
// CDB literals and sense-data assertions.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string_view>

#include "scsi/disk_unit.hpp"
#include "storage/memory_device.hpp"
#include "util/bytes.hpp"

namespace diskless::scsi::testing {

inline bytes hex(std::string_view s) {
  return from_hex(s);
}

inline std::uint8_t u8(byte_span b, std::size_t i) {
  return i < b.size() ? std::to_integer<std::uint8_t>(b[i]) : 0xee;
}

inline bytes pattern(std::size_t n, int seed) {
  bytes v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = std::byte(static_cast<unsigned char>(i * 31 + seed));
  return v;
}

// A 16-byte-or-shorter CDB from bytes.
inline bytes cdb(std::initializer_list<int> v) {
  bytes b;
  for (int x : v) b.push_back(std::byte(static_cast<unsigned char>(x)));
  return b;
}

struct unit_fixture {
  explicit unit_fixture(std::uint64_t blocks = 2048, bool read_only = false,
                        disk_unit::options o = disk_unit::options::for_host("pc01"))
      : dev(std::make_shared<storage::memory_device>(blocks * 512, false)),
        pool(0, [](io_pool::task t) { t(); }),
        unit(dev, pool, [&] {
          o.read_only = read_only;
          return o;
        }()) {}

  task_result run(bytes c, bytes data_out = {}, nexus_id nexus = 1) {
    task t;
    t.nexus = nexus;
    t.cdb = std::move(c);
    t.data_out = std::move(data_out);
    t.expected_length = 1 << 20;
    std::optional<task_result> out;
    unit.execute(std::move(t), [&](task_result r) { out = std::move(r); });
    EXPECT_TRUE(out.has_value()) << "no completion";
    if (out) return std::move(*out);
    task_result none;
    none.st = status::busy;
    return none;
  }

  std::shared_ptr<storage::memory_device> dev;
  io_pool pool;
  disk_unit unit;
};

// Checks CHECK CONDITION with fixed-format sense KEY/ASC/ASCQ.
inline ::testing::AssertionResult has_sense(const task_result& r, sense_key key, asc_t code) {
  if (r.st != status::check_condition)
    return ::testing::AssertionFailure() << "status " << int(r.st) << ", not CHECK CONDITION";
  if (r.sense.size() != 18)
    return ::testing::AssertionFailure() << "sense length " << r.sense.size();
  if ((u8(r.sense, 0) & 0x7f) != 0x70) return ::testing::AssertionFailure() << "not fixed format";
  if ((u8(r.sense, 2) & 0x0f) != static_cast<std::uint8_t>(key) || u8(r.sense, 12) != code.asc ||
      u8(r.sense, 13) != code.ascq) {
    return ::testing::AssertionFailure()
           << "sense " << to_hex(r.sense) << " expected key " << int(key) << " asc "
           << int(code.asc) << "/" << int(code.ascq);
  }
  return ::testing::AssertionSuccess();
}

inline ::testing::AssertionResult is_good(const task_result& r) {
  if (r.st == status::good) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "status " << int(r.st) << " sense " << to_hex(r.sense);
}

}  // namespace diskless::scsi::testing
