#include "iscsi/login.hpp"

#include <gtest/gtest.h>

#include "iscsi/md5.hpp"
#include "iscsi/test_util.hpp"

namespace diskless::iscsi {
namespace {

using namespace testing;

login_config config() {
  login_config c;
  c.inv = make_inventory();
  c.random = [](std::span<std::byte> out) {
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = std::byte(0x11 + i);
  };
  return c;
}

std::uint16_t status_of(const out_pdu& o) {
  return load_u16(o.bhs, 36);
}

TEST(login, none_then_operational_then_ffp) {
  login_machine m(config());
  auto s = m.on_pdu(login_request(0, 1, true,
                                  {{"InitiatorName", initiator("pc1")},
                                   {"TargetName", target("pc1")},
                                   {"SessionType", "Normal"},
                                   {"AuthMethod", "None"}}));
  ASSERT_EQ(s.what, login_machine::kind::reply);
  EXPECT_EQ(status_of(s.response), 0);
  EXPECT_EQ(std::to_integer<int>(s.response.bhs[1]), 0x81);  // T, CSG 0, NSG 1
  auto kv = keys_of(s.response);
  EXPECT_EQ(*find_key(kv, "AuthMethod"), "None");
  EXPECT_EQ(*find_key(kv, "TargetPortalGroupTag"), "1");
  EXPECT_EQ(load_u32(s.response.bhs, 28), 10u);  // ExpCmdSN = the login's CmdSN
  s = m.on_pdu(
      login_request(1, 3, true, {{"MaxRecvDataSegmentLength", "32768"}, {"ImmediateData", "Yes"}}));
  ASSERT_EQ(s.what, login_machine::kind::complete);
  EXPECT_EQ(std::to_integer<int>(s.response.bhs[1]), 0x87);
  kv = keys_of(s.response);
  EXPECT_EQ(*find_key(kv, "MaxRecvDataSegmentLength"), "262144");
  EXPECT_EQ(m.host()->name, "pc1");
  EXPECT_FALSE(m.discovery());
  EXPECT_EQ(m.params().initiator_mrdsl, 32768u);
}

TEST(login, straight_to_ffp_from_security) {
  login_machine m(config());
  auto s = m.on_pdu(login_request(0, 3, true,
                                  {{"InitiatorName", initiator("pc1")},
                                   {"TargetName", target("pc1")},
                                   {"AuthMethod", "CHAP,None"}}));
  ASSERT_EQ(s.what, login_machine::kind::complete);
  EXPECT_EQ(*find_key(keys_of(s.response), "AuthMethod"), "None");
}

TEST(login, status_classes) {
  struct tc {
    key_values kv;
    std::uint16_t status;
  } cases[] = {
      {{{"TargetName", target("pc1")}}, 0x0207},        // no InitiatorName
      {{{"InitiatorName", initiator("pc1")}}, 0x0207},  // no TargetName
      {{{"InitiatorName", initiator("pc1")}, {"TargetName", "iqn.x:nope"}}, 0x0203},
      {{{"InitiatorName", initiator("pc1")}, {"TargetName", target("nodisk")}}, 0x0203},
      {{{"InitiatorName", initiator("pc2")}, {"TargetName", target("pc1")}}, 0x0202},
      {{{"InitiatorName", "iqn.other"}, {"TargetName", target("pc1")}}, 0x0202},
      {{{"InitiatorName", initiator("x")}, {"SessionType", "Weird"}}, 0x0209},
      {{{"InitiatorName", initiator("pc2")}, {"TargetName", target("pc2")}, {"AuthMethod", "None"}},
       0x0201},  // CHAP required
  };
  for (auto& c : cases) {
    login_machine m(config());
    auto s = m.on_pdu(login_request(0, 1, true, c.kv));
    EXPECT_EQ(s.what, login_machine::kind::failed);
    EXPECT_EQ(status_of(s.response), c.status);
  }
  // Anyone may open "lab".
  login_machine m(config());
  auto s = m.on_pdu(
      login_request(0, 3, true, {{"InitiatorName", "iqn.whoever"}, {"TargetName", target("lab")}}));
  EXPECT_EQ(s.what, login_machine::kind::complete);
}

TEST(login, version_tsih_and_flags) {
  {
    login_machine m(config());
    auto p = login_request(0, 1, true,
                           {{"InitiatorName", initiator("pc1")}, {"TargetName", target("pc1")}});
    p.bhs[3] = std::byte{1};  // Version-min 1
    EXPECT_EQ(status_of(m.on_pdu(p).response), 0x0205);
  }
  {
    login_machine m(config());
    auto p = login_request(0, 1, true,
                           {{"InitiatorName", initiator("pc1")}, {"TargetName", target("pc1")}});
    store_u16(p.bhs, 14, 7);  // TSIH of a session we do not have
    EXPECT_EQ(status_of(m.on_pdu(p).response), 0x020a);
  }
  {
    login_machine m(config());
    auto p = login_request(0, 1, true, {{"InitiatorName", initiator("pc1")}});
    p.bhs[1] |= std::byte{0x40};  // T and C together
    EXPECT_EQ(status_of(m.on_pdu(p).response), 0x0200);
  }
  {
    login_machine m(config());
    auto p = login_request(1, 0, true, {{"InitiatorName", initiator("pc1")}});  // NSG < CSG
    EXPECT_EQ(status_of(m.on_pdu(p).response), 0x0200);
  }
  {
    login_machine m(config());
    auto p = login_request(0, 1, true,
                           {{"InitiatorName", initiator("pc1")},
                            {"TargetName", target("pc1")},
                            {"MaxBurstLength", "1"},
                            {"MaxBurstLength", "2"}});  // twice
    EXPECT_EQ(status_of(m.on_pdu(p).response), 0x0200);
  }
}

TEST(login, continued_request) {
  login_machine m(config());
  auto full = encode_text({{"InitiatorName", initiator("pc1")}, {"TargetName", target("pc1")}});
  auto p1 = login_request(0, 1, false, {}, true);
  p1.data.assign(full.begin(), full.begin() + 10);
  auto s = m.on_pdu(p1);
  ASSERT_EQ(s.what, login_machine::kind::reply);
  EXPECT_EQ(s.response.length, 0u);
  auto p2 = login_request(0, 3, true, {});
  p2.data.assign(full.begin() + 10, full.end());
  s = m.on_pdu(p2);
  EXPECT_EQ(s.what, login_machine::kind::complete);
}

// 8,253 unknown keys sent in continued Login Requests: each would be answered NotUnderstood, a
// reply of ~160 KB against the initiator's 8 KiB MaxRecvDataSegmentLength. The login is refused
// with "initiator error" and no response ever exceeds the initiator's limit (RFC 7143 §6.2).
TEST(login, unknown_key_flood_never_exceeds_initiator_mrdsl) {
  login_machine m(config());
  key_values kv{{"InitiatorName", initiator("pc1")}, {"TargetName", target("pc1")}};
  for (int i = 0; i < 8253; ++i) kv.emplace_back("X" + std::to_string(i), "1");
  auto full = encode_text(kv);
  ASSERT_LT(full.size(), 65536u);  // under the request bound, so the reply is what matters
  constexpr std::size_t piece = 8192;
  login_machine::step s{};
  for (std::size_t off = 0; off < full.size(); off += piece) {
    const bool last = off + piece >= full.size();
    auto p = login_request(0, 1, last, {}, !last);
    p.data.assign(full.begin() + off, full.begin() + std::min(full.size(), off + piece));
    s = m.on_pdu(p);
    EXPECT_LE(s.response.length, 8192u);
    if (!last) {
      ASSERT_EQ(s.what, login_machine::kind::reply);
    }
  }
  EXPECT_EQ(s.what, login_machine::kind::failed);
  EXPECT_EQ(status_of(s.response), 0x0200);
}

// A normal amount of unknown keys is still answered NotUnderstood within the limit.
TEST(login, few_unknown_keys_answered) {
  login_machine m(config());
  auto s = m.on_pdu(login_request(
      0, 1, true,
      {{"InitiatorName", initiator("pc1")}, {"TargetName", target("pc1")}, {"X-Vendor", "1"}}));
  ASSERT_EQ(s.what, login_machine::kind::reply);
  EXPECT_EQ(*find_key(keys_of(s.response), "X-Vendor"), "NotUnderstood");
}

std::string chap_r(std::uint8_t id, std::string_view secret, const bytes& challenge) {
  std::byte idb{id};
  return encode_hex(
      md5().update(byte_span(&idb, 1)).update(to_bytes(secret)).update(challenge).finish());
}

struct chap_run {
  explicit chap_run(login_config c = config()) : m(std::move(c)) {}
  login_machine m;
  std::uint8_t id = 0;
  bytes challenge;
  void start(std::string_view host) {
    auto s = m.on_pdu(login_request(0, 1, false,
                                    {{"InitiatorName", initiator(host)},
                                     {"TargetName", target(host)},
                                     {"AuthMethod", "CHAP,None"}}));
    ASSERT_EQ(s.what, login_machine::kind::reply);
    EXPECT_EQ(*find_key(keys_of(s.response), "AuthMethod"), "CHAP");
    s = m.on_pdu(login_request(0, 1, false, {{"CHAP_A", "7,5"}}));
    ASSERT_EQ(s.what, login_machine::kind::reply);
    auto kv = keys_of(s.response);
    EXPECT_EQ(*find_key(kv, "CHAP_A"), "5");
    id = static_cast<std::uint8_t>(std::stoul(*find_key(kv, "CHAP_I")));
    challenge = *decode_binary(*find_key(kv, "CHAP_C"));
    EXPECT_EQ(challenge.size(), 16u);
  }
};

TEST(login, chap_one_way) {
  chap_run r;
  r.start("pc2");
  auto s = r.m.on_pdu(login_request(
      0, 3, true, {{"CHAP_N", "user2"}, {"CHAP_R", chap_r(r.id, "secret2-12chars", r.challenge)}}));
  EXPECT_EQ(s.what, login_machine::kind::complete);
}

// RFC 1994 §4.1 shape with known bytes: id 0x11, challenge 0x12.., our response must match an
// independent MD5 of the concatenation.
TEST(login, chap_vector) {
  chap_run r;
  r.start("pc2");
  EXPECT_EQ(r.id, 0x11);
  EXPECT_EQ(to_hex(r.challenge), "1112131415161718191a1b1c1d1e1f20");
  auto concat = bytes{std::byte{0x11}};
  auto sec = to_bytes("secret2-12chars");
  concat.insert(concat.end(), sec.begin(), sec.end());
  concat.insert(concat.end(), r.challenge.begin(), r.challenge.end());
  EXPECT_EQ(chap_r(0x11, "secret2-12chars", r.challenge), encode_hex(md5::of(concat)));
}

TEST(login, chap_wrong_secret_and_name) {
  for (auto [name, secret] : {std::pair{"user2", "wrong-secret!!"}, {"other", "secret2-12chars"}}) {
    chap_run r;
    r.start("pc2");
    auto s = r.m.on_pdu(login_request(
        0, 3, true, {{"CHAP_N", name}, {"CHAP_R", chap_r(r.id, secret, r.challenge)}}));
    EXPECT_EQ(s.what, login_machine::kind::failed);
    EXPECT_EQ(status_of(s.response), 0x0201);
  }
  chap_run r;
  r.start("pc2");
  auto s = r.m.on_pdu(login_request(0, 3, true, {{"CHAP_N", "user2"}, {"CHAP_R", "0xzz"}}));
  EXPECT_EQ(status_of(s.response), 0x0201);
}

// chap-secret="auto": the secret is the host's current per-boot one; an older one, or any before
// the host's first boot, is refused.
TEST(login, chap_auto_checks_the_current_boot_secret) {
  auto with_auto = [](std::optional<std::string> current) {
    auto c = config();
    auto inv = std::make_shared<inventory::inventory>(*c.inv);
    for (auto& h : inv->hosts)
      if (h.name == "pc2") h.chap->secret = "auto";
    c.inv = inv;
    if (current) c.auto_secret = [current](const mac_address&) { return current; };
    return c;
  };
  struct row {
    std::optional<std::string> current;
    std::string sent;
    bool ok;
  };
  for (const auto& [current, sent, ok] :
       {row{"NewBootSecret123", "NewBootSecret123", true},
        row{"NewBootSecret123", "OldBootSecret123", false}, row{"NewBootSecret123", "auto", false},
        row{std::nullopt, "auto", false}}) {
    chap_run r(with_auto(current));
    r.start("pc2");
    auto s = r.m.on_pdu(login_request(
        0, 3, true, {{"CHAP_N", "user2"}, {"CHAP_R", chap_r(r.id, sent, r.challenge)}}));
    EXPECT_EQ(s.what, ok ? login_machine::kind::complete : login_machine::kind::failed) << sent;
    if (!ok) {
      EXPECT_EQ(status_of(s.response), 0x0201) << sent;
    }
  }
}

TEST(login, chap_mutual) {
  chap_run r;
  r.start("pc3");
  bytes mine = from_hex("a1a2a3a4a5a6a7a8a9aaabacadaeafb0");
  auto s = r.m.on_pdu(login_request(0, 1, true,
                                    {{"CHAP_N", "user3"},
                                     {"CHAP_R", chap_r(r.id, "secret3-12chars", r.challenge)},
                                     {"CHAP_I", "77"},
                                     {"CHAP_C", encode_hex(mine)}}));
  ASSERT_EQ(s.what, login_machine::kind::reply);
  auto kv = keys_of(s.response);
  EXPECT_EQ(*find_key(kv, "CHAP_N"), "target3");
  EXPECT_EQ(*find_key(kv, "CHAP_R"), chap_r(77, "mutual3-12chars", mine));
  EXPECT_EQ(std::to_integer<int>(s.response.bhs[1]), 0x81);
}

TEST(login, chap_mutual_refuses_reflection_and_missing_secret) {
  {
    chap_run r;
    r.start("pc3");
    auto s = r.m.on_pdu(login_request(0, 1, true,
                                      {{"CHAP_N", "user3"},
                                       {"CHAP_R", chap_r(r.id, "secret3-12chars", r.challenge)},
                                       {"CHAP_I", "1"},
                                       {"CHAP_C", encode_hex(r.challenge)}}));
    EXPECT_EQ(status_of(s.response), 0x0201);
  }
  {
    chap_run r;
    r.start("pc2");  // no mutual secret configured
    auto s = r.m.on_pdu(login_request(0, 1, true,
                                      {{"CHAP_N", "user2"},
                                       {"CHAP_R", chap_r(r.id, "secret2-12chars", r.challenge)},
                                       {"CHAP_I", "1"},
                                       {"CHAP_C", "0x0102030405060708"}}));
    EXPECT_EQ(status_of(s.response), 0x0201);
  }
}

TEST(login, chap_algorithm_and_skipping_security) {
  login_machine m(config());
  m.on_pdu(login_request(0, 1, false,
                         {{"InitiatorName", initiator("pc2")},
                          {"TargetName", target("pc2")},
                          {"AuthMethod", "CHAP"}}));
  auto s = m.on_pdu(login_request(0, 1, false, {{"CHAP_A", "6"}}));
  EXPECT_EQ(status_of(s.response), 0x0201);
  login_machine m2(config());
  s = m2.on_pdu(login_request(
      1, 3, true, {{"InitiatorName", initiator("pc2")}, {"TargetName", target("pc2")}}));
  EXPECT_EQ(status_of(s.response), 0x0201);
}

TEST(login, chap_refuses_transit_before_auth) {
  login_machine m(config());
  auto s = m.on_pdu(login_request(0, 3, true,
                                  {{"InitiatorName", initiator("pc2")},
                                   {"TargetName", target("pc2")},
                                   {"AuthMethod", "CHAP"}}));
  ASSERT_EQ(s.what, login_machine::kind::reply);
  EXPECT_EQ(std::to_integer<int>(s.response.bhs[1]) & 0x80, 0);  // no transit yet
}

TEST(login, discovery) {
  login_machine m(config());
  auto s = m.on_pdu(login_request(
      0, 3, true,
      {{"InitiatorName", initiator("pc1")}, {"SessionType", "Discovery"}, {"AuthMethod", "None"}}));
  ASSERT_EQ(s.what, login_machine::kind::complete);
  EXPECT_TRUE(m.discovery());
  EXPECT_EQ(find_key(keys_of(s.response), "TargetPortalGroupTag"), nullptr);
}

TEST(login, failure_replaces_completion) {
  login_machine m(config());
  auto s = m.on_pdu(login_request(
      0, 3, true, {{"InitiatorName", initiator("pc1")}, {"TargetName", target("pc1")}}));
  ASSERT_EQ(s.what, login_machine::kind::complete);
  auto f = m.failure(login_status::out_of_resources);
  EXPECT_EQ(status_of(f), 0x0302);
  EXPECT_EQ(load_u32(f.bhs, 24), load_u32(s.response.bhs, 24));
}

}  // namespace
}  // namespace diskless::iscsi
