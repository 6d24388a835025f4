// Fuzzes the full feature phase (RFC 7143 §4.2, §11): a sequence of initiator PDUs through one
// session over a real scsi::disk_unit on a small in-memory disk (inline I/O pool), so Text,
// Task Management, NOP-Out, Logout, SNACK, SCSI Commands and the R2T / Data-Out sequencing all
// run with their real state.
//
// Input: records of [control byte][48 BHS bytes][2 bytes data length, big-endian][data]. The
// control byte picks the opcode (low 3 bits, from the initiator opcodes) and the I bit (0x08);
// 0x10 "in sequence": a command gets the next CmdSN, a Data-Out the ITT/TTT/offset of the last
// R2T; 0x20 the first 20 data bytes become an AHS (an Extended CDB AHS when they say so); 0x40
// the connection's output drains; 0x80 the data digest failed. Without the hints a fuzzer would
// rarely guess a CmdSN in the window or a TTT the target chose.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "iscsi/session.hpp"
#include "iscsi/test_util.hpp"
#include "scsi/disk_unit.hpp"
#include "storage/memory_device.hpp"

namespace {

using namespace diskless;
using namespace diskless::iscsi;

constexpr opcode initiator_ops[8] = {opcode::nop_out, opcode::scsi_command, opcode::task_mgmt,
                                     opcode::text,    opcode::data_out,     opcode::logout,
                                     opcode::snack,   opcode::scsi_command};

struct last_r2t {
  std::uint32_t itt = 0, ttt = 0, offset = 0, length = 0;
};

struct input {
  const std::uint8_t* p;
  std::size_t n;
  bool take(std::size_t k, const std::uint8_t*& out) {
    if (n < k) return false;
    out = p;
    p += k;
    n -= k;
    return true;
  }
};

// Target PDUs only, each a well-formed BHS; remembers the last R2T (§11.8: ITT 16, TTT 20,
// Buffer Offset 40, Desired Data Transfer Length 44).
void check_output(const out_pdu& o, last_r2t& r2t) {
  const auto op = std::to_integer<std::uint8_t>(o.bhs[0]) & 0x3f;
  if (op < 0x20) std::abort();  // an initiator opcode from the target
  if (op == static_cast<std::uint8_t>(opcode::r2t))
    r2t = {load_u32(o.bhs, 16), load_u32(o.bhs, 20), load_u32(o.bhs, 40), load_u32(o.bhs, 44)};
}

// Applies the control byte's hints to a PDU (§11.3 CmdSN at 24; §11.7 ITT 16, TTT 20, Buffer
// Offset 40).
void apply_hints(std::uint8_t ctl, pdu& p, std::uint32_t& cmd_sn, const last_r2t& r2t) {
  const auto op = initiator_ops[ctl & 7];
  p.bhs[0] = std::byte(static_cast<std::uint8_t>(op) | ((ctl & 0x08) ? 0x40 : 0));
  if (ctl & 0x10) {
    if (op == opcode::data_out) {
      store_u32(p.bhs, 16, r2t.itt);
      store_u32(p.bhs, 20, r2t.ttt);
      store_u32(p.bhs, 40, r2t.offset);
      if (p.data.size() > r2t.length) p.data.resize(r2t.length);
    } else {
      store_u32(p.bhs, 24, (ctl & 0x08) ? cmd_sn : cmd_sn++);
    }
  }
  if ((ctl & 0x20) && p.data.size() >= 20) {
    p.ahs.assign(p.data.begin(), p.data.begin() + 20);
    p.data.erase(p.data.begin(), p.data.begin() + 20);
    p.bhs[4] = std::byte{5};  // TotalAHSLength in words
  } else {
    p.bhs[4] = std::byte{0};
  }
  store_u24(p.bhs, 5, static_cast<std::uint32_t>(p.data.size()));  // as the framer delivers it
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static io_pool pool(0, [](io_pool::task t) { t(); });
  static auto inv = testing::make_inventory();
  auto dev = std::make_shared<storage::memory_device>(64 * 512);
  auto unit =
      std::make_shared<scsi::disk_unit>(dev, pool, scsi::disk_unit::options::for_host("fuzz"));
  session_config cfg;
  cfg.params.initiator_mrdsl = 4096;
  cfg.params.max_burst_length = 8192;
  cfg.params.first_burst_length = 4096;
  cfg.params.immediate_data = (size & 1) != 0;
  cfg.params.initial_r2t = (size & 2) != 0;
  cfg.exp_cmd_sn = 1;
  cfg.cmd_window = 8;
  cfg.max_tasks = 16;
  cfg.output_budget = 16384;
  std::size_t queued = 0;
  cfg.queued_output = [&queued] { return queued; };
  cfg.inv = inv;
  cfg.initiator_name = testing::initiator("pc1");
  cfg.target_name = testing::target("pc1");
  cfg.portal = "10.0.0.1:3260,1";
  last_r2t r2t;
  session s(cfg, unit, [&](out_pdu o) {
    check_output(o, r2t);
    queued += 48 + o.length;
  });
  std::uint32_t cmd_sn = 1;
  input in{data, size};
  for (int i = 0; i < 64; ++i) {
    const std::uint8_t *ctl, *bhs, *len;
    if (!in.take(1, ctl) || !in.take(48, bhs) || !in.take(2, len)) break;
    std::size_t n = std::min<std::size_t>((len[0] << 8) | len[1], in.n);
    const std::uint8_t* body;
    in.take(n, body);
    pdu p;
    for (std::size_t k = 0; k < 48; ++k) p.bhs[k] = std::byte{bhs[k]};
    for (std::size_t k = 0; k < n; ++k) p.data.push_back(std::byte{body[k]});
    apply_hints(*ctl, p, cmd_sn, r2t);
    if (!s.on_pdu(std::move(p), (*ctl & 0x80) != 0)) break;
    if (*ctl & 0x40) {
      queued = 0;
      s.output_drained();
    }
  }
  return 0;
}
