#include "boot/catalog.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <vector>

#include "boot/script.hpp"

namespace diskless::boot {
namespace {

const auto pc1 = *mac_address::parse("52:54:00:00:00:01");
const auto stranger = *mac_address::parse("52:54:00:00:00:02");
const auto pc1_ip = *ipv4_address::parse("10.77.0.21");
const auto stranger_ip = *ipv4_address::parse("10.77.0.22");
const auto other_ip = *ipv4_address::parse("10.77.0.23");  // a PC no inventory entry names

// Whose PC an address is, as a server's neighbour table would say: pc1 and the stranger are
// on-link, so is other_ip (with a MAC of its own).
std::optional<mac_address> holder_of(ipv4_address a) {
  if (a == pc1_ip) return pc1;
  if (a == stranger_ip) return stranger;
  if (a == other_ip) return mac_address::parse("52:54:00:00:00:99");
  return std::nullopt;
}

// A remote requester with its holder looked up (what resolve_owner hands find()).
requester remote(ipv4_address a) {
  return {false, a, holder_of(a)};
}

catalog::hooks owned(catalog::fetched_fn fetched = {},
                     std::shared_ptr<per_boot_secrets> secrets = nullptr) {
  catalog::hooks h;
  h.on_fetched = std::move(fetched);
  h.neighbour_of = holder_of;
  h.secrets = std::move(secrets);
  return h;
}

// The requester that owns a path's script (pc1's PC for any other path).
requester owner_of(std::string_view path) {
  return remote(script_mac(path) == stranger ? stranger_ip : pc1_ip);
}

class Catalog : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("diskless-catalog-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    write("vmlinuz", "KERNEL-1");
    write("initrd.img", "INITRD-1");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::trunc) << text;
  }
  std::shared_ptr<inventory::inventory> make(std::string kernel = "vmlinuz", bool http = false) {
    auto inv = std::make_shared<inventory::inventory>();
    inv->base_dir = dir_;
    inv->server.address = ipv4_address::parse("10.77.0.1");
    inv->server.http.enabled = http;
    inv->server.http.port = 8080;
    inv->server.tftp.root = "tftp";
    inventory::image img;
    img.name = "deb";
    img.kernel = std::move(kernel);
    img.initrd = "initrd.img";
    inv->images.push_back(img);
    inventory::host h;
    h.mac = pc1;
    h.name = "pc1";
    h.image = "deb";
    h.boot = inventory::boot_method::linux;
    inv->hosts.push_back(h);
    return inv;
  }
  // find() that must succeed and return something.
  static found must(const catalog& c, std::string_view path, via v, bool fetch = true) {
    auto r = c.find(path, v, owner_of(path), fetch);
    EXPECT_TRUE(r) << path;
    EXPECT_TRUE(r && *r) << path;
    return r && *r ? **r : found{};
  }
  std::filesystem::path dir_;
};

