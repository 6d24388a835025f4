// qcow2 overlays against an in-memory model, byte for byte; header codec error paths.
#include "storage/qcow2.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <random>
#include <thread>

#include "storage/qcow2_format.hpp"
#include "storage/raw_file.hpp"
#include "util/file.hpp"

namespace diskless::storage {
namespace {

namespace fs = std::filesystem;

struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string t = (fs::temp_directory_path() / "dl-qcow2-XXXXXX").string();
    path = ::mkdtemp(t.data());
  }
  ~temp_dir() { fs::remove_all(path); }
};

bytes random_bytes(std::mt19937_64& rng, std::size_t n) {
  bytes b(n);
  for (auto& x : b) x = static_cast<std::byte>(rng());
  return b;
}

void write_file(const fs::path& p, const bytes& b) {
  ASSERT_TRUE(write_file_atomic(p, to_string(b)).ok());
}

// ---- header codec ----

TEST(Qcow2Format, RoundTripsHeaderWithBackingFormat) {
  qcow2::header h;
  h.size = 10 << 20;
  h.l1_size = 1;
  h.l1_table_offset = 3 << 16;
  h.refcount_table_offset = 1 << 16;
  h.refcount_table_clusters = 1;
  h.backing_file = "/images/base.img";
  h.backing_format = "raw";
  auto b = qcow2::serialize_header(h);
  ASSERT_TRUE(b.ok()) << b.error_message();
  auto p = qcow2::parse_header(*b);
  ASSERT_TRUE(p.ok()) << p.error_message();
  EXPECT_EQ(p->version, 3u);
  EXPECT_EQ(p->size, h.size);
  EXPECT_EQ(p->backing_file, "/images/base.img");
  EXPECT_EQ(p->backing_format, "raw");
  EXPECT_EQ(p->header_length, 112u);
  EXPECT_EQ(qcow2::check_supported(*p, true), "");
}

TEST(Qcow2Format, RejectsMalformedHeaders) {
  EXPECT_FALSE(qcow2::parse_header(from_hex("51 46 49")).ok());                 // truncated
  EXPECT_FALSE(qcow2::parse_header(from_hex("00 00 00 00 00 00 00 03")).ok());  // magic
  qcow2::header h;
  h.size = 1 << 20;
  h.l1_size = 1;
  h.l1_table_offset = 3 << 16;
  h.refcount_table_offset = 1 << 16;
  h.refcount_table_clusters = 1;
  auto good = *qcow2::serialize_header(h);
  auto bad = good;
  store_u32(bad, 4, 4);  // version 4
  EXPECT_NE(qcow2::parse_header(bad).error_message().find("version"), std::string::npos);
  bad = good;
  store_u32(bad, 20, 30);  // cluster_bits
  EXPECT_FALSE(qcow2::parse_header(bad).ok());
  bad = good;
  store_u64(bad, 40, 12345);  // unaligned L1
  EXPECT_FALSE(qcow2::parse_header(bad).ok());
  bad = good;
  store_u32(bad, 36, 0);  // L1 too small for the size
  EXPECT_FALSE(qcow2::parse_header(bad).ok());
  bad = good;
  store_u64(bad, 8, 100000);  // backing name beyond the buffer
  store_u32(bad, 16, 10);
  EXPECT_FALSE(qcow2::parse_header(bad).ok());
  bad = good;
  store_u32(bad, 100, 50);  // header_length < 104
  EXPECT_FALSE(qcow2::parse_header(bad).ok());
}

TEST(Qcow2Format, RefusesUnsupportedFeaturesWithAMessage) {
  qcow2::header h;
  h.crypt_method = 1;
  EXPECT_NE(qcow2::check_supported(h, false).find("encrypted"), std::string::npos);
  h.crypt_method = 0;
  h.incompatible_features = 1ull << 40;
  EXPECT_NE(qcow2::check_supported(h, false).find("unknown incompatible"), std::string::npos);
  h.incompatible_features = qcow2::incompat_extended_l2;
  EXPECT_NE(qcow2::check_supported(h, false).find("subclusters"), std::string::npos);
  h.incompatible_features = qcow2::incompat_dirty;
  EXPECT_NE(qcow2::check_supported(h, false).find("dirty"), std::string::npos);
  h.incompatible_features = 0;
  h.refcount_order = 3;
  EXPECT_EQ(qcow2::check_supported(h, false), "");
  EXPECT_NE(qcow2::check_supported(h, true).find("refcounts"), std::string::npos);
}

