// Corrupt and hostile qcow2 images, crafted byte by byte: refused at open with a message naming
// the image and the problem, or failing the I/O that meets them; never a crash, never a write
// into metadata.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

#include "storage/qcow2.hpp"
#include "storage/qcow2_format.hpp"
#include "storage/qcow2_inspect.hpp"

namespace diskless::storage {
namespace {

// Options filled by field (designated initializers would leave the other members to
// -Wmissing-field-initializers).
qcow2_create_options sized(std::uint64_t size) {
  qcow2_create_options o;
  o.size = size;
  return o;
}
qcow2_open_options opening(bool writable, bool no_backing,
                           std::uint64_t l2_cache_bytes = qcow2_open_options{}.l2_cache_bytes) {
  qcow2_open_options o;
  o.writable = writable;
  o.no_backing = no_backing;
  o.l2_cache_bytes = l2_cache_bytes;
  return o;
}

namespace fs = std::filesystem;
using namespace qcow2;

constexpr std::uint64_t cs = 1 << 16;

struct hostile : ::testing::Test {
  fs::path dir;
  fs::path img;
  std::uint64_t l1_off = 0, rt_off = 0, l2_off = 0, data_off = 0, rcb_off = 0;

  // A 1 GiB image (two L1 entries) with guest cluster 0 allocated: header, refcount table,
  // refcount block, L1 table, then the L2 table and the data cluster.
  void SetUp() override {
    std::string t = (fs::temp_directory_path() / "dl-qcow2h-XXXXXX").string();
    dir = ::mkdtemp(t.data());
    img = dir / "ov.qcow2";
    ASSERT_TRUE(create_qcow2(img, sized(1ull << 30)).ok());
    {
      auto q = open_qcow2(img, opening(true, false));
      ASSERT_TRUE(q.ok()) << q.error_message();
      bytes b(4096, std::byte{0x5a});
      ASSERT_FALSE((*q)->write(0, b));
    }
    auto h = header_of();
    l1_off = h.l1_table_offset;
    rt_off = h.refcount_table_offset;
    rcb_off = peek(rt_off);
    l2_off = peek(l1_off) & entry_offset_mask;
    data_off = peek(l2_off) & entry_offset_mask;
    ASSERT_NE(l2_off, 0u);
    ASSERT_NE(data_off, 0u);
  }
  void TearDown() override { fs::remove_all(dir); }