TEST_F(Catalog, OffersForEveryClientKind) {
  auto off = make("vmlinuz", false);
  off->server.dhcp.efi_loader = "ipxe.efi";
  auto on = make("vmlinuz", true);
  struct row {
    const inventory::inventory& inv;
    client c;
    std::string path, url;
  };
  const row rows[] = {
      {*off, {pc1, 0, false, false}, "undionly.kpxe", ""},
      {*off, {pc1, 7, false, false}, "ipxe.efi", ""},
      {*off, {pc1, 9, false, false}, "ipxe.efi", ""},
      {*off, {pc1, 11, false, false}, "ipxe.efi", ""},  // no native build: the x64 one
      {*on, {pc1, 0, false, false}, "undionly.kpxe", ""},
      {*on, {pc1, 9, false, false}, "snponly.efi", ""},
      {*off, {pc1, 0, true, false}, "boot/52-54-00-00-00-01.ipxe", ""},
      {*off, {stranger, 9, true, false}, "boot/52-54-00-00-00-02.ipxe", ""},
      {*on,
       {pc1, 0, true, false},
       "boot/52-54-00-00-00-01.ipxe",
       "http://10.77.0.1:8080/boot/52-54-00-00-00-01.ipxe"},
      {*on, {pc1, 16, false, true}, "ipxe/snponly.efi", "http://10.77.0.1:8080/ipxe/snponly.efi"},
      // iPXE loaded by HTTP Boot still says HTTPClient: it is iPXE that asks now.
      {*on,
       {pc1, 16, true, true},
       "boot/52-54-00-00-00-01.ipxe",
       "http://10.77.0.1:8080/boot/52-54-00-00-00-01.ipxe"},
  };
  for (const auto& r : rows) {
    auto o = offer_for(r.inv, r.c);
    EXPECT_EQ(o.path, r.path) << r.c.arch << " ipxe " << r.c.ipxe << " http " << r.c.http_boot;
    EXPECT_EQ(o.url, r.url) << r.c.arch << " ipxe " << r.c.ipxe << " http " << r.c.http_boot;
    EXPECT_EQ(o.file(), r.url.empty() ? r.path : r.url);
  }
  catalog c(on);
  EXPECT_EQ(c.offer_for({pc1, 0, false, false}).path, "undionly.kpxe");
}

TEST_F(Catalog, ScriptsKernelsAndInitrdsForBothProtocols) {
  catalog c(make(), owned());
  for (auto v : {via::tftp, via::http}) {
    auto s = must(c, "boot/52-54-00-00-00-01.ipxe", v);
    ASSERT_TRUE(s.content);
    EXPECT_TRUE(s.script);
    EXPECT_NE(s.content->find("kernel tftp://10.77.0.1/images/deb/vmlinuz"), std::string::npos)
        << *s.content;
    auto k = must(c, "/images/deb/vmlinuz", v);
    ASSERT_TRUE(k.content);
    EXPECT_FALSE(k.script);
    EXPECT_EQ(*k.content, "KERNEL-1");
    auto i = must(c, "images/deb/initrd", v);
    ASSERT_TRUE(i.content);
    EXPECT_EQ(*i.content, "INITRD-1");
  }
}

TEST_F(Catalog, TftpFallsBackToItsRootHttpServesOnlyItsNames) {
  catalog c(make(), owned());
  const auto root = dir_ / "tftp";
  for (auto path : {"undionly.kpxe", "boot/52-54-00-00-00-02.ipxe", "images/deb/config"}) {
    auto t = must(c, path, via::tftp);
    EXPECT_FALSE(t.content) << path;
    ASSERT_TRUE(t.disk) << path;
    EXPECT_EQ(t.disk->root, root);
    EXPECT_EQ(t.disk->rel, path);
    EXPECT_EQ(t.disk->fallbacks, std::vector{ipxe_package_dir});
    auto h = c.find(path, via::http, owner_of(path));
    ASSERT_TRUE(h) << path;
    EXPECT_FALSE(*h) << path;
  }
  // The EFI loaders for UEFI HTTP Boot: the same places, over HTTP only, these names only.
  for (auto name : {"snponly.efi", "ipxe.efi"}) {
    auto h = must(c, std::string("/ipxe/") + name, via::http);
    ASSERT_TRUE(h.disk);
    EXPECT_EQ(h.disk->root, root);
    EXPECT_EQ(h.disk->rel, name);
    EXPECT_EQ(h.disk->fallbacks, std::vector{ipxe_package_dir});
  }
  EXPECT_FALSE(*c.find("ipxe/undionly.kpxe", via::http, owner_of("")));
  EXPECT_EQ(must(c, "ipxe/snponly.efi", via::tftp).disk->rel, "ipxe/snponly.efi");
}

