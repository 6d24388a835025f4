#include "app/preflight.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace diskless::app {
namespace {

class preflight_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("diskless-preflight-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(preflight_test, missing_inventory_names_path_reason_and_remedy) {
  auto e = inventory_unreadable(dir_ / "nope.xml");
  ASSERT_TRUE(e);
  EXPECT_NE(e->find((dir_ / "nope.xml").string()), std::string::npos) << *e;
  EXPECT_NE(e->find("No such file or directory"), std::string::npos) << *e;
  EXPECT_NE(e->find("-c FILE"), std::string::npos) << *e;
  EXPECT_EQ(e->find('\n'), std::string::npos) << "one line: " << *e;
}

TEST_F(preflight_test, directory_as_inventory_is_refused) {
  auto e = inventory_unreadable(dir_);
  ASSERT_TRUE(e);
  EXPECT_NE(e->find("is a directory"), std::string::npos) << *e;
}

TEST_F(preflight_test, readable_inventory_passes) {
  std::ofstream(dir_ / "i.xml") << "<diskless/>";
  EXPECT_FALSE(inventory_unreadable(dir_ / "i.xml"));
}

TEST_F(preflight_test, state_dir_is_created) {
  EXPECT_FALSE(state_dir_problem(dir_ / "a" / "b"));
  EXPECT_TRUE(std::filesystem::is_directory(dir_ / "a" / "b"));
}

TEST_F(preflight_test, state_dir_problem_names_dir_and_user) {
  std::ofstream(dir_ / "file") << "x";  // a file where a directory should be (even root fails)
  auto e = state_dir_problem(dir_ / "file" / "state");
  ASSERT_TRUE(e);
  EXPECT_NE(e->find((dir_ / "file" / "state").string()), std::string::npos) << *e;
  EXPECT_NE(e->find(effective_user()), std::string::npos) << *e;
  EXPECT_NE(e->find("--state-dir"), std::string::npos) << *e;
}

}  // namespace
}  // namespace diskless::app
