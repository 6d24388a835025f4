// io_trace: CDB decoding (byte vectors, error paths), the text format, session numbering, the
// size limit, and the traced unit forwarding to the real one.
#include "scsi/io_trace.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "scsi/test_support.hpp"

namespace diskless::scsi {
namespace {

using namespace testing;
using clk = std::chrono::steady_clock;

TEST(IoTraceOp, DecodesReadWriteAndFlushForms) {
  auto r10 = trace_op(cdb({0x28, 0, 0, 0, 0x10, 0x00, 0, 0, 8, 0}));
  ASSERT_TRUE(r10);
  EXPECT_EQ(r10->op, 'R');
  EXPECT_EQ(r10->lba, 0x1000u);
  EXPECT_EQ(r10->blocks, 8u);
  auto w16 = trace_op(cdb({0x8a, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0x01, 0x00, 0, 0}));
  ASSERT_TRUE(w16);
  EXPECT_EQ(w16->op, 'W');
  EXPECT_EQ(w16->lba, 0x100000002ull);
  EXPECT_EQ(w16->blocks, 256u);
  auto r6 = trace_op(cdb({0x08, 0x01, 0x02, 0x03, 0, 0}));  // length 0 = 256 blocks
  ASSERT_TRUE(r6);
  EXPECT_EQ(r6->lba, 0x10203u);
  EXPECT_EQ(r6->blocks, 256u);
  auto f = trace_op(cdb({0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->op, 'F');
}

TEST(IoTraceOp, IgnoresOtherCommandsAndShortCdbs) {
  EXPECT_FALSE(trace_op(cdb({0x12, 0, 0, 0, 36, 0})));             // INQUIRY
  EXPECT_FALSE(trace_op(cdb({0x2f, 0, 0, 0, 0, 0, 0, 0, 1, 0})));  // VERIFY(10)
  EXPECT_FALSE(trace_op(cdb({0x28, 0, 0, 0, 0})));                 // READ(10), 5 bytes
  EXPECT_FALSE(trace_op(bytes{}));
  EXPECT_FALSE(trace_op(cdb({0xff})));
}

struct trace_fixture {
  std::vector<io_pool::task> loop;
  io_pool pool{0, [this](io_pool::task t) { loop.push_back(std::move(t)); }};
  std::filesystem::path file =
      std::filesystem::path(::testing::TempDir()) /
      ("io_trace_" + std::to_string(::getpid()) + "_" +
       ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".trace");
  ~trace_fixture() { std::filesystem::remove(file); }
  std::string text() const {
    std::ifstream in(file);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
};

TEST(IoTraceLog, WritesRelativeTimesAndSessionsInOrder) {
  trace_fixture f;
  auto t0 = clk::now();
  {
    io_trace_log log(f.file, "pc01", f.pool);
    log.record(t0 + std::chrono::microseconds(2500), 77, {'R', 0, 1});
    log.record(t0 + std::chrono::microseconds(4000), 77, {'R', 2048, 64});
    log.flush();  // a first chunk, then more: both reach the file in order
    log.record(t0 + std::chrono::milliseconds(1500), 99, {'W', 10, 8});
    log.record(t0 + std::chrono::milliseconds(1501), 77, {'F', 0, 0});
    EXPECT_EQ(log.records(), 4u);
  }
  std::string t = f.text();
  auto body = t.substr(t.find("flush)\n") + 7);
  EXPECT_EQ(body, "0.000 R 0 1 0\n1.500 R 2048 64 0\n1497.500 W 10 8 1\n1498.500 F 0 0 0\n");
  EXPECT_NE(t.find("# diskless I/O trace of host pc01"), std::string::npos);
}

TEST(IoTraceLog, StopsAtItsLimit) {
  trace_fixture f;
  auto t0 = clk::now();
  {
    io_trace_log log(f.file, "pc01", f.pool, 40);
    for (int i = 0; i < 100; ++i) log.record(t0, 1, {'R', 1000000u + i, 8});
    EXPECT_EQ(log.records(), 2u);  // "0.000 R 1000000 8 0\n" is 20 bytes
  }
  std::string t = f.text();
  EXPECT_NE(t.find("R 1000001 8 0\n# truncated"), std::string::npos);
  EXPECT_EQ(t.find("1000002"), std::string::npos);
}

TEST(IoTraceLog, UnwritableFileIsNoCrash) {
  std::vector<io_pool::task> loop;
  io_pool pool(0, [&](io_pool::task t) { loop.push_back(std::move(t)); });
  io_trace_log log("/nonexistent-dir/x.trace", "pc01", pool);
  log.record(clk::now(), 1, {'R', 0, 1});
  log.flush();
  log.record(clk::now(), 1, {'R', 1, 1});
  SUCCEED();
}

TEST(TracedUnit, ForwardsAndRecordsBlockCommandsOnly) {
  trace_fixture f;
  unit_fixture u;
  auto log = std::make_shared<io_trace_log>(f.file, "pc01", u.pool);
  // The fixture's unit is a member; wrap a non-owning pointer to it.
  std::shared_ptr<logical_unit> inner(&u.unit, [](logical_unit*) {});
  auto traced = make_traced_unit(inner, log);
  EXPECT_EQ(traced->block_size(), 512u);
  std::optional<task_result> got;
  task t;
  t.cdb = cdb({0x12, 0, 0, 0, 36, 0});  // INQUIRY: forwarded, not recorded
  t.expected_length = 36;
  t.data_in_expected = true;
  traced->execute(std::move(t), [&](task_result r) { got = std::move(r); });
  ASSERT_TRUE(got);
  EXPECT_TRUE(is_good(*got));
  task r;
  r.cdb = cdb({0x28, 0, 0, 0, 0, 4, 0, 0, 2, 0});
  r.expected_length = 1024;
  r.data_in_expected = true;
  got.reset();
  traced->execute(std::move(r), [&](task_result x) { got = std::move(x); });
  ASSERT_TRUE(got);
  EXPECT_TRUE(is_good(*got));
  EXPECT_EQ(log->records(), 1u);
  traced.reset();  // flushes
  EXPECT_NE(f.text().find("0.000 R 4 2 0\n"), std::string::npos);
}

}  // namespace
}  // namespace diskless::scsi