TEST(Qcow2Format, RefcountPackingAllOrders) {
  for (std::uint32_t order = 0; order <= 6; ++order) {
    bytes block(64);
    std::uint64_t max = order == 6 ? ~0ull : (1ull << (1u << order)) - 1;
    std::uint64_t n = 64 * 8 / (1u << order);
    for (std::uint64_t i = 0; i < n; ++i) qcow2::refcount_set(block, order, i, (i * 7) & max);
    for (std::uint64_t i = 0; i < n; ++i)
      ASSERT_EQ(qcow2::refcount_get(block, order, i), (i * 7) & max) << order << " " << i;
    EXPECT_EQ(qcow2::refcount_get(block, order, n), 0u);  // out of range
  }
  bytes b(2);
  qcow2::refcount_set(b, 4, 0, 0x0102);
  EXPECT_EQ(b, from_hex("01 02"));  // big-endian
}

TEST(Qcow2Format, ClassifiesL2Entries) {
  EXPECT_EQ(qcow2::classify_l2(0), qcow2::mapping::unallocated);
  EXPECT_EQ(qcow2::classify_l2(1), qcow2::mapping::zero);
  EXPECT_EQ(qcow2::classify_l2(0x30000 | qcow2::entry_copied), qcow2::mapping::data);
  EXPECT_EQ(qcow2::classify_l2(qcow2::entry_compressed | 5), qcow2::mapping::compressed);
}

// ---- the device against a model ----

struct fixture {
  temp_dir dir;
  fs::path base = dir.path / "base.img";
  fs::path overlay = dir.path / "overlay.qcow2";
  bytes model;

  // A backing image of base_size random bytes; an overlay of disk_size over it.
  fixture(std::mt19937_64& rng, std::uint64_t base_size, std::uint64_t disk_size,
          std::uint32_t cluster_bits) {
    auto b = random_bytes(rng, base_size);
    write_file(base, b);
    model.assign(disk_size, std::byte{0});
    std::copy(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(std::min(base_size, disk_size)),
              model.begin());
    qcow2_create_options o;
    o.size = disk_size;
    o.backing_file = base.string();
    o.cluster_bits = cluster_bits;
    auto r = create_qcow2(overlay, o);
    EXPECT_TRUE(r.ok()) << r.error_message();
  }

  std::shared_ptr<qcow2_image> open(bool writable = true) {
    qcow2_open_options o;
    o.writable = writable;
    auto q = open_qcow2(overlay, o);
    EXPECT_TRUE(q.ok()) << q.error_message();
    return q.ok() ? *q : nullptr;
  }

  void expect_matches(qcow2_image& q) {
    bytes got(model.size());
    ASSERT_FALSE(q.read(0, got));
    ASSERT_TRUE(got == model) << "first difference at "
                              << (std::mismatch(got.begin(), got.end(), model.begin()).first -
                                  got.begin());
  }
};

// Offsets biased towards cluster boundaries.
std::uint64_t pick_offset(std::mt19937_64& rng, std::uint64_t size, std::uint64_t cs) {
  switch (rng() % 4) {
    case 0: {
      std::uint64_t c = rng() % (size / cs + 1) * cs;
      std::int64_t d = static_cast<std::int64_t>(rng() % 1024) - 512;
      std::int64_t v = static_cast<std::int64_t>(c) + d;
      return static_cast<std::uint64_t>(
          std::clamp<std::int64_t>(v, 0, static_cast<std::int64_t>(size - 1)));
    }
    case 1:
      return rng() % (size / 512) * 512;
    default:
      return rng() % size;
  }
}

