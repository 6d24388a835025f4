// The command line as parsed: help for every command, usage errors with suggestions, global
// options on either side of the command, exit codes.
#include "cli/cli.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace diskless::cli {
namespace {

struct parsed {
  std::optional<int> code;
  std::string out, err;
};

parsed parse(command_line& cl, const std::vector<std::string>& args) {
  std::ostringstream out, err;
  auto code = cl.parse(args, out, err);
  return {code, out.str(), err.str()};
}

parsed parse(const std::vector<std::string>& args) {
  command_line cl;
  return parse(cl, args);
}

TEST(Cli, EveryCommandAnswersHelpWithItsOwnUsage) {
  const std::vector<std::vector<std::string>> commands = {{},
                                                          {"serve"},
                                                          {"check"},
                                                          {"host"},
                                                          {"host", "list"},
                                                          {"host", "show"},
                                                          {"host", "add"},
                                                          {"host", "set"},
                                                          {"host", "remove"},
                                                          {"image"},
                                                          {"image", "list"},
                                                          {"image", "add"},
                                                          {"image", "remove"},
                                                          {"overlay"},
                                                          {"overlay", "list"},
                                                          {"overlay", "reset"},
                                                          {"overlay", "commit"}};
  for (const auto& words : commands) {
    for (const char* flag : {"--help", "-h"}) {
      auto args = words;
      args.push_back(flag);
      auto p = parse(args);
      std::string usage = "diskless";
      for (const auto& w : words) usage += " " + w;
      ASSERT_EQ(p.code, 0) << usage << " " << flag << ": " << p.err;
      EXPECT_NE(p.out.find("Usage: " + usage), std::string::npos) << p.out;
      EXPECT_EQ(p.err, "");
    }
  }
}

TEST(Cli, CheckHelpIsNotAFileName) {
  auto p = parse({"check", "--help"});
  EXPECT_EQ(p.code, 0);
  EXPECT_NE(p.out.find("FILE"), std::string::npos);
}

TEST(Cli, SubcommandHelpListsItsOptions) {
  auto p = parse({"host", "add", "--help"});
  EXPECT_EQ(p.code, 0);
  EXPECT_NE(p.out.find("--chap-secret"), std::string::npos);
  EXPECT_EQ(p.out.find("--unset"), std::string::npos);  // host set only
}

TEST(Cli, UnknownOptionIsAUsageErrorWithASuggestion) {
  auto p = parse({"host", "list", "--jsn"});
  EXPECT_EQ(p.code, 2);
  EXPECT_NE(p.err.find("unknown option '--jsn'; did you mean '--json'?"), std::string::npos)
      << p.err;
  p = parse({"--log-levl", "debug", "serve"});
  EXPECT_EQ(p.code, 2);
  EXPECT_NE(p.err.find("did you mean '--log-level'?"), std::string::npos) << p.err;
}

TEST(Cli, UnknownCommandIsAUsageErrorWithASuggestion) {
  auto p = parse({"serv"});
  EXPECT_EQ(p.code, 2);
  EXPECT_NE(p.err.find("unknown command 'serv'; did you mean 'serve'?"), std::string::npos)
      << p.err;
  p = parse({"host", "lst"});
  EXPECT_EQ(p.code, 2);
  EXPECT_NE(p.err.find("did you mean 'list'?"), std::string::npos) << p.err;
  p = parse({"zzzzzz"});
  EXPECT_EQ(p.code, 2);
  EXPECT_EQ(p.err.find("did you mean"), std::string::npos) << p.err;
}

TEST(Cli, UsageErrors) {
  EXPECT_EQ(parse({}).code, 2);                                         // no command
  EXPECT_EQ(parse({"host"}).code, 2);                                   // no subcommand
  EXPECT_EQ(parse({"host", "show"}).code, 2);                           // missing HOST
  EXPECT_EQ(parse({"serve", "extra"}).code, 2);                         // serve takes no words
  EXPECT_EQ(parse({"check", "a.xml", "b.xml"}).code, 2);                // one file at most
  EXPECT_EQ(parse({"--log-level", "loud", "serve"}).code, 2);           // not a level
  EXPECT_EQ(parse({"host", "set", "pc1", "--unset", "nope"}).code, 2);  // not an attribute
  EXPECT_EQ(parse({"overlay", "list", "--force"}).code, 2);             // reset only
  EXPECT_EQ(parse({"serve", "--trace-io", "pc1"}).code, 2);             // no =FILE
  EXPECT_EQ(parse({"serve", "--trace-io", "=x.trace"}).code, 2);        // no HOST
  EXPECT_EQ(parse({"serve", "--trace-io", "pc1="}).code, 2);            // no FILE
  EXPECT_EQ(parse({"serve", "--trace-io", "pc1=a", "--trace-io", "pc2=b"}).code, std::nullopt);
}

TEST(Cli, GlobalOptionsBeforeOrAfterTheCommand) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"-c", "a.xml", "--state-dir", "/s", "--log-level", "debug", "host", "list"},
           {"host", "list", "-c", "a.xml", "--state-dir", "/s", "--log-level", "debug"},
           {"host", "--config=a.xml", "list", "--state-dir=/s", "--log-level=debug"}}) {
    command_line cl;
    auto p = parse(cl, args);
    ASSERT_EQ(p.code, std::nullopt) << p.err;
    EXPECT_EQ(cl.command(), "host list");
    EXPECT_EQ(cl.globals().config, "a.xml");
    EXPECT_EQ(cl.globals().state_dir, "/s");
    EXPECT_EQ(cl.globals().log_level, "debug");
  }
  command_line cl;
  ASSERT_EQ(parse(cl, {"serve"}).code, std::nullopt);
  EXPECT_EQ(cl.globals().config, "config/diskless.xml");
  EXPECT_EQ(cl.globals().state_dir, std::nullopt);
}

TEST(Cli, VersionFromTheProject) {
  auto p = parse({"--version"});
  EXPECT_EQ(p.code, 0);
  EXPECT_TRUE(p.out.starts_with("diskless ")) << p.out;
  EXPECT_EQ(p.out.find("unknown"), std::string::npos);
}

// Runs from the source tree (ctest's working directory).
TEST(Cli, CheckExitCodes) {
  command_line good;
  ASSERT_EQ(parse(good, {"--log-level", "off", "check", "config/diskless.xml"}).code, std::nullopt);
  EXPECT_EQ(good.run(), 0);
  command_line bad;
  ASSERT_EQ(
      parse(bad, {"check", "src/inventory/testdata/broken-values.xml", "--log-level=off"}).code,
      std::nullopt);
  EXPECT_EQ(bad.run(), 1);
}

}  // namespace
}  // namespace diskless::cli
