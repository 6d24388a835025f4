// open_image / detect_format: one opener for raw files, qcow2 images and their backing chains;
// the read-only view in front of a device.
#include "storage/image.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "storage/forwarding_device.hpp"
#include "storage/memory_device.hpp"
#include "storage/qcow2.hpp"
#include "util/file.hpp"

namespace diskless::storage {
namespace {

namespace fs = std::filesystem;

class Image : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = (fs::temp_directory_path() / "dl-image-XXXXXX").string();
    ASSERT_NE(::mkdtemp(t.data()), nullptr);
    dir_ = t;
    ASSERT_TRUE(write_file_atomic(dir_ / "gold.img", std::string(1 << 20, 'g')).ok());
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(Image, DetectFormatByMagic) {
  EXPECT_EQ(*detect_format(dir_ / "gold.img"), image_format::raw);
  ASSERT_TRUE(create_qcow2(dir_ / "x.qcow2", {1 << 20, "", "", 16}).ok());
  EXPECT_EQ(*detect_format(dir_ / "x.qcow2"), image_format::qcow2);
  EXPECT_FALSE(detect_format(dir_ / "missing").ok());
  EXPECT_EQ(format_name(image_format::qcow2), "qcow2");
  EXPECT_EQ(format_name(image_format::raw), "raw");
}

TEST_F(Image, OpensQcow2ReadOnlyOverItsBackingFile) {
  ASSERT_TRUE(create_qcow2(dir_ / "x.qcow2", {0, "gold.img", "", 16}).ok());
  auto q = open_image(dir_ / "x.qcow2", false);
  ASSERT_TRUE(q.ok()) << q.error_message();
  EXPECT_TRUE((*q)->read_only());
  EXPECT_EQ((*q)->size(), 1u << 20);
  std::string got(4, '\0');
  ASSERT_FALSE((*q)->read(4096, std::as_writable_bytes(std::span(got))));
  EXPECT_EQ(got, "gggg");  // unallocated: read from the backing file
  auto w = open_image(dir_ / "x.qcow2", true);
  ASSERT_TRUE(w.ok()) << w.error_message();
  EXPECT_FALSE((*w)->read_only());
}

TEST_F(Image, ExplicitFormatIsObeyedAndUnknownOnesRefused) {
  ASSERT_TRUE(create_qcow2(dir_ / "x.qcow2", {1 << 20, "", "", 16}).ok());
  auto as_raw = open_image(dir_ / "x.qcow2", {.format = "raw"});
  ASSERT_TRUE(as_raw.ok());
  EXPECT_EQ((*as_raw)->size(), fs::file_size(dir_ / "x.qcow2"));  // the file, not the disk
  auto vmdk = open_image(dir_ / "gold.img", {.format = "vmdk"});
  ASSERT_FALSE(vmdk.ok());
  EXPECT_NE(vmdk.error_message().find("backing format 'vmdk' is not supported"), std::string::npos);
}

TEST_F(Image, BackingChainDepthIsBounded) {
  ASSERT_TRUE(create_qcow2(dir_ / "a.qcow2", {0, "gold.img", "", 16}).ok());
  ASSERT_TRUE(create_qcow2(dir_ / "b.qcow2", {0, "a.qcow2", "", 16}).ok());
  EXPECT_TRUE(open_image(dir_ / "b.qcow2", {.chain_depth = 15}).ok());
  auto deep = open_image(dir_ / "b.qcow2", {.chain_depth = 16});  // a.qcow2 would be the 18th
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.error_message().find("deeper than 16"), std::string::npos);
}

TEST(ReadOnlyView, ForwardsReadsAndRefusesWrites) {
  auto mem = std::make_shared<memory_device>(4096);
  std::string data = "abcd";
  ASSERT_FALSE(mem->write(0, std::as_bytes(std::span(data)), false));
  auto view = make_read_only_view(mem);
  EXPECT_TRUE(view->read_only());
  EXPECT_EQ(view->size(), 4096u);
  std::string got(4, '\0');
  ASSERT_FALSE(view->read(0, std::as_writable_bytes(std::span(got))));
  EXPECT_EQ(got, "abcd");
  EXPECT_EQ(view->write(0, std::as_bytes(std::span(data)), false),
            std::make_error_code(std::errc::read_only_file_system));
  EXPECT_EQ(view->discard(0, 512), std::make_error_code(std::errc::read_only_file_system));
  EXPECT_FALSE(view->flush());
}

}  // namespace
}  // namespace diskless::storage
