// Persistent reservations (SPC-4 §5.9) and RESERVE(6), through disk_unit so conflicts and unit
// attentions are seen as an initiator sees them.
#include "scsi/reservations.hpp"

#include <gtest/gtest.h>

#include "scsi/test_support.hpp"

namespace diskless::scsi {
namespace {

using namespace testing;

constexpr nexus_id A = 1, B = 2, C = 3;
constexpr nexus_id observer = 99;  // reads keys/reservation without consuming others' UAs

bytes prout_cdb(std::uint8_t action, std::uint8_t type = 0, std::uint32_t len = 24) {
  bytes c = cdb({0x5f, action, type, 0, 0, 0, 0, 0, 0, 0});
  store_u32(c, 5, len);
  return c;
}
bytes prout_params(std::uint64_t key, std::uint64_t sa_key, std::uint8_t flags = 0) {
  byte_writer w;
  w.u64(key).u64(sa_key).u32(0).u8(flags).u8(0).u16(0);
  return w.take();
}
bytes prin_cdb(std::uint8_t action, std::uint16_t alloc = 1024) {
  return cdb({0x5e, action, 0, 0, 0, 0, 0, alloc >> 8, alloc & 0xff, 0});
}

struct pr_fixture : unit_fixture {
  task_result out(nexus_id n, std::uint8_t action, std::uint64_t key, std::uint64_t sa_key,
                  std::uint8_t type = 0, std::uint8_t flags = 0) {
    return run(prout_cdb(action, type), prout_params(key, sa_key, flags), n);
  }
  task_result reg(nexus_id n, std::uint64_t key) { return out(n, 0, 0, key); }
  std::vector<std::uint64_t> keys() {
    auto r = run(prin_cdb(0), {}, observer);
    std::vector<std::uint64_t> k;
    for (std::size_t i = 8; i + 8 <= r.data_in.size(); i += 8) k.push_back(load_u64(r.data_in, i));
    return k;
  }
  // (key, type) of the reservation, or type 0 when none.
  std::pair<std::uint64_t, int> reservation() {
    auto r = run(prin_cdb(1), {}, observer);
    if (load_u32(r.data_in, 4) == 0) return {0, 0};
    return {load_u64(r.data_in, 8), u8(r.data_in, 21) & 0x0f};
  }
  status tur(nexus_id n) { return run(cdb({0x00, 0, 0, 0, 0, 0}), {}, n).st; }
  status read(nexus_id n) { return run(cdb({0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0}), {}, n).st; }
  status write(nexus_id n) { return run(cdb({0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0}), bytes(512), n).st; }
};

TEST(Reservations, RegisterReadKeysAndGeneration) {
  pr_fixture f;
  auto empty = f.run(prin_cdb(0), {}, A);
  EXPECT_EQ(to_hex(empty.data_in), to_hex(hex("00 00 00 00 00 00 00 00")));
  ASSERT_TRUE(is_good(f.reg(A, 0xaaaa)));
  ASSERT_TRUE(is_good(f.reg(B, 0xbbbb)));
  EXPECT_EQ(f.keys(), (std::vector<std::uint64_t>{0xaaaa, 0xbbbb}));
  auto r = f.run(prin_cdb(0), {}, A);
  EXPECT_EQ(load_u32(r.data_in, 0), 2u);  // PRGENERATION
  EXPECT_EQ(load_u32(r.data_in, 4), 16u);
  // REGISTER from a registered nexus with the wrong key conflicts.
  EXPECT_EQ(f.out(A, 0, 0x1234, 0xcccc).st, status::reservation_conflict);
  // With the right key it changes the key; with SA key 0 it unregisters.
  ASSERT_TRUE(is_good(f.out(A, 0, 0xaaaa, 0xcccc)));
  EXPECT_EQ(f.keys(), (std::vector<std::uint64_t>{0xcccc, 0xbbbb}));
  ASSERT_TRUE(is_good(f.out(A, 0, 0xcccc, 0)));
  EXPECT_EQ(f.keys(), (std::vector<std::uint64_t>{0xbbbb}));
  // Unregistered nexus with a non-zero key: conflict. REGISTER AND IGNORE works anyway.
  EXPECT_EQ(f.out(C, 0, 0x1, 0x2).st, status::reservation_conflict);
  ASSERT_TRUE(is_good(f.out(B, 6, 0x999, 0xdddd)));
  EXPECT_EQ(f.keys(), (std::vector<std::uint64_t>{0xdddd}));
  // Truncated READ KEYS.
  EXPECT_EQ(f.run(prin_cdb(0, 4), {}, A).data_in.size(), 4u);
}

TEST(Reservations, ParameterErrors) {
  pr_fixture f;
  EXPECT_TRUE(has_sense(f.run(prout_cdb(0, 0, 20), bytes(20), A), sense_key::illegal_request,
                        asc::parameter_list_length_error));
  EXPECT_TRUE(has_sense(f.run(prout_cdb(0, 0, 24), bytes(10), A), sense_key::illegal_request,
                        asc::parameter_list_length_error));
  EXPECT_TRUE(has_sense(f.out(A, 0, 0, 1, 0, 0x01), sense_key::illegal_request,
                        asc::invalid_field_in_parameter_list));  // APTPL
  EXPECT_TRUE(has_sense(f.out(A, 0, 0, 1, 0, 0x08), sense_key::illegal_request,
                        asc::invalid_field_in_parameter_list));  // SPEC_I_PT
  EXPECT_TRUE(is_good(f.out(A, 0, 0, 1, 0, 0x04)));              // ALL_TG_PT accepted
  EXPECT_TRUE(has_sense(f.out(A, 1, 1, 0, 0x02), sense_key::illegal_request,
                        asc::invalid_field_in_cdb));  // type 2 does not exist
  EXPECT_TRUE(has_sense(f.out(A, 1, 1, 0, 0x11), sense_key::illegal_request,
                        asc::invalid_field_in_cdb));  // scope 1
  EXPECT_TRUE(has_sense(f.out(A, 7, 1, 0), sense_key::illegal_request, asc::invalid_field_in_cdb));
  EXPECT_TRUE(
      has_sense(f.run(prin_cdb(4), {}, A), sense_key::illegal_request, asc::invalid_field_in_cdb));
}

TEST(Reservations, WriteExclusive) {
  pr_fixture f;
  f.reg(A, 0xa);
  f.reg(B, 0xb);
  ASSERT_TRUE(is_good(f.out(A, 1, 0xa, 0, 1)));
  EXPECT_EQ(f.reservation(), (std::pair<std::uint64_t, int>{0xa, 1}));
  // Holder: everything. Others (registered or not): reads yes, writes no.
  EXPECT_EQ(f.write(A), status::good);
  EXPECT_EQ(f.read(B), status::good);
  EXPECT_EQ(f.read(C), status::good);
  EXPECT_EQ(f.write(B), status::reservation_conflict);
  EXPECT_EQ(f.write(C), status::reservation_conflict);
  EXPECT_EQ(f.tur(C), status::good);
  // Another reserve from B conflicts; the same reserve from A is fine; another type conflicts.
  EXPECT_EQ(f.out(B, 1, 0xb, 0, 1).st, status::reservation_conflict);
  EXPECT_TRUE(is_good(f.out(A, 1, 0xa, 0, 1)));
  EXPECT_EQ(f.out(A, 1, 0xa, 0, 3).st, status::reservation_conflict);
  // RELEASE by a non-holder is a no-op; by the holder with the wrong type an error.
  EXPECT_TRUE(is_good(f.out(B, 2, 0xb, 0, 1)));
  EXPECT_EQ(f.reservation().second, 1);
  EXPECT_TRUE(has_sense(f.out(A, 2, 0xa, 0, 3), sense_key::illegal_request, asc_t{0x26, 0x04}));
  EXPECT_TRUE(is_good(f.out(A, 2, 0xa, 0, 1)));
  EXPECT_EQ(f.reservation().second, 0);
  EXPECT_EQ(f.write(B), status::good);
}

TEST(Reservations, ExclusiveAccessBlocksReads) {
  pr_fixture f;
  f.reg(A, 0xa);
  ASSERT_TRUE(is_good(f.out(A, 1, 0xa, 0, 3)));
  EXPECT_EQ(f.read(B), status::reservation_conflict);
  EXPECT_EQ(f.read(A), status::good);
  // Always allowed: INQUIRY, REPORT LUNS, READ CAPACITY, TUR, PR IN, REQUEST SENSE.
  EXPECT_TRUE(is_good(f.run(cdb({0x12, 0, 0, 0, 36, 0}), {}, B)));
  EXPECT_TRUE(is_good(f.run(cdb({0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0}), {}, B)));
  EXPECT_TRUE(is_good(f.run(cdb({0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0}), {}, B)));
  EXPECT_EQ(f.tur(B), status::good);
  EXPECT_TRUE(is_good(f.run(prin_cdb(1), {}, B)));
  // MODE SENSE conflicts under exclusive access.
  EXPECT_EQ(f.run(cdb({0x1a, 0, 0x3f, 0, 192, 0}), {}, B).st, status::reservation_conflict);
}

TEST(Reservations, RegistrantsOnlyAndAllRegistrants) {
  for (std::uint8_t type : {5, 6, 7, 8}) {
    pr_fixture f;
    f.reg(A, 0xa);
    f.reg(B, 0xb);
    ASSERT_TRUE(is_good(f.out(A, 1, 0xa, 0, type))) << int(type);
    EXPECT_EQ(f.write(B), status::good) << int(type);  // registrant
    EXPECT_EQ(f.read(B), status::good) << int(type);
    EXPECT_EQ(f.write(C), status::reservation_conflict) << int(type);
    bool exclusive_access = type == 6 || type == 8;
    EXPECT_EQ(f.read(C), exclusive_access ? status::reservation_conflict : status::good);
    // All-registrants: the key reported is 0.
    auto [key, t] = f.reservation();
    EXPECT_EQ(t, type);
    EXPECT_EQ(key, type >= 7 ? 0u : 0xau);
    // Releasing tells the other registrants (2Ah/04h) for these types.
    ASSERT_TRUE(is_good(f.out(type >= 7 ? B : A, 2, type >= 7 ? 0xb : 0xa, 0, type)));
    nexus_id other = type >= 7 ? A : B;
    EXPECT_TRUE(has_sense(f.run(cdb({0x00, 0, 0, 0, 0, 0}), {}, other), sense_key::unit_attention,
                          asc::reservations_released));
  }
}

TEST(Reservations, AllRegistrantsSurvivesUntilLastRegistrantLeaves) {
  pr_fixture f;
  f.reg(A, 0xa);
  f.reg(B, 0xb);
  ASSERT_TRUE(is_good(f.out(A, 1, 0xa, 0, 7)));
  ASSERT_TRUE(is_good(f.out(A, 0, 0xa, 0)));  // A unregisters
  EXPECT_EQ(f.reservation().second, 7);
  ASSERT_TRUE(is_good(f.out(B, 0, 0xb, 0)));  // last one
  EXPECT_EQ(f.reservation().second, 0);
}

TEST(Reservations, HolderUnregisteringReleases) {
  pr_fixture f;
  f.reg(A, 0xa);
  ASSERT_TRUE(is_good(f.out(A, 1, 0xa, 0, 1)));
  ASSERT_TRUE(is_good(f.out(A, 0, 0xa, 0)));
  EXPECT_EQ(f.reservation().second, 0);
}

TEST(Reservations, ClearRemovesEverythingAndTellsOthers) {
  pr_fixture f;
  f.reg(A, 0xa);
  f.reg(B, 0xb);
  ASSERT_TRUE(is_good(f.out(A, 1, 0xa, 0, 3)));
  EXPECT_EQ(f.out(C, 3, 0xc, 0).st, status::reservation_conflict);  // not registered
  EXPECT_EQ(f.out(B, 3, 0xa, 0).st, status::reservation_conflict);  // wrong key
  ASSERT_TRUE(is_good(f.out(B, 3, 0xb, 0)));
  EXPECT_TRUE(f.keys().empty());
  EXPECT_EQ(f.reservation().second, 0);
  EXPECT_TRUE(has_sense(f.run(cdb({0x00, 0, 0, 0, 0, 0}), {}, A), sense_key::unit_attention,
                        asc::reservations_preempted));
  EXPECT_EQ(f.tur(B), status::good);
}

TEST(Reservations, PreemptHolder) {
  pr_fixture f;
  f.reg(A, 0xa);
  f.reg(B, 0xb);
  ASSERT_TRUE(is_good(f.out(A, 1, 0xa, 0, 1)));
  ASSERT_TRUE(is_good(f.out(B, 4, 0xb, 0xa, 3)));  // preempt A, take EA
  EXPECT_EQ(f.keys(), (std::vector<std::uint64_t>{0xb}));
  EXPECT_EQ(f.reservation(), (std::pair<std::uint64_t, int>{0xb, 3}));
  EXPECT_TRUE(has_sense(f.run(cdb({0x00, 0, 0, 0, 0, 0}), {}, A), sense_key::unit_attention,
                        asc::registrations_preempted));
  EXPECT_EQ(f.read(A), status::reservation_conflict);
  // PREEMPT AND ABORT behaves the same for reservations.
  f.reg(A, 0xa2);
  ASSERT_TRUE(is_good(f.out(A, 5, 0xa2, 0xb, 1)));
  EXPECT_EQ(f.reservation(), (std::pair<std::uint64_t, int>{0xa2, 1}));
}

TEST(Reservations, PreemptWithoutReservationRemovesRegistrations) {
  pr_fixture f;
  f.reg(A, 0xa);
  f.reg(B, 0xb);
  f.reg(C, 0xb);
  ASSERT_TRUE(is_good(f.out(A, 4, 0xa, 0xb, 1)));
  EXPECT_EQ(f.keys(), (std::vector<std::uint64_t>{0xa}));
  EXPECT_EQ(f.out(A, 4, 0xa, 0x77, 1).st, status::reservation_conflict);  // no such key
  EXPECT_TRUE(has_sense(f.out(A, 4, 0xa, 0, 1), sense_key::illegal_request,
                        asc::invalid_field_in_parameter_list));
}

TEST(Reservations, PreemptAllRegistrantsWithZeroKey) {
  pr_fixture f;
  f.reg(A, 0xa);
  f.reg(B, 0xb);
  ASSERT_TRUE(is_good(f.out(A, 1, 0xa, 0, 8)));
  ASSERT_TRUE(is_good(f.out(B, 4, 0xb, 0, 3)));
  EXPECT_EQ(f.keys(), (std::vector<std::uint64_t>{0xb}));
  EXPECT_EQ(f.reservation(), (std::pair<std::uint64_t, int>{0xb, 3}));
}

TEST(Reservations, ReportCapabilities) {
  pr_fixture f;
  auto r = f.run(prin_cdb(2), {}, A);
  EXPECT_EQ(to_hex(r.data_in), to_hex(hex("00 08 04 80 ea 01 00 00")));
}

TEST(Reservations, ReadFullStatus) {
  pr_fixture f;
  f.reg(A, 0xa);
  // B registers with a transport-supplied TransportID.
  task t;
  t.nexus = B;
  t.cdb = prout_cdb(0);
  t.data_out = prout_params(0, 0xb);
  byte_writer tid;
  tid.u8(0x05).u8(0).u16(20).append(std::string_view("iqn.x,i,0x1234567\0\0\0", 20));
  t.transport_id = tid.take();
  bool ok = false;
  f.unit.execute(std::move(t), [&](task_result r) { ok = r.st == status::good; });
  ASSERT_TRUE(ok);
  ASSERT_TRUE(is_good(f.out(A, 1, 0xa, 0, 3)));
  auto r = f.run(prin_cdb(3), {}, observer);
  ASSERT_TRUE(is_good(r));
  auto& d = r.data_in;
  EXPECT_EQ(load_u32(d, 0), 2u);  // generation
  ASSERT_EQ(load_u32(d, 4), d.size() - 8);
  // A: holder of EA, fallback TransportID (protocol Fh).
  EXPECT_EQ(load_u64(d, 8), 0xau);
  EXPECT_EQ(u8(d, 8 + 12), 0x03);
  EXPECT_EQ(u8(d, 8 + 13), 0x03);
  EXPECT_EQ(load_u16(d, 8 + 18), 1u);
  EXPECT_EQ(load_u32(d, 8 + 20), 24u);
  EXPECT_EQ(u8(d, 8 + 24), 0x0f);
  // B: not the holder, its own TransportID.
  std::size_t b = 8 + 24 + 24;
  EXPECT_EQ(load_u64(d, b), 0xbu);
  EXPECT_EQ(u8(d, b + 12), 0x02);
  EXPECT_EQ(load_u32(d, b + 20), 24u);
  EXPECT_EQ(u8(d, b + 24), 0x05);
}

TEST(Reservations, SurviveNexusLossAndLunReset) {
  pr_fixture f;
  f.reg(A, 0xa);
  ASSERT_TRUE(is_good(f.out(A, 1, 0xa, 0, 3)));
  f.unit.nexus_lost(A);
  f.unit.lun_reset(B);
  EXPECT_EQ(f.reservation(), (std::pair<std::uint64_t, int>{0xa, 3}));
  EXPECT_EQ(f.read(B), status::reservation_conflict);
}

TEST(Reservations, Reserve6AndPersistentExcludeEachOther) {
  pr_fixture f;
  f.reg(A, 0xa);
  EXPECT_EQ(f.run(cdb({0x16, 0, 0, 0, 0, 0}), {}, B).st, status::reservation_conflict);
  ASSERT_TRUE(is_good(f.out(A, 0, 0xa, 0)));
  ASSERT_TRUE(is_good(f.run(cdb({0x16, 0, 0, 0, 0, 0}), {}, B)));
  EXPECT_EQ(f.out(A, 0, 0, 0xa).st, status::reservation_conflict);
}

}  // namespace
}  // namespace diskless::scsi
