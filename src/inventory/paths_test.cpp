// Relative paths inside an inventory resolve against the inventory file's directory.
#include "inventory/paths.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "inventory/load.hpp"

namespace diskless::inventory {
namespace {

class inventory_paths : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ =
        std::filesystem::temp_directory_path() / ("diskless-paths-" + std::to_string(::getpid()));
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_ / "etc");
    std::filesystem::create_directories(root_ / "elsewhere");
    std::ofstream(root_ / "etc" / "disk.img") << "x";
    std::ofstream(root_ / "etc" / "diskless.xml")
        << "<diskless version=\"1\"><server address=\"10.0.0.1\"/>"
           "<images><image name=\"d\" disk=\"disk.img\"/></images>"
           "<hosts><host mac=\"52:54:00:00:00:01\" name=\"a\" image=\"d\"/></hosts></diskless>";
    old_cwd_ = std::filesystem::current_path();
    std::filesystem::current_path(root_ / "elsewhere");
  }
  void TearDown() override {
    std::filesystem::current_path(old_cwd_);
    std::filesystem::remove_all(root_);
  }
  std::filesystem::path root_, old_cwd_;
};

TEST_F(inventory_paths, relative_paths_resolve_against_the_files_directory) {
  auto r = load_file("../etc/diskless.xml");
  ASSERT_TRUE(r.ok()) << (r.problems.empty() ? "" : r.problems.front().str());
  EXPECT_TRUE(r.problems.empty()) << r.problems.front().str();  // disk.img was found
  EXPECT_EQ(r.inv->resolve("disk.img"), root_ / "etc" / "disk.img");
  EXPECT_EQ(r.inv->server.state_dir, "/var/lib/diskless");  // the default
}

TEST_F(inventory_paths, base_dir_of_is_absolute) {
  EXPECT_EQ(base_dir_of("x.xml"), root_ / "elsewhere");
  EXPECT_EQ(base_dir_of("/etc/diskless/diskless.xml"), "/etc/diskless");
}

TEST_F(inventory_paths, default_path_prefers_a_source_tree) {
  EXPECT_EQ(default_path(), "/etc/diskless/diskless.xml");  // cwd has no config/
  std::filesystem::create_directories("config");
  std::ofstream("config/diskless.xml") << "<diskless/>";
  EXPECT_EQ(default_path(), "config/diskless.xml");
}

TEST_F(inventory_paths, load_text_keeps_the_current_directory) {
  auto r = load_text("<diskless version=\"1\"/>", "t.xml");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.inv->base_dir, root_ / "elsewhere");
}

}  // namespace
}  // namespace diskless::inventory
