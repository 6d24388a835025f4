// qcow2 interoperability with QEMU's own tools (Debian qemu-utils: qemu-img, qemu-io), and crash
// consistency: a writer killed with SIGKILL leaves an image qemu-img check finds clean (leaks at
// most) with every flushed write present. Skipped when qemu-img is not installed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <random>

#include "storage/image.hpp"
#include "storage/qcow2.hpp"
#include "util/file.hpp"

namespace diskless::storage {
namespace {

namespace fs = std::filesystem;

struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string t = (fs::temp_directory_path() / "dl-qcow2-interop-XXXXXX").string();
    path = ::mkdtemp(t.data());
  }
  ~temp_dir() { fs::remove_all(path); }
};

bool have_qemu() {
  return std::system("qemu-img --version >/dev/null 2>&1") == 0;
}

// Runs a shell command; returns its exit status and stdout.
int run(const std::string& cmd, std::string* out = nullptr) {
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return -1;
  std::string s;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) s.append(buf, n);
  int st = ::pclose(p);
  if (out) *out = s;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

bytes random_bytes(std::mt19937_64& rng, std::size_t n) {
  bytes b(n);
  for (auto& x : b) x = static_cast<std::byte>(rng());
  return b;
}

bytes read_all(block_device& d) {
  bytes b(d.size());
  EXPECT_FALSE(d.read(0, b));
  return b;
}

// Random writes/discards over [lo, hi) of an image and the model.
void workload(qcow2_image& q, bytes* model, std::mt19937_64& rng, int ops, std::uint64_t lo,
              std::uint64_t hi, bool flushes) {
  for (int i = 0; i < ops; ++i) {
    std::uint64_t off = lo + rng() % (hi - lo);
    std::uint64_t len = 1 + rng() % std::min<std::uint64_t>(hi - off, 200000);
    if (rng() % 4 == 0) {
      ASSERT_FALSE(q.discard(off, len));
      if (model) std::fill_n(model->begin() + static_cast<std::ptrdiff_t>(off), len, std::byte{0});
    } else {
      auto d = random_bytes(rng, len);
      ASSERT_FALSE(q.write(off, d));
      if (model) std::copy(d.begin(), d.end(), model->begin() + static_cast<std::ptrdiff_t>(off));
    }
    if (flushes && rng() % 16 == 0) {
      ASSERT_FALSE(q.flush());
    }
  }
}

struct setup {
  temp_dir dir;
  fs::path base = dir.path / "base.img";
  fs::path ov = dir.path / "ov.qcow2";
  bytes model;
  setup(std::uint64_t size, std::uint32_t cluster_bits = 16, std::uint64_t base_size = 0) {
    std::mt19937_64 rng(size);
    if (base_size == 0) base_size = size;
    auto b = random_bytes(rng, base_size);
    EXPECT_TRUE(write_file_atomic(base, to_string(b)).ok());
    model.assign(size, std::byte{0});
    std::copy(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(std::min(size, base_size)),
              model.begin());
    qcow2_create_options o;
    o.size = size;
    o.backing_file = base.string();
    o.cluster_bits = cluster_bits;
    EXPECT_TRUE(create_qcow2(ov, o).ok());
  }
  std::shared_ptr<qcow2_image> open(bool writable) {
    auto q = open_qcow2(ov, {writable, nullptr, false});
    EXPECT_TRUE(q.ok()) << q.error_message();
    return *q;
  }
};

TEST(Qcow2Interop, QemuImgCheckIsCleanAfterRandomWorkloads) {
  if (!have_qemu()) GTEST_SKIP() << "qemu-img not installed";
  for (std::uint32_t cb : {16u, 12u, 9u}) {
    setup s(cb == 9 ? 300032 : 6 << 20, cb, cb == 9 ? 200000 + 77 : 0);
    std::mt19937_64 rng(cb);
    {
      auto q = s.open(true);
      workload(*q, &s.model, rng, 300, 0, s.model.size(), true);
    }
    std::string out;
    EXPECT_EQ(run("qemu-img check -f qcow2 " + s.ov.string(), &out), 0) << out;
    EXPECT_NE(out.find("No errors were found"), std::string::npos) << out;
    EXPECT_EQ(out.find("leaked"), std::string::npos) << out;
    EXPECT_EQ(run("qemu-img info " + s.ov.string(), &out), 0);
    EXPECT_NE(out.find("backing file: " + s.base.string()), std::string::npos) << out;
    EXPECT_NE(out.find("backing file format: raw"), std::string::npos) << out;
    // QEMU reads our overlay as we do.
    auto raw = s.dir.path / "out.raw";
    ASSERT_EQ(run("qemu-img convert -O raw " + s.ov.string() + " " + raw.string(), &out), 0) << out;
    auto content = read_file(raw);
    ASSERT_TRUE(content.ok());
    auto got = to_bytes(*content);
    ASSERT_EQ(got.size(), s.model.size());
    auto diff = std::mismatch(got.begin(), got.end(), s.model.begin()).first - got.begin();
    EXPECT_EQ(static_cast<std::size_t>(diff), got.size()) << "cluster_bits " << cb;
  }
}

