#pragma once
// Per-host boot scripts and the names of the boot files (the list is in catalog.hpp; paths are
// relative to the TFTP root / HTTP root, a leading '/' is ignored). Only images that have a
// kernel publish vmlinuz/initrd, and only under their validated names, so nothing outside the
// inventory's files can be reached through them.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "boot/render.hpp"
#include "boot/templates.hpp"
#include "inventory/load.hpp"
#include "inventory/model.hpp"
#include "util/net.hpp"
#include "util/result.hpp"

namespace diskless::boot {

// The virtual path of a host's script: "boot/52-54-00-12-34-01.ipxe".
std::string script_path(const mac_address& mac);
// The MAC of a script path ("boot/<mac-with-dashes>.ipxe", leading '/' ignored); nullopt for
// any other path.
std::optional<mac_address> script_mac(std::string_view path);
// The path of an iPXE loader served over HTTP: "ipxe/snponly.efi".
std::string loader_path(std::string_view loader);
// http://<server>:<http port>/<path> (the server: its address, else iPXE's ${next-server}).
std::string http_url(const inventory::inventory& inv, std::string_view path);
// The virtual paths of an image's kernel and initrd.
std::string kernel_path(std::string_view image);
std::string initrd_path(std::string_view image);

// The values a template may use for one host (unknown MACs get host name "unknown-<mac>").
// image may be null (local, menu). Placeholders: server, host, mac, mac_dashed, image,
// target_iqn, initiator_iqn, iscsi_port, lun, sanboot_uri, netroot, kernel_url, initrd_url,
// cmdline, root_partition, root_device, rootfstype, chap_user, chap_secret, mutual_user,
// mutual_secret, iscsi_auth_args, menu_items, menu_entries. auto_secret: the current boot's
// secret of a chap-secret="auto" host (empty: the word "auto" stands in, as `host show` prints).
variables variables_for(const inventory::inventory& inv, const inventory::host& h,
                        const inventory::image* img, std::string_view auto_secret = {});

// The script for a MAC: its host's method, or for an unknown MAC the inventory's unknown policy
// (local → local, menu → menu, an image → linux with that image). nullopt: nothing to send
// (unknown MAC with unknown="ignore"). An error: the template is broken (message names the
// template file and line).
result<std::optional<std::string>> script_for(const inventory::inventory& inv,
                                              const template_set& templates, const mac_address& mac,
                                              std::string_view auto_secret = {});
// Same with the inventory's templates loaded from disk (reads files; for the CLI and tests).
result<std::optional<std::string>> script_for(const inventory::inventory& inv,
                                              const mac_address& mac);

// A file the TFTP (or HTTP) server should send.
struct boot_file {
  std::string content;              // a rendered script (when path is empty)
  std::filesystem::path path;       // a real file to stream from disk (kernel, initrd)
  std::optional<mac_address> host;  // a script's MAC
  bool is_script() const { return path.empty(); }
};

// Answers a request for a virtual path. nullopt: not one of ours (or an ignored unknown MAC):
// the server goes on to its root directory / answers "file not found". An error: a broken
// template, to be reported to the client and logged loudly. auto_secret: as for variables_for.
result<std::optional<boot_file>> lookup(const inventory::inventory& inv,
                                        const template_set& templates, std::string_view path,
                                        std::string_view auto_secret = {});

// Problems with the templates for `diskless check`: unreadable override files, unterminated or
// unknown placeholders, a missing "#!ipxe" first line, and a template that fails to render for
// a host that uses it. Lines point into the template file.
std::vector<inventory::problem> check_templates(const inventory::inventory& inv,
                                                const template_set& templates);
std::vector<inventory::problem> check_templates(const inventory::inventory& inv);

}  // namespace diskless::boot