TEST_F(Catalog, ScriptFetchesAreReported) {
  std::vector<mac_address> seen;
  auto inv = make();
  inv->unknown.what = inventory::unknown_policy::kind::local;
  catalog c(inv, owned([&](const mac_address& m) { seen.push_back(m); }));
  must(c, "boot/52-54-00-00-00-01.ipxe", via::tftp);
  must(c, "/boot/52-54-00-00-00-02.ipxe", via::http);
  must(c, "boot/52-54-00-00-00-01.ipxe", via::http, /*fetch=*/false);    // HEAD
  must(c, "images/deb/vmlinuz", via::tftp);                              // not a script
  (void)c.find("boot/52:54:00:00:00:01.ipxe", via::tftp, owner_of(""));  // not our spelling
  EXPECT_EQ(seen, (std::vector{pc1, stranger}));
}

TEST_F(Catalog, ApplyPicksUpChangedFilesAndTemplates) {
  catalog c(make(), owned());
  write("vmlinuz", "KERNEL-2 longer");
  std::filesystem::create_directories(dir_ / "templates");
  std::ofstream(dir_ / "templates" / "linux.ipxe") << "#!ipxe\necho {{host}} custom\n";
  c.apply(make());
  EXPECT_EQ(*must(c, "images/deb/vmlinuz", via::tftp).content, "KERNEL-2 longer");
  EXPECT_EQ(*must(c, "boot/52-54-00-00-00-01.ipxe", via::http).content,
            "#!ipxe\necho pc1 custom\n");
  // A broken template: HTTP answers the error, TFTP logs it and looks in its root.
  std::ofstream(dir_ / "templates" / "linux.ipxe", std::ios::trunc) << "#!ipxe\necho {{nope}}\n";
  c.apply(make());
  auto h = c.find("boot/52-54-00-00-00-01.ipxe", via::http, owner_of(""));
  ASSERT_FALSE(h);
  EXPECT_NE(h.error_message().find("nope"), std::string::npos) << h.error_message();
  EXPECT_TRUE(must(c, "boot/52-54-00-00-00-01.ipxe", via::tftp).disk);
  EXPECT_TRUE(must(c, "images/deb/initrd", via::http).content);
}

TEST_F(Catalog, MissingKernelIsNotServedFromMemory) {
  catalog c(make("missing-vmlinuz"), owned());
  EXPECT_FALSE(*c.find("images/deb/vmlinuz", via::http, owner_of("")));
  EXPECT_TRUE(must(c, "images/deb/vmlinuz", via::tftp).disk);
  EXPECT_TRUE(must(c, "images/deb/initrd", via::tftp).content);
}

TEST(NotOwner, OnlyTheAddressOfTheScriptsMacOwnsIt) {
  const requester pc = remote(pc1_ip);
  EXPECT_FALSE(not_owner(pc1, pc, pc1));
  // Someone else's PC, an address nobody is known to hold, the server itself, no IPv4 address.
  EXPECT_TRUE(not_owner(pc1, pc, stranger));
  EXPECT_TRUE(not_owner(pc1, pc, std::nullopt));
  EXPECT_TRUE(not_owner(pc1, requester{true, pc1_ip, std::nullopt}, pc1));
  EXPECT_TRUE(not_owner(pc1, requester{false, std::nullopt, std::nullopt}, pc1));
  auto why = not_owner(pc1, pc, stranger);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find(stranger.str()), std::string::npos) << *why;
}

TEST_F(Catalog, ScriptsGoToTheirOwnerOnlyFilesToAnyone) {
  std::vector<mac_address> seen;
  catalog c(make(), owned([&](const mac_address& m) { seen.push_back(m); }));
  const std::string script = "boot/52-54-00-00-00-01.ipxe";
  std::size_t owner_fetches = 0;
  for (auto v : {via::tftp, via::http}) {
    for (requester who : {remote(other_ip), remote(stranger_ip),
                          requester{true, *ipv4_address::parse("127.0.0.1"), std::nullopt},
                          remote(*ipv4_address::parse("10.77.0.99"))}) {
      auto r = c.find(script, v, who);
      ASSERT_TRUE(r && *r);
      EXPECT_TRUE((*r)->refused);
      EXPECT_FALSE((*r)->content);
      EXPECT_FALSE((*r)->disk);
      // Kernels and initrds are not secret.
      auto k = c.find("images/deb/vmlinuz", v, who);
      ASSERT_TRUE(k && *k);
      EXPECT_FALSE((*k)->refused);
      EXPECT_TRUE((*k)->content);
    }
    EXPECT_EQ(seen.size(), owner_fetches) << "a refused fetch is not the host's new boot";
    EXPECT_TRUE(must(c, script, v).content);
    ++owner_fetches;
  }
  EXPECT_EQ(seen, (std::vector{pc1, pc1}));
  // An address nobody looked up (or no lookup named) owns nothing.
  catalog closed(make());
  auto r = closed.find(script, via::http, requester{false, pc1_ip, std::nullopt});
  ASSERT_TRUE(r && *r);
  EXPECT_TRUE((*r)->refused);
}

