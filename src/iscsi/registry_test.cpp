#include "iscsi/registry.hpp"

#include <gtest/gtest.h>

namespace diskless::iscsi {
namespace {

class null_unit : public scsi::logical_unit {
 public:
  void execute(scsi::task, scsi::completion) override {}
  void lun_reset(scsi::nexus_id) override {}
  void nexus_lost(scsi::nexus_id) override {}
  std::uint32_t block_size() const override { return 512; }
};

// Records what each waiter got.
struct outcome {
  int calls = 0;
  lu_ptr lu;
  std::string error;
  unit_registry::waiter sink() {
    return [this](result<lu_ptr> r) {
      ++calls;
      if (r)
        lu = *r;
      else
        error = r.error_message();
    };
  }
};

TEST(unit_registry, first_session_opens_later_ones_wait_for_the_same_open) {
  unit_registry reg;
  outcome a, b;
  EXPECT_TRUE(reg.attach("pc1", a.sink()));
  EXPECT_FALSE(reg.attach("pc1", b.sink()));  // already opening
  EXPECT_EQ(a.calls + b.calls, 0);
  EXPECT_EQ(reg.sessions("pc1"), 2);
  auto unit = std::make_shared<null_unit>();
  reg.opened("pc1", lu_ptr(unit));
  EXPECT_EQ(a.calls, 1);
  EXPECT_EQ(b.calls, 1);
  EXPECT_EQ(a.lu, unit);
  EXPECT_EQ(b.lu, unit);
  outcome c;
  EXPECT_FALSE(reg.attach("pc1", c.sink()));  // open: answered at once
  EXPECT_EQ(c.lu, unit);
  EXPECT_EQ(reg.sessions("pc1"), 3);
}

TEST(unit_registry, last_detach_drops_the_unit) {
  unit_registry reg;
  outcome a, b;
  reg.attach("pc1", a.sink());
  reg.attach("pc1", b.sink());
  auto unit = std::make_shared<null_unit>();
  reg.opened("pc1", lu_ptr(unit));
  EXPECT_EQ(reg.detach("pc1"), unit);  // the caller tells it the nexus is gone
  EXPECT_TRUE(reg.has("pc1"));
  EXPECT_EQ(reg.detach("pc1"), unit);
  EXPECT_FALSE(reg.has("pc1"));
  EXPECT_EQ(reg.detach("pc1"), nullptr);  // unknown host: nothing
  outcome c;
  EXPECT_TRUE(reg.attach("pc1", c.sink()));  // a new session opens again
}

TEST(unit_registry, failed_open_reaches_every_waiter_and_the_next_login_retries) {
  unit_registry reg;
  outcome a, b;
  reg.attach("pc1", a.sink());
  reg.attach("pc1", b.sink());
  reg.opened("pc1", error{"no disk"});
  EXPECT_EQ(a.error, "no disk");
  EXPECT_EQ(b.error, "no disk");
  EXPECT_EQ(a.lu, nullptr);
  outcome c;
  EXPECT_TRUE(reg.attach("pc1", c.sink()));  // not opening any more, no unit
}

TEST(unit_registry, detach_while_opening_keeps_the_entry_until_the_open_completes) {
  unit_registry reg;
  outcome a;
  reg.attach("pc1", a.sink());
  EXPECT_EQ(reg.detach("pc1"), nullptr);
  EXPECT_TRUE(reg.has("pc1"));  // the open still runs
  reg.opened("pc1", lu_ptr(std::make_shared<null_unit>()));
  EXPECT_EQ(a.calls, 1);         // the waiter's connection is gone; it ignores the answer
  EXPECT_FALSE(reg.has("pc1"));  // no session holds the unit: dropped, the next login reopens
  outcome b;
  EXPECT_TRUE(reg.attach("pc1", b.sink()));  // true: the caller must open it again
  reg.opened("pc2", error{"x"});             // an open for a host nobody waits for: ignored
  EXPECT_FALSE(reg.has("pc2"));
}

TEST(unit_registry, waiter_may_detach_reentrantly) {
  unit_registry reg;
  int calls = 0;
  reg.attach("pc1", [&](result<lu_ptr>) {
    ++calls;
    reg.detach("pc1");  // the login failed: the session ends inside the callback
  });
  reg.attach("pc1", [&](result<lu_ptr>) {
    ++calls;
    reg.detach("pc1");
  });
  reg.opened("pc1", error{"x"});
  EXPECT_EQ(calls, 2);
  EXPECT_FALSE(reg.has("pc1"));
}

TEST(unit_registry, hosts_are_separate) {
  unit_registry reg;
  outcome a, b;
  EXPECT_TRUE(reg.attach("pc1", a.sink()));
  EXPECT_TRUE(reg.attach("pc2", b.sink()));
  reg.opened("pc2", lu_ptr(std::make_shared<null_unit>()));
  EXPECT_EQ(a.calls, 0);
  EXPECT_EQ(b.calls, 1);
}

// RFC 7143 §6.3.5: the same initiator name and ISID to the same target reinstates.
TEST(session_table, same_identity_reinstates_the_live_session) {
  session_table t;
  int a = 0, b = 0;
  const std::array<std::byte, 6> isid{std::byte{0x80}, std::byte{1}};
  EXPECT_FALSE(t.add(&a, "iqn.i", isid, "pc1"));
  auto old = t.add(&b, "iqn.i", isid, "pc1");
  ASSERT_TRUE(old);
  EXPECT_EQ(*old, &a);
  EXPECT_EQ(t.size(), 1u);
  t.remove(&a);  // the reinstated session ends later: the new one stays registered
  EXPECT_EQ(t.size(), 1u);
  int c = 0;
  EXPECT_EQ(t.add(&c, "iqn.i", isid, "pc1").value_or(nullptr), &b);
}

// §4.4.3: a session is also named by its target; another target, ISID or initiator is another
// session, not a reinstatement.
TEST(session_table, another_target_isid_or_initiator_is_another_session) {
  session_table t;
  int a = 0, b = 0, c = 0, d = 0;
  const std::array<std::byte, 6> isid{std::byte{0x80}, std::byte{1}};
  auto isid2 = isid;
  isid2[5] = std::byte{2};
  EXPECT_FALSE(t.add(&a, "iqn.i", isid, "pc1"));
  EXPECT_FALSE(t.add(&b, "iqn.i", isid, "pc2"));
  EXPECT_FALSE(t.add(&c, "iqn.i", isid2, "pc1"));
  EXPECT_FALSE(t.add(&d, "iqn.j", isid, "pc1"));
  EXPECT_EQ(t.size(), 4u);
  t.remove(&b);
  t.remove(&b);  // twice: a no-op
  EXPECT_EQ(t.size(), 3u);
}

}  // namespace
}  // namespace diskless::iscsi