  header header_of() {
    bytes b(cs);
    int fd = ::open(img.c_str(), O_RDONLY);
    EXPECT_EQ(::pread(fd, b.data(), b.size(), 0), static_cast<ssize_t>(cs));
    ::close(fd);
    return *parse_header(b);
  }
  std::uint64_t peek(std::uint64_t off) {
    bytes b(8);
    int fd = ::open(img.c_str(), O_RDONLY);
    EXPECT_EQ(::pread(fd, b.data(), 8, static_cast<off_t>(off)), 8);
    ::close(fd);
    return load_u64(b, 0);
  }
  void poke(std::uint64_t off, std::uint64_t v, std::size_t width = 8) {
    bytes b(8);
    store_u64(b, 0, v);
    int fd = ::open(img.c_str(), O_WRONLY);
    ASSERT_EQ(::pwrite(fd, b.data() + (8 - width), width, static_cast<off_t>(off)),
              static_cast<ssize_t>(width));
    ::close(fd);
  }
  // open() must refuse the image with a message naming it and containing `what`.
  void expect_refused(const std::string& what) {
    for (bool w : {false, true}) {
      auto q = open_qcow2(img, opening(w, true));
      ASSERT_FALSE(q.ok()) << "opened with " << what;
      EXPECT_NE(q.error_message().find(img.string()), std::string::npos) << q.error_message();
      EXPECT_NE(q.error_message().find(what), std::string::npos) << q.error_message();
    }
    auto p = inspect_image(img);
    ASSERT_FALSE(p.empty());
    EXPECT_TRUE(p.front().error);
    EXPECT_NE(p.front().message.find(what), std::string::npos) << p.front().message;
  }
  // Opened with no L2 table loaded eagerly: the corrupt entry is met on use.
  std::shared_ptr<qcow2_image> open_lazy() {
    auto q = open_qcow2(img, opening(true, true, 0));
    EXPECT_TRUE(q.ok()) << q.error_message();
    return q.ok() ? *q : nullptr;
  }
};

TEST_F(hostile, SoundImageOpensAndInspectsClean) {
  auto q = open_qcow2(img, opening(true, true));
  ASSERT_TRUE(q.ok()) << q.error_message();
  EXPECT_TRUE(inspect_image(img).empty());
}

// The crash of the issue: a data cluster beyond what the refcount table describes, discarded
// (UNMAP) and flushed (SYNCHRONIZE CACHE) indexed the refcount table out of bounds.
TEST_F(hostile, DataClusterBeyondRefcountCoverage) {
  poke(l2_off, (1ull << 50) | entry_copied);
  expect_refused("beyond what the refcount table covers");
  auto q = open_lazy();
  ASSERT_TRUE(q);
  EXPECT_TRUE(q->discard(0, cs));
  EXPECT_FALSE(q->flush());
  bytes b(512);
  EXPECT_TRUE(q->read(0, b));
}

TEST_F(hostile, DataClusterInMetadataIsNeverWritten) {
  using target_name = std::pair<std::uint64_t, const char*>;
  for (auto [target, name] :
       {target_name{rt_off, "refcount table"}, target_name{l1_off, "L1 table"},
        target_name{rcb_off, "refcount block"}, target_name{l2_off, "L2 table"}}) {
    SCOPED_TRACE(name);
    poke(l2_off, target | entry_copied);
    expect_refused(name);
    auto before = peek(target);
    {
      auto q = open_lazy();
      ASSERT_TRUE(q);
      bytes b(512, std::byte{0xee});
      EXPECT_TRUE(q->write(0, b));  // would land in metadata: an I/O error instead
      EXPECT_TRUE(q->read(0, b));
      EXPECT_TRUE(q->discard(0, cs));
    }
    EXPECT_EQ(peek(target), before);
  }
}

TEST_F(hostile, MisalignedAndReservedBitsInL2) {
  poke(l2_off, (data_off + 512) | entry_copied);
  expect_refused("not cluster-aligned");
  poke(l2_off, data_off | entry_copied | 0x100);
  expect_refused("reserved bits");
}

TEST_F(hostile, CompressedClusterReported) {
  poke(l2_off, entry_compressed | data_off);
  expect_refused("compressed");
  auto q = open_lazy();
  ASSERT_TRUE(q);
  bytes b(512);
  EXPECT_TRUE(q->read(0, b));
  EXPECT_TRUE(q->write(0, b));
}

TEST_F(hostile, L2TableInMetadataOrShared) {
  poke(l1_off, cs | entry_copied);  // cluster 1: the refcount table
  expect_refused("refcount table");
  poke(l1_off, 0 | entry_copied);
  poke(l1_off, l1_off | entry_copied);
  expect_refused("L1 table");
  poke(l1_off, rcb_off | entry_copied);
  expect_refused("refcount block");
  poke(l1_off, l2_off | entry_copied);
  poke(l1_off + 8, l2_off | entry_copied);  // both L1 entries share one L2 table
  expect_refused("shared");
  poke(l1_off + 8, 0);
  poke(l1_off, (l2_off + 4096) | entry_copied);
  expect_refused("not cluster-aligned");
  poke(l1_off, (1ull << 50) | entry_copied);
  expect_refused("beyond what the refcount table covers");
  poke(l1_off, (64 * cs) | entry_copied);
  expect_refused("beyond the end of the file");
}

TEST_F(hostile, RefcountTableEntriesChecked) {
  poke(rt_off, l1_off);  // the L1 table as refcount block: allocation would count into it
  expect_refused("L1 table");
  poke(rt_off, rcb_off + 512);
  expect_refused("not cluster-aligned");
  poke(rt_off, rcb_off);
  poke(rt_off + 8, rcb_off);
  expect_refused("shared");
  poke(rt_off + 8, 0);
  poke(rt_off, l2_off);
  expect_refused("L2 table");
}

// Refcounts claiming the header and tables are free: allocation must not hand them out.
TEST_F(hostile, ZeroRefcountsOnMetadataAreNotAllocated) {
  poke(rcb_off, 0);  // clusters 0-3: header, refcount table, refcount block, L1 table
  {
    auto q = open_qcow2(img, opening(true, true));
    ASSERT_TRUE(q.ok()) << q.error_message();
    bytes b(cs, std::byte{0x77});
    for (std::uint64_t i = 1; i < 8; ++i) ASSERT_FALSE((*q)->write(i * cs, b));
    ASSERT_FALSE((*q)->flush());
  }
  auto q = open_qcow2(img, opening(false, true));
  ASSERT_TRUE(q.ok()) << q.error_message();
  bytes b(cs);
  ASSERT_FALSE((*q)->read(3 * cs, b));
  EXPECT_EQ(b, bytes(cs, std::byte{0x77}));
}

TEST_F(hostile, HeaderTablesOverlapping) {
  poke(40, 0);  // L1 table in the header cluster
  expect_refused("header");
  poke(40, l1_off);
  poke(48, l1_off);  // refcount table on the L1 table
  expect_refused("overlap");
  poke(48, rt_off);
  poke(36, 0x10000000, 4);  // L1 size of 256 Mi entries
  expect_refused("L1 table");
}

TEST_F(hostile, RefcountOrdersReadOnly) {
  for (std::uint32_t order = 0; order <= 7; ++order) {
    poke(96, order, 4);
    auto q = open_qcow2(img, opening(false, true));
    if (order > 6) {
      EXPECT_FALSE(q.ok());
      continue;
    }
    if (!q.ok()) continue;  // refcount blocks then cover other clusters: may be refused
    bytes b(4096);
    (void)(*q)->read(0, b);
  }
}

TEST_F(hostile, BackingNameOffsetsAndSizeOverflow) {
  poke(8, ~0ull - 4);  // offset + size wraps around
  poke(16, 10, 4);
  expect_refused("backing file name");
  poke(8, 8);  // inside the header: a name made of header bytes, harmless
  auto q = open_qcow2(img, opening(false, true));
  EXPECT_TRUE(q.ok()) << q.error_message();
  poke(8, 0);
  poke(16, 0, 4);
  poke(24, ~0ull);  // virtual size 16 EiB - 1: the L1 size check must not wrap
  expect_refused("L1 table");
}

TEST(Qcow2Inspect, RawSizeNotWholeBlocks) {
  std::string t = (fs::temp_directory_path() / "dl-qcow2i-XXXXXX").string();
  fs::path dir = ::mkdtemp(t.data());
  auto raw = dir / "odd.img";
  {
    int fd = ::open(raw.c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_EQ(::ftruncate(fd, 1000), 0);
    ::close(fd);
  }
  auto p = inspect_image(raw);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].message.find("512"), std::string::npos) << p[0].message;
  fs::resize_file(raw, 1024);
  EXPECT_TRUE(inspect_image(raw).empty());
  auto missing = inspect_image(dir / "nope.img");
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_TRUE(missing[0].error);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace diskless::storage