TEST_F(Catalog, AutoChapSecretRotatesAtEachFetchOfTheOwner) {
  auto inv = make();
  inv->hosts[0].chap = inventory::chap_credentials{"pc1", "auto", "", ""};
  inv->hosts[0].boot = inventory::boot_method::iscsi_root;  // carries `set password`
  auto secrets = std::make_shared<per_boot_secrets>();
  catalog c(inv, owned({}, secrets));
  const std::string script = "boot/52-54-00-00-00-01.ipxe";
  EXPECT_FALSE(secrets->current(pc1));
  auto first = *must(c, script, via::http).content;
  auto s1 = secrets->current(pc1);
  ASSERT_TRUE(s1);
  EXPECT_EQ(s1->size(), per_boot_secrets::length);
  EXPECT_NE(first.find("set password " + *s1), std::string::npos) << first;
  // A HEAD and a refused request change nothing.
  must(c, script, via::http, /*fetch=*/false);
  (void)c.find(script, via::tftp, remote(other_ip));
  EXPECT_EQ(secrets->current(pc1), s1);
  auto second = *must(c, script, via::tftp).content;
  auto s2 = secrets->current(pc1);
  ASSERT_TRUE(s2);
  EXPECT_NE(*s1, *s2);
  EXPECT_NE(second.find("set password " + *s2), std::string::npos) << second;
  EXPECT_EQ(second.find(*s1), std::string::npos);
}

}  // namespace
// resolve_owner fills the holder for a script only: the neighbour table first (on the pool),
// then the DHCP leases; local requesters and other paths go straight on.
TEST_F(Catalog, ResolveOwnerLooksUpScriptsOnly) {
  io_pool pool(0, [](io_pool::task t) { t(); });  // inline: the lookup completes at once
  int neighbour_calls = 0;
  catalog::hooks h;
  h.neighbour_of = [&](ipv4_address a) -> std::optional<mac_address> {
    ++neighbour_calls;
    return a == pc1_ip ? std::optional(pc1) : std::nullopt;
  };
  h.lease_of = [](ipv4_address a) -> std::optional<mac_address> {
    return a == stranger_ip ? std::optional(stranger) : std::nullopt;
  };
  catalog c(make(), std::move(h));
  auto resolved = [&](std::string_view path, requester who) {
    std::optional<requester> out;
    c.resolve_owner(path, who, pool, [&](requester r) { out = r; });
    EXPECT_TRUE(out) << path;
    return out.value_or(requester{});
  };
  const std::string script = "boot/52-54-00-00-00-01.ipxe";
  EXPECT_EQ(resolved(script, {false, pc1_ip, std::nullopt}).holder, pc1);
  EXPECT_EQ(resolved(script, {false, stranger_ip, std::nullopt}).holder, stranger);  // a lease
  EXPECT_FALSE(resolved(script, {false, other_ip, std::nullopt}).holder);
  EXPECT_EQ(neighbour_calls, 3);
  EXPECT_FALSE(resolved("images/deb/vmlinuz", {false, pc1_ip, std::nullopt}).holder);
  EXPECT_FALSE(resolved(script, {true, pc1_ip, std::nullopt}).holder);
  EXPECT_EQ(neighbour_calls, 3);  // neither a kernel nor the server itself is looked up
}

}  // namespace diskless::boot
