#pragma once
// The session test rig shared by session_test.cpp and session_control_test.cpp: a fake logical
// unit, a session wired to it with captured output, and PDU helpers.
#include <gtest/gtest.h>

#include <deque>

#include "iscsi/session.hpp"
#include "iscsi/test_util.hpp"
#include "scsi/sense.hpp"

namespace diskless::iscsi::test {

using namespace testing;

// A fake logical unit: 64 KiB of memory, READ(10)/WRITE(10)/TEST UNIT READY; completions are
// held until release() so tests can observe in-flight behaviour.
class fake_lu : public scsi::logical_unit {
 public:
  bytes disk = bytes(65536);
  std::deque<std::pair<scsi::task, scsi::completion>> pending;
  int resets = 0;
  bool hold = false;

  void execute(scsi::task t, scsi::completion done) override {
    if (hold) {
      pending.emplace_back(std::move(t), std::move(done));
      return;
    }
    run(std::move(t), std::move(done));
  }
  void release() {
    while (!pending.empty()) {
      auto [t, d] = std::move(pending.front());
      pending.pop_front();
      run(std::move(t), std::move(d));
    }
  }
  void lun_reset(scsi::nexus_id) override { ++resets; }
  void nexus_lost(scsi::nexus_id) override {}
  std::uint32_t block_size() const override { return 512; }

 private:
  void run(scsi::task t, scsi::completion done) {
    scsi::task_result r;
    auto op = std::to_integer<int>(t.cdb[0]);
    std::uint32_t lba = load_u32(t.cdb, 2), n = load_u16(t.cdb, 7) * 512u;
    if (op == 0x28) {
      r.data_in = bytes(disk.begin() + lba * 512, disk.begin() + lba * 512 + n);
    } else if (op == 0x2a) {
      std::copy(t.data_out.begin(), t.data_out.begin() + n, disk.begin() + lba * 512);
    } else if (op != 0x00) {
      r = scsi::invalid_opcode();
    }
    done(std::move(r));
  }
};

struct rig {
  std::shared_ptr<fake_lu> lu = std::make_shared<fake_lu>();
  std::vector<pdu> out;
  std::unique_ptr<session> s;
  std::uint32_t cmd_sn = 100;

  explicit rig(session_params p = {}, bool discovery = false) {
    session_config c;
    c.params = p;
    c.discovery = discovery;
    c.exp_cmd_sn = cmd_sn;
    c.stat_sn = 5;
    c.inv = make_inventory();
    c.initiator_name = initiator("pc1");
    c.target_name = target("pc1");
    c.portal = "10.0.0.1:3260,1";
    s = std::make_unique<session>(c, lu, [this](out_pdu o) {
      // Through the real wire format and framer, split at every offset for good measure.
      out.push_back(to_pdu(o));
    });
  }

  static pdu cmd(std::uint8_t op, std::uint32_t lba, std::uint16_t blocks, bool read, bool write,
                 std::uint32_t edtl, std::uint32_t itt, std::uint32_t sn, bytes imm = {}) {
    pdu p;
    p.bhs[0] = std::byte{0x01};
    p.bhs[1] = std::byte(0x80 | (read ? 0x40 : 0) | (write ? 0x20 : 0) | 1);
    store_u32(p.bhs, 16, itt);
    store_u32(p.bhs, 20, edtl);
    store_u32(p.bhs, 24, sn);
    p.bhs[32] = std::byte{op};
    store_u32(p.bhs, 34, lba);
    store_u16(p.bhs, 39, blocks);
    p.data = std::move(imm);
    store_u24(p.bhs, 5, static_cast<std::uint32_t>(p.data.size()));
    return p;
  }
  pdu read10(std::uint32_t lba, std::uint16_t blocks, std::uint32_t itt) {
    return cmd(0x28, lba, blocks, true, false, blocks * 512u, itt, cmd_sn++);
  }
  static pdu data_out(std::uint32_t itt, std::uint32_t ttt, std::uint32_t sn, std::uint32_t off,
                      bytes d, bool final) {
    pdu p;
    p.bhs[0] = std::byte{0x05};
    p.bhs[1] = std::byte(final ? 0x80 : 0);
    store_u32(p.bhs, 16, itt);
    store_u32(p.bhs, 20, ttt);
    store_u32(p.bhs, 36, sn);
    store_u32(p.bhs, 40, off);
    p.data = std::move(d);
    store_u24(p.bhs, 5, static_cast<std::uint32_t>(p.data.size()));
    return p;
  }
};

inline bytes pattern(std::size_t n, int seed) {
  bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = std::byte((i * 31 + seed) & 0xff);
  return b;
}

}  // namespace diskless::iscsi::test
