#include "inventory/edit.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "util/file.hpp"

namespace diskless::inventory {
namespace {

const char* base = R"(<?xml version="1.0"?>
<!-- the lab -->
<diskless version="1">
  <images>
    <image name="a" kernel="k"/>  <!-- kept -->
  </images>
  <hosts unknown="ignore">
    <!-- first row -->
    <host mac="52:54:00:00:00:01" name="pc1" image="a" boot="linux"/>
  </hosts>
</diskless>
)";

TEST(Edit, AddHostKeepsCommentsAndIndentation) {
  auto r = add_host(base, {{"mac", "52:54:00:00:00:02"}, {"name", "pc2"}, {"boot", "local"}});
  ASSERT_TRUE(r) << r.error_message();
  EXPECT_EQ(*r, R"(<?xml version="1.0"?>
<!-- the lab -->
<diskless version="1">
  <images>
    <image name="a" kernel="k"/>  <!-- kept -->
  </images>
  <hosts unknown="ignore">
    <!-- first row -->
    <host mac="52:54:00:00:00:01" name="pc1" image="a" boot="linux"/>
    <host mac="52:54:00:00:00:02" name="pc2" boot="local"/>
  </hosts>
</diskless>
)");
}

TEST(Edit, SetAndRemoveHostByNameOrMac) {
  auto r = set_host(base, "52-54-00-00-00-01", {{"boot", "local"}, {"image", ""}});
  ASSERT_TRUE(r);
  EXPECT_NE(r->find(R"(<host mac="52:54:00:00:00:01" name="pc1" boot="local"/>)"),
            std::string::npos)
      << *r;
  auto gone = remove_host(*r, "pc1");
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->find("pc1"), std::string::npos);
  EXPECT_NE(gone->find("<!-- first row -->"), std::string::npos);
  EXPECT_FALSE(remove_host(base, "nobody"));
}

TEST(Edit, UntouchedAndEditedElementsKeepTheirLayout) {
  const char* xml = R"(<diskless version="1">
  <hosts>
    <host mac="52:54:00:00:00:01" name="pc1"
          boot="local"   />
    <host mac='52:54:00:00:00:02' name="pc2" boot="local"/>
  </hosts>
</diskless>)";
  auto r = set_host(xml, "pc2", {{"boot", "menu"}, {"ip", "10.0.0.9"}, {"name", ""}});
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, R"(<diskless version="1">
  <hosts>
    <host mac="52:54:00:00:00:01" name="pc1"
          boot="local"   />
    <host mac='52:54:00:00:00:02' boot="menu" ip="10.0.0.9"/>
  </hosts>
</diskless>)");
  auto removed = remove_host(xml, "pc1");
  ASSERT_TRUE(removed);
  EXPECT_EQ(*removed, R"(<diskless version="1">
  <hosts>
    <host mac='52:54:00:00:00:02' name="pc2" boot="local"/>
  </hosts>
</diskless>)");
  auto quoted = set_host(xml, "pc1", {{"cmdline", "a=\"b\" & c"}});
  ASSERT_TRUE(quoted);
  EXPECT_NE(quoted->find(R"(cmdline="a=&quot;b&quot; &amp; c")"), std::string::npos) << *quoted;
}

TEST(Edit, AddsContainersWhenMissing) {
  auto r = add_host(R"(<diskless version="1">
  <server/>
</diskless>
)",
                    {{"mac", "52:54:00:00:00:01"}, {"name", "pc1"}, {"boot", "local"}});
  ASSERT_TRUE(r) << r.error_message();
  EXPECT_EQ(*r, R"(<diskless version="1">
  <server/>
  <hosts>
    <host mac="52:54:00:00:00:01" name="pc1" boot="local"/>
  </hosts>
</diskless>
)");
  auto i = add_image(*r, {{"name", "k"}, {"kernel", "vmlinuz"}});
  ASSERT_TRUE(i);
  EXPECT_NE(
      i->find("  <images>\n    <image name=\"k\" kernel=\"vmlinuz\"/>\n  </images>\n  <hosts>"),
      std::string::npos)
      << *i;
}

TEST(Edit, RemoveImageInUseIsRefused) {
  auto r = remove_image(base, "a");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error_message().find("pc1"), std::string::npos);
  auto added = add_image(base, {{"name", "b"}, {"disk", "b.img"}});
  ASSERT_TRUE(added);
  EXPECT_NE(added->find("    <image name=\"b\" disk=\"b.img\"/>\n  </images>"), std::string::npos)
      << *added;
  EXPECT_TRUE(remove_image(*added, "b"));
}

TEST(Edit, EditFileRefusesInvalidResultAndLeavesFileUntouched) {
  auto dir = std::filesystem::temp_directory_path() / "diskless-edit-test";
  std::filesystem::create_directories(dir);
  auto file = dir / "inv.xml";
  ASSERT_TRUE(write_file_atomic(file, base));
  load_options o;
  o.check_files = false;
  auto bad = edit_file(
      file,
      [](std::string_view t) {
        return add_host(t, {{"mac", "52:54:00:00:00:01"}, {"name", "dup"}, {"boot", "local"}});
      },
      o);
  EXPECT_FALSE(bad.ok);
  ASSERT_FALSE(bad.problems.empty());
  EXPECT_NE(bad.problems[0].str().find("inv.xml:10: MAC 52:54:00:00:00:01 is already used"),
            std::string::npos)
      << bad.problems[0].str();
  EXPECT_EQ(*read_file(file), base);
  auto good = edit_file(
      file,
      [](std::string_view t) {
        return add_host(t, {{"mac", "52:54:00:00:00:03"}, {"name", "pc3"}, {"boot", "local"}});
      },
      o);
  EXPECT_TRUE(good.ok) << good.error;
  EXPECT_NE(read_file(file)->find("pc3"), std::string::npos);
  std::filesystem::remove_all(dir);
}

// An error already in the file (a host on a missing image) does not block unrelated edits, nor
// the edit that fixes it; an edit that introduces an error is still refused.
TEST(Edit, OnlyErrorsTheEditIntroducesRefuseIt) {
  auto dir = std::filesystem::temp_directory_path() / "diskless-edit-scope-test";
  std::filesystem::create_directories(dir);
  auto file = dir / "inv.xml";
  { std::ofstream(dir / "k") << "kernel"; }
  ASSERT_TRUE(write_file_atomic(file, R"(<diskless version="1">
  <images>
    <image name="a" kernel="k"/>
    <image name="gone" kernel="gone-kernel"/>
  </images>
  <hosts>
    <host mac="52:54:00:00:00:01" name="pc1" image="a" boot="linux"/>
    <host mac="52:54:00:00:00:02" name="pc2" image="gone" boot="linux"/>
  </hosts>
</diskless>
)"));
  auto add = [&](const char* mac, const char* name, const char* image) {
    return edit_file(file, [&](std::string_view t) {
      return add_host(t, {{"mac", mac}, {"name", name}, {"image", image}, {"boot", "linux"}});
    });
  };
  EXPECT_TRUE(add("52:54:00:00:00:03", "pc3", "a").ok);
  EXPECT_FALSE(add("52:54:00:00:00:04", "pc4", "nosuch").ok);  // new error: refused
  EXPECT_EQ(read_file(file)->find("pc4"), std::string::npos);
  auto fix = edit_file(file, [](std::string_view t) { return remove_host(t, "pc2"); });
  EXPECT_TRUE(fix.ok) << fix.error;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace diskless::inventory