void run_random(std::uint32_t cluster_bits, std::uint64_t base_size, std::uint64_t disk_size,
                int ops, unsigned seed) {
  std::mt19937_64 rng(seed);
  fixture f(rng, base_size, disk_size, cluster_bits);
  const std::uint64_t cs = 1ull << cluster_bits;
  auto q = f.open();
  ASSERT_TRUE(q);
  f.expect_matches(*q);
  for (int i = 0; i < ops; ++i) {
    std::uint64_t off = pick_offset(rng, disk_size, cs);
    std::uint64_t maxlen = std::min<std::uint64_t>(disk_size - off, 3 * cs + 100);
    std::uint64_t len = 1 + rng() % maxlen;
    switch (rng() % 10) {
      case 0:
      case 1:
      case 2:
      case 3:
      case 4: {
        auto data = random_bytes(rng, len);
        ASSERT_FALSE(q->write(off, data, rng() % 8 == 0)) << i;
        std::copy(data.begin(), data.end(), f.model.begin() + static_cast<std::ptrdiff_t>(off));
        break;
      }
      case 5:
      case 6: {
        ASSERT_FALSE(q->discard(off, len)) << i;
        std::fill_n(f.model.begin() + static_cast<std::ptrdiff_t>(off), len, std::byte{0});
        break;
      }
      case 7: {
        bytes got(len);
        ASSERT_FALSE(q->read(off, got)) << i;
        ASSERT_TRUE(
            std::equal(got.begin(), got.end(), f.model.begin() + static_cast<std::ptrdiff_t>(off)))
            << "op " << i << " read at " << off << " len " << len;
        // The non-blocking path either declines or returns the same bytes.
        bytes fast(len);
        if (q->try_read_cached(off, fast)) {
          ASSERT_TRUE(std::equal(fast.begin(), fast.end(),
                                 f.model.begin() + static_cast<std::ptrdiff_t>(off)))
              << "op " << i << " cached read at " << off << " len " << len;
        }
        // A file run, when there is one, holds the same bytes.
        if (auto fe = q->file_for(off, len); fe.fd >= 0) {
          bytes run(len);
          ASSERT_EQ(::pread(fe.fd, run.data(), len, static_cast<off_t>(fe.offset)),
                    static_cast<ssize_t>(len));
          ASSERT_TRUE(std::equal(run.begin(), run.end(),
                                 f.model.begin() + static_cast<std::ptrdiff_t>(off)))
              << "op " << i << " file run at " << off << " len " << len;
        }
        break;
      }
      case 8:
        ASSERT_FALSE(q->flush());
        break;
      case 9:
        if (rng() % 4 == 0) {  // close (writes metadata back) and reopen
          q.reset();
          q = f.open();
          ASSERT_TRUE(q);
        }
        break;
    }
  }
  f.expect_matches(*q);
  q.reset();
  auto r = f.open(false);
  ASSERT_TRUE(r);
  f.expect_matches(*r);
}

TEST(Qcow2Image, RandomWorkload64k) {
  run_random(16, 3 << 20, 4 << 20, 600, 1);
}
// 512-byte clusters: many L2 tables and many refcount blocks (256 clusters each).
TEST(Qcow2Image, RandomWorkloadTinyClusters) {
  run_random(9, 200000, 300032, 1500, 2);
}
// Backing image shorter than the overlay, sizes not multiples of the cluster size.
TEST(Qcow2Image, BackingShorterThanOverlay) {
  run_random(12, 10000 + 77, 100352, 800, 3);
}
TEST(Qcow2Image, NoBackingFile) {
  temp_dir d;
  auto p = d.path / "a.qcow2";
  qcow2_create_options o;
  o.size = 1 << 20;
  ASSERT_TRUE(create_qcow2(p, o).ok());
  auto q = open_qcow2(p, {true, nullptr, false});
  ASSERT_TRUE(q.ok()) << q.error_message();
  bytes z(1 << 20), got(1 << 20);
  ASSERT_FALSE((*q)->read(0, got));
  EXPECT_EQ(got, z);
  bytes one = to_bytes("hello");
  ASSERT_FALSE((*q)->write(65534, one));
  ASSERT_FALSE((*q)->read(65534, std::span(got).first(5)));
  EXPECT_EQ(to_string(std::span(got).first(5)), "hello");
}

// Zero-copy runs (file_for): written data as one run of this file, unwritten data as the raw
// backing file's run, and nothing for zero clusters, mixed ranges or ranges past the backing.
TEST(Qcow2Image, FileRuns) {
  std::mt19937_64 rng(7);
  fixture f(rng, 1 << 20, 4 << 20, 12);
  auto q = f.open();
  ASSERT_TRUE(q);
  auto data = random_bytes(rng, 256 << 10);
  ASSERT_FALSE(q->write(1 << 20, data));  // clusters allocated in order: one run
  std::copy(data.begin(), data.end(), f.model.begin() + (1 << 20));
  auto check = [&](std::uint64_t off, std::uint64_t len) {
    auto fe = q->file_for(off, len);
    if (fe.fd < 0) return false;
    bytes run(len);
    EXPECT_EQ(::pread(fe.fd, run.data(), len, static_cast<off_t>(fe.offset)),
              static_cast<ssize_t>(len));
    EXPECT_TRUE(
        std::equal(run.begin(), run.end(), f.model.begin() + static_cast<std::ptrdiff_t>(off)));
    return true;
  };
  EXPECT_TRUE(check(1 << 20, 256 << 10));       // written: the overlay's own run
  EXPECT_TRUE(check(4096, 64 << 10));           // unwritten, within the base: the base's run
  EXPECT_FALSE(check((1 << 20) - 4096, 8192));  // half base, half overlay
  EXPECT_FALSE(check(2 << 20, 4096));           // past the base's end: reads as zeros
  ASSERT_FALSE(q->discard(1 << 20, 8192));      // zero clusters
  std::fill_n(f.model.begin() + (1 << 20), 8192, std::byte{0});
  EXPECT_FALSE(check(1 << 20, 8192));
  EXPECT_TRUE(check((1 << 20) + 8192, 64 << 10));
}

