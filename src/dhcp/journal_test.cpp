#include "dhcp/journal.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include "util/file.hpp"

namespace diskless::dhcp {
namespace {

class Journal : public testing::Test {
 protected:
  Journal() {
    dir_ = std::filesystem::temp_directory_path() /
           ("diskless-journal-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  ~Journal() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(Journal, AppendsThenCompactionReplaces) {
  const auto path = dir_ / "dhcp-leases.journal";
  ASSERT_TRUE(write_journal(path, "B a\n", false));
  ASSERT_TRUE(write_journal(path, "F a\n", false));
  EXPECT_EQ(*read_file(path), "B a\nF a\n");
  ASSERT_TRUE(write_journal(path, "B b\n", true));
  EXPECT_EQ(*read_file(path), "B b\n");
}

TEST_F(Journal, UnwritablePathIsAnErrorNamingIt) {
  auto r = write_journal(dir_ / "missing" / "j", "B a\n", false);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error_message().find("missing/j"), std::string::npos);
}

}  // namespace
}  // namespace diskless::dhcp
