#include "boot/render.hpp"

#include <gtest/gtest.h>

namespace diskless::boot {
namespace {

TEST(Render, ReplacesPlaceholdersAndKeepsIpxeSettings) {
  variables v{{"server", "10.0.0.1"}, {"target", "iqn.2026-11.lan.diskless:lab-01"}};
  auto r = render("#!ipxe\nsanboot iscsi:{{server}}::::{{ target }} ${net0/mac}\n", v);
  ASSERT_TRUE(r) << r.error_message();
  EXPECT_EQ(*r, "#!ipxe\nsanboot iscsi:10.0.0.1::::iqn.2026-11.lan.diskless:lab-01 ${net0/mac}\n");
}

TEST(Render, EmptyValueAndRepeatedPlaceholder) {
  variables v{{"a", ""}, {"b", "x"}};
  auto r = render("[{{a}}][{{b}}{{b}}]", v);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "[][xx]");
}

TEST(Render, UnknownPlaceholderIsAnErrorWithLine) {
  variables v{{"server", "10.0.0.1"}};
  auto r = render("#!ipxe\necho {{server}}\nchain {{sever}}/x\n", v);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error_message().find("line 3"), std::string::npos) << r.error_message();
  EXPECT_NE(r.error_message().find("{{sever}}"), std::string::npos) << r.error_message();
  EXPECT_NE(r.error_message().find("server"), std::string::npos);  // lists the known names
}

TEST(Render, UnterminatedPlaceholderIsAnError) {
  auto r = render("#!ipxe\necho {{server\nexit {{x}}\n", {{"server", "s"}, {"x", "1"}});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error_message().find("line 2"), std::string::npos) << r.error_message();
  EXPECT_FALSE(render("{{", {}));
  EXPECT_FALSE(render("tail {{a}", {{"a", "1"}}));
}

TEST(Render, EmptyPlaceholderIsAnError) {
  auto r = render("a {{ }} b", {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error_message().find("line 1"), std::string::npos);
}

TEST(Render, SingleBracesAreText) {
  auto r = render("{ } }} {x}", {});
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "{ } }} {x}");
}

TEST(Placeholders, ListsNamesWithLines) {
  auto p = placeholders("a {{one}}\n\nb {{ two }} {{one}}");
  ASSERT_TRUE(p);
  ASSERT_EQ(p->size(), 3u);
  EXPECT_EQ((*p)[0].name, "one");
  EXPECT_EQ((*p)[0].line, 1);
  EXPECT_EQ((*p)[1].name, "two");
  EXPECT_EQ((*p)[1].line, 3);
  EXPECT_FALSE(placeholders("x {{y"));
}

}  // namespace
}  // namespace diskless::boot
