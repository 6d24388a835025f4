#include "util/notify.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

namespace diskless {
namespace {

// A datagram socket standing in for systemd's notification socket.
class notify_test : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("diskless-notify-" + std::to_string(::getpid()) + ".sock");
    std::filesystem::remove(path_);
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd_, 0);
    // The union gives bind() its sockaddr view of the sockaddr_un without a cast.
    union {
      sockaddr any;
      sockaddr_un un;
    } sa{};
    sa.un.sun_family = AF_UNIX;
    std::strncpy(sa.un.sun_path, path_.c_str(), sizeof sa.un.sun_path - 1);
    ASSERT_EQ(::bind(fd_, &sa.any, sizeof sa.un), 0);
    ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("NOTIFY_SOCKET");
    if (fd_ >= 0) ::close(fd_);
    std::filesystem::remove(path_);
  }
  std::string next() {
    char buf[512];
    auto n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }
  std::filesystem::path path_;
  int fd_ = -1;
};

TEST_F(notify_test, sends_ready_reloading_and_stopping) {
  notify::reloading();
  EXPECT_TRUE(next().starts_with("RELOADING=1\nMONOTONIC_USEC="));
  notify::ready();
  EXPECT_EQ(next(), "READY=1");
  notify::stopping();
  EXPECT_EQ(next(), "STOPPING=1");
}

TEST_F(notify_test, status_stays_on_one_line) {
  notify::status("serving 3 host(s)\nREADY=1");
  EXPECT_EQ(next(), "STATUS=serving 3 host(s) READY=1");
  EXPECT_EQ(next(), "");  // nothing else was sent
}

TEST(notify, without_a_manager_is_a_no_op) {
  ::unsetenv("NOTIFY_SOCKET");
  notify::ready();
  notify::status("x");
  SUCCEED();
}

}  // namespace
}  // namespace diskless
