#include "tftp/admission.hpp"

#include <gtest/gtest.h>

namespace diskless::tftp {
namespace {

using namespace std::chrono_literals;

TEST(TftpAdmission, PerClientBoundComesFirst) {
  admission_limits l{.max_transfers = 10, .per_client = 3};
  EXPECT_EQ(admit(0, 0, false, l), verdict::admit);
  EXPECT_EQ(admit(5, 2, false, l), verdict::admit);
  EXPECT_EQ(admit(5, 3, false, l), verdict::refuse_client);
  // Full: an address at its bound still cannot evict anyone.
  EXPECT_EQ(admit(10, 3, true, l), verdict::refuse_client);
}

TEST(TftpAdmission, FullTableEvictsOnlyUnconfirmedTransfers) {
  admission_limits l{.max_transfers = 10, .per_client = 3};
  EXPECT_EQ(admit(10, 0, true, l), verdict::admit_evicting);
  EXPECT_EQ(admit(10, 1, false, l), verdict::refuse_busy);
  EXPECT_EQ(admit(11, 0, false, l), verdict::refuse_busy);
}

TEST(TftpLogGate, FirstThenOncePerPeriodWithTheCountLeftOut) {
  log_gate g(10s);
  log_gate::clock::time_point t0{};
  t0 += 100s;
  EXPECT_TRUE(g.allow(t0));
  EXPECT_EQ(g.suppressed(), 0u);
  for (int i = 0; i < 965; ++i) EXPECT_FALSE(g.allow(t0 + 1s));
  EXPECT_FALSE(g.allow(t0 + 9s));
  EXPECT_TRUE(g.allow(t0 + 10s));
  EXPECT_EQ(g.suppressed(), 966u);
  EXPECT_FALSE(g.allow(t0 + 11s, 5));
  EXPECT_TRUE(g.allow(t0 + 20s, 3));
  EXPECT_EQ(g.suppressed(), 7u);  // the 5 before, and 2 of this batch of 3
}

}  // namespace
}  // namespace diskless::tftp
