// identity_for: pure, stable, distinct, and equal to what for_host has always derived.
#include "scsi/identity.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace diskless::scsi {
namespace {

TEST(Identity, Fnv1a64KnownVectors) {
  // The published FNV-1a/64 test vectors.
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ULL);
}

TEST(Identity, SameKeySameIdentity) {
  auto a = identity_for("golden.qcow2/pc01");
  auto b = identity_for(std::string("golden.qcow2/") + "pc01");
  EXPECT_EQ(a, b);
}

TEST(Identity, FixedValuesForAKey) {
  // Pinned: a disk must keep the identity an installed OS knows it by, release after release.
  // fnv1a64("a") = af63dc4c8601ec8c.
  auto id = identity_for("a");
  EXPECT_EQ(id.naa, 0x0f63dc4c8601ec8cULL);
  EXPECT_EQ(id.serial, "DL63DC4C8601EC8C");
}

TEST(Identity, DistinctKeysDistinctIdentities) {
  // Many hosts sharing one golden image: every serial and NAA differs.
  std::set<std::string> serials;
  std::set<std::uint64_t> naas;
  for (int i = 0; i < 1000; ++i) {
    auto id = identity_for("golden.qcow2/pc" + std::to_string(i));
    serials.insert(id.serial);
    naas.insert(id.naa);
  }
  EXPECT_EQ(serials.size(), 1000u);
  EXPECT_EQ(naas.size(), 1000u);
  EXPECT_NE(identity_for("52:54:00:12:34:56"), identity_for("52:54:00:12:34:57"));
}

TEST(Identity, SerialIsSixteenPrintableAsciiCharacters) {
  auto id = identity_for("pc01");
  ASSERT_EQ(id.serial.size(), 16u);
  EXPECT_EQ(id.serial.substr(0, 2), "DL");
  for (char c : id.serial) EXPECT_TRUE(c >= 0x20 && c < 0x7f);
  EXPECT_EQ(id.naa >> 60, 0u);
  EXPECT_EQ(serial_for(0), "DL00000000000000");
}

}  // namespace
}  // namespace diskless::scsi
