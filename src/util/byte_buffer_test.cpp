#include "util/byte_buffer.hpp"

#include <gtest/gtest.h>

namespace diskless {
namespace {

TEST(ByteBuffer, FromVectorKeepsBytes) {
  bytes v{std::byte{1}, std::byte{2}, std::byte{3}};
  const std::byte* storage = v.data();
  byte_buffer b(std::move(v));
  EXPECT_EQ(b.size(), 3u);
  EXPECT_EQ(b.data(), storage);  // no copy
  EXPECT_EQ(b, (bytes{std::byte{1}, std::byte{2}, std::byte{3}}));
}

TEST(ByteBuffer, ForOverwriteThenShare) {
  auto b = byte_buffer::for_overwrite(4096);
  ASSERT_EQ(b.size(), 4096u);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = std::byte(i & 0xff);
  const std::byte* p = b.data();
  auto shared = std::move(b).share();
  EXPECT_EQ(shared.get(), p);
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(shared.get()[4095], std::byte{0xff});
}

TEST(ByteBuffer, CopyIsDeepAndMoveEmpties) {
  byte_buffer a(bytes(8, std::byte{7}));
  byte_buffer c = a;
  c[0] = std::byte{9};
  EXPECT_EQ(a[0], std::byte{7});
  byte_buffer m = std::move(a);
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(m.size(), 8u);
}

TEST(ByteBuffer, TruncateOnlyShrinks) {
  byte_buffer a(bytes(8, std::byte{1}));
  a.truncate(20);
  EXPECT_EQ(a.size(), 8u);
  a.truncate(3);
  EXPECT_EQ(a, bytes(3, std::byte{1}));
  byte_buffer e;
  EXPECT_TRUE(e.empty());
  EXPECT_EQ(e, bytes{});
  EXPECT_EQ(byte_buffer::for_overwrite(0).size(), 0u);
}

}  // namespace
}  // namespace diskless