// A large sparse overlay with 4 KiB clusters: a refcount table of many clusters, writes far
// apart (new L2 tables and refcount blocks at high offsets).
TEST(Qcow2Interop, LargeSparseOverlayWithSmallClusters) {
  if (!have_qemu()) GTEST_SKIP() << "qemu-img not installed";
  temp_dir d;
  auto p = d.path / "big.qcow2";
  ASSERT_TRUE(create_qcow2(p, {100ull << 30, "", "", 12}).ok());
  {
    auto q = open_qcow2(p, {true, nullptr, false});
    ASSERT_TRUE(q.ok()) << q.error_message();
    EXPECT_GT((*q)->header().refcount_table_clusters, 1u);
    std::mt19937_64 rng(21);
    for (int i = 0; i < 200; ++i) {
      auto data = random_bytes(rng, 4096 * (1 + rng() % 4));
      std::uint64_t off = (rng() % ((100ull << 30) / 4096 - 8)) * 4096;
      ASSERT_FALSE((*q)->write(off, data));
      bytes got(data.size());
      ASSERT_FALSE((*q)->read(off, got));
      ASSERT_EQ(got, data);
    }
  }
  std::string out;
  EXPECT_EQ(run("qemu-img check " + p.string(), &out), 0) << out;
}

// Sequential 1 MiB writes with 4 KiB clusters cross L2 ranges (2 MiB) and refcount blocks
// (8 MiB): the metadata is placed ahead of the data (prepare_allocation), so each 1 MiB lies in
// one run of the file for zero-copy reads, and the image stays exact (no leaks).
TEST(Qcow2Interop, SequentialWritesMakeOneRunPerWrite) {
  if (!have_qemu()) GTEST_SKIP() << "qemu-img not installed";
  setup s(24 << 20, 12);
  std::mt19937_64 rng(5);
  {
    auto q = s.open(true);
    for (std::uint64_t off = 0; off < (24u << 20); off += 1 << 20) {
      auto data = random_bytes(rng, 1 << 20);
      ASSERT_FALSE(q->write(off, data));
      std::copy(data.begin(), data.end(), s.model.begin() + static_cast<std::ptrdiff_t>(off));
    }
    for (std::uint64_t off = 0; off < (24u << 20); off += 1 << 20) {
      auto fe = q->file_for(off, 1 << 20);
      ASSERT_GE(fe.fd, 0) << "no single run at " << off;
      bytes run(1 << 20);
      ASSERT_EQ(::pread(fe.fd, run.data(), run.size(), static_cast<off_t>(fe.offset)), 1 << 20);
      ASSERT_TRUE(
          std::equal(run.begin(), run.end(), s.model.begin() + static_cast<std::ptrdiff_t>(off)))
          << off;
    }
  }
  std::string out;
  EXPECT_EQ(run("qemu-img check -f qcow2 " + s.ov.string(), &out), 0) << out;
  EXPECT_EQ(out.find("leaked"), std::string::npos) << out;
}

TEST(Qcow2Interop, ReadsOverlayWrittenByQemuIo) {
  if (!have_qemu()) GTEST_SKIP() << "qemu-img not installed";
  setup s(4 << 20);
  std::string out;
  ASSERT_EQ(run("qemu-img create -q -f qcow2 -b " + s.base.string() + " -F raw " + s.ov.string()),
            0);
  ASSERT_EQ(run("qemu-io -f qcow2 -c 'write -P 0x5a 100k 300k' -c 'write -z 1M 64k' "
                "-c 'write -z -u 2M 128k' -c 'discard 3M 192k' -c 'write -P 7 4095k 1k' " +
                    s.ov.string(),
                &out),
            0)
      << out;
  auto raw = s.dir.path / "out.raw";
  ASSERT_EQ(run("qemu-img convert -O raw " + s.ov.string() + " " + raw.string(), &out), 0) << out;
  auto expect = read_file(raw);
  ASSERT_TRUE(expect.ok());
  auto q = s.open(false);
  EXPECT_TRUE(read_all(*q) == to_bytes(*expect));
  // And we can keep writing it, leaving it clean for qemu-img.
  q.reset();
  q = s.open(true);
  std::mt19937_64 rng(11);
  bytes model = to_bytes(*expect);
  workload(*q, &model, rng, 100, 0, model.size(), false);
  EXPECT_TRUE(read_all(*q) == model);
  q.reset();
  EXPECT_EQ(run("qemu-img check -f qcow2 " + s.ov.string(), &out), 0) << out;
}

