#include "storage/memory_device.hpp"

#include <gtest/gtest.h>

namespace diskless::storage {
namespace {

std::vector<std::byte> pattern(std::size_t n, int seed) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = std::byte(static_cast<unsigned char>(i * 7 + seed));
  return v;
}

TEST(MemoryDevice, WriteThenRead) {
  memory_device dev(4096);
  EXPECT_EQ(dev.size(), 4096u);
  auto p = pattern(512, 3);
  ASSERT_FALSE(dev.write(1024, p));
  std::vector<std::byte> out(512);
  ASSERT_FALSE(dev.read(1024, out));
  EXPECT_EQ(out, p);
}

TEST(MemoryDevice, OutOfRangeIsError) {
  memory_device dev(4096);
  std::vector<std::byte> out(512);
  EXPECT_TRUE(dev.read(4000, out));
  EXPECT_TRUE(dev.write(3585, out));
  EXPECT_TRUE(dev.discard(4096, 1));
  EXPECT_FALSE(dev.read(3584, out));
}

TEST(MemoryDevice, DiscardZeroesAndCounts) {
  memory_device dev(4096);
  auto p = pattern(4096, 1);
  dev.fill(0, p);
  ASSERT_FALSE(dev.discard(512, 1024));
  auto c = dev.contents();
  for (std::size_t i = 0; i < 4096; ++i)
    EXPECT_EQ(c[i], (i >= 512 && i < 1536) ? std::byte{0} : p[i]) << i;
  EXPECT_EQ(dev.discards(), 1u);
}

TEST(MemoryDevice, ReadOnlyRefusesWrites) {
  memory_device dev(4096, true);
  std::vector<std::byte> b(512);
  EXPECT_EQ(dev.write(0, b), std::error_code(EROFS, std::generic_category()));
  EXPECT_TRUE(dev.discard(0, 512));
  EXPECT_FALSE(dev.read(0, b));
}

TEST(MemoryDevice, FailNextAndCounters) {
  memory_device dev(4096);
  std::vector<std::byte> b(512);
  dev.fail_next(2);
  EXPECT_TRUE(dev.read(0, b));
  EXPECT_TRUE(dev.flush());
  EXPECT_FALSE(dev.flush());
  EXPECT_FALSE(dev.write(0, b, true));
  EXPECT_EQ(dev.flushes(), 1u);
  EXPECT_EQ(dev.fua_writes(), 1u);
}

}  // namespace
}  // namespace diskless::storage