TEST(Qcow2Image, PartialClusterCopiesFromBacking) {
  std::mt19937_64 rng(5);
  fixture f(rng, 1 << 20, 1 << 20, 16);
  auto q = f.open();
  bytes one{std::byte{0xab}};
  ASSERT_FALSE(q->write(65536 + 100, one));  // one byte in cluster 1
  f.model[65536 + 100] = std::byte{0xab};
  f.expect_matches(*q);
  EXPECT_EQ(q->usage().allocated_clusters, 1u);
  // A write spanning a cluster boundary allocates both clusters.
  bytes two(10, std::byte{0xcd});
  ASSERT_FALSE(q->write(3 * 65536 - 5, two));
  std::fill_n(f.model.begin() + 3 * 65536 - 5, 10, std::byte{0xcd});
  f.expect_matches(*q);
  EXPECT_EQ(q->usage().allocated_clusters, 3u);
  // Whole-cluster discard: zero cluster, data released; partial: zeros written.
  ASSERT_FALSE(q->discard(65536, 65536));
  ASSERT_FALSE(q->discard(5 * 65536 + 10, 20));
  std::fill_n(f.model.begin() + 65536, 65536, std::byte{0});
  std::fill_n(f.model.begin() + 5 * 65536 + 10, 20, std::byte{0});
  f.expect_matches(*q);
  auto u = q->usage();
  EXPECT_EQ(u.zero_clusters, 1u);
  EXPECT_EQ(u.allocated_clusters, 3u);
}

TEST(Qcow2Image, RangeAndReadOnlyErrors) {
  std::mt19937_64 rng(6);
  fixture f(rng, 4096, 8192, 12);
  auto q = f.open();
  bytes b(2);
  EXPECT_EQ(q->read(8191, b), std::make_error_code(std::errc::invalid_argument));
  EXPECT_EQ(q->write(8191, b), std::make_error_code(std::errc::invalid_argument));
  EXPECT_EQ(q->discard(8000, 1000), std::make_error_code(std::errc::invalid_argument));
  q.reset();
  auto r = f.open(false);
  EXPECT_TRUE(r->read_only());
  EXPECT_EQ(r->write(0, b), std::make_error_code(std::errc::read_only_file_system));
  EXPECT_EQ(r->discard(0, 4096), std::make_error_code(std::errc::read_only_file_system));
}

TEST(Qcow2Image, LockIsExclusive) {
  std::mt19937_64 rng(7);
  fixture f(rng, 4096, 8192, 12);
  qcow2_open_options o;
  o.writable = true;
  o.lock = true;
  auto a = open_qcow2(f.overlay, o);
  ASSERT_TRUE(a.ok());
  auto b = open_qcow2(f.overlay, o);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error_message().find("in use"), std::string::npos);
  a = error{"closed"};
  EXPECT_TRUE(open_qcow2(f.overlay, o).ok());
}

TEST(Qcow2Image, ConcurrentWritersOnDisjointRanges) {
  std::mt19937_64 rng(8);
  const std::uint64_t size = 8 << 20;
  fixture f(rng, size, size, 16);
  auto q = f.open();
  std::vector<std::thread> threads;
  std::vector<bytes> models(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 r(100 + t);
      // Thread t owns every 4th 4 KiB block: they share clusters but never bytes.
      for (int i = 0; i < 400; ++i) {
        std::uint64_t blk = (r() % (size / 4096 / 4)) * 4 + t;
        auto data = random_bytes(r, 4096);
        if (r() % 5 == 0) {
          EXPECT_FALSE(q->discard(blk * 4096, 4096));
        } else {
          EXPECT_FALSE(q->write(blk * 4096, data));
        }
        bytes got(4096);
        EXPECT_FALSE(q->read(blk * 4096, got));
        if (r() % 50 == 0) {
          EXPECT_FALSE(q->flush());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  // Replay each thread's sequence into the model (disjoint blocks: order between threads is
  // irrelevant).
  for (int t = 0; t < 4; ++t) {
    std::mt19937_64 r(100 + t);
    for (int i = 0; i < 400; ++i) {
      std::uint64_t blk = (r() % (size / 4096 / 4)) * 4 + t;
      auto data = random_bytes(r, 4096);
      bool discard = r() % 5 == 0;
      if (discard)
        std::fill_n(f.model.begin() + static_cast<std::ptrdiff_t>(blk * 4096), 4096, std::byte{0});
      else
        std::copy(data.begin(), data.end(),
                  f.model.begin() + static_cast<std::ptrdiff_t>(blk * 4096));
      (void)(r() % 50);
    }
  }
  f.expect_matches(*q);
  q.reset();
  f.expect_matches(*f.open(false));
}

}  // namespace
}  // namespace diskless::storage