TEST(Qcow2Interop, QemuImgCommitOfOurOverlayGivesTheExpectedBase) {
  if (!have_qemu()) GTEST_SKIP() << "qemu-img not installed";
  setup s(5 << 20);
  std::mt19937_64 rng(12);
  {
    auto q = s.open(true);
    workload(*q, &s.model, rng, 200, 0, s.model.size(), false);
  }
  std::string out;
  ASSERT_EQ(run("qemu-img commit -f qcow2 " + s.ov.string(), &out), 0) << out;
  auto base = read_file(s.base);
  ASSERT_TRUE(base.ok());
  EXPECT_TRUE(to_bytes(*base) == s.model);
}

TEST(Qcow2Interop, OverlayOverQcow2BackingImage) {
  if (!have_qemu()) GTEST_SKIP() << "qemu-img not installed";
  setup s(3 << 20);
  auto qbase = s.dir.path / "base.qcow2";
  std::string out;
  ASSERT_EQ(run("qemu-img convert -O qcow2 " + s.base.string() + " " + qbase.string(), &out), 0)
      << out;
  auto ov2 = s.dir.path / "ov2.qcow2";
  ASSERT_TRUE(create_qcow2(ov2, {0, qbase.string(), "", 16}).ok());
  auto q = open_qcow2(ov2, {true, nullptr, false});
  ASSERT_TRUE(q.ok()) << q.error_message();
  EXPECT_EQ((*q)->header().backing_format, "qcow2");
  EXPECT_TRUE(read_all(**q) == s.model);
  std::mt19937_64 rng(13);
  workload(**q, &s.model, rng, 100, 0, s.model.size(), false);
  EXPECT_TRUE(read_all(**q) == s.model);
  q = error{"closed"};
  EXPECT_EQ(run("qemu-img check " + ov2.string(), &out), 0) << out;
  // Compressed images are refused with a clear message.
  // (from compressible data: qemu-img stores incompressible clusters uncompressed)
  auto text = s.dir.path / "text.img";
  std::string pattern;
  while (pattern.size() < (1 << 20)) pattern += "diskless compresses well. ";
  ASSERT_TRUE(write_file_atomic(text, pattern).ok());
  auto comp = s.dir.path / "comp.qcow2";
  ASSERT_EQ(run("qemu-img convert -c -O qcow2 " + text.string() + " " + comp.string()), 0);
  auto c = open_qcow2(comp, {});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error_message().find("compressed"), std::string::npos) << c.error_message();
}

// A writer killed at a random moment (mid-write, mid-flush) leaves a clean image (leaks only),
// and everything flushed before stays intact.
TEST(Qcow2Interop, SigkillLeavesOnlyLeaksAndKeepsFlushedData) {
  if (!have_qemu()) GTEST_SKIP() << "qemu-img not installed";
  for (int round = 0; round < 6; ++round) {
    setup s(8 << 20, round % 2 ? 12 : 16);
    const std::uint64_t half = s.model.size() / 2;
    std::mt19937_64 rng(100 + round);
    {
      auto q = s.open(true);
      workload(*q, &s.model, rng, 150, 0, s.model.size(), false);
      ASSERT_FALSE(q->flush());
      // Discard part of the first half too, so its clusters become free for reuse below.
      ASSERT_FALSE(q->discard(0, half / 2));
      std::fill_n(s.model.begin(), half / 2, std::byte{0});
      ASSERT_FALSE(q->flush());
    }
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto q = open_qcow2(s.ov, {true, nullptr, false});
      if (!q.ok()) ::_exit(1);
      std::mt19937_64 r(round);
      for (;;) {  // second half only, with flushes, until killed
        std::uint64_t off = half + r() % half;
        std::uint64_t len = 1 + r() % std::min<std::uint64_t>(s.model.size() - off, 100000);
        if (r() % 4 == 0) {
          (void)(*q)->discard(off, len);
        } else {
          auto d = random_bytes(r, len);
          (void)(*q)->write(off, d);
        }
        if (r() % 8 == 0) (void)(*q)->flush();
      }
    }
    ::usleep(static_cast<useconds_t>(20000 + (rng() % 200000)));
    ::kill(pid, SIGKILL);
    int st = 0;
    ::waitpid(pid, &st, 0);
    ASSERT_TRUE(WIFSIGNALED(st)) << "child exited early";
    std::string out;
    int rc = run("qemu-img check -f qcow2 " + s.ov.string(), &out);
    EXPECT_TRUE(rc == 0 || rc == 3) << "round " << round << " rc " << rc << "\n" << out;
    EXPECT_EQ(out.find("ERROR"), std::string::npos) << out;
    auto q = s.open(false);
    auto got = read_all(*q);
    EXPECT_TRUE(
        std::equal(got.begin(), got.begin() + static_cast<std::ptrdiff_t>(half), s.model.begin()))
        << "round " << round << ": flushed first half changed";
  }
}

}  // namespace
}  // namespace diskless::storage
