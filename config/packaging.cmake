# Debian package: `cpack -G DEB` in the build directory makes diskless_<version>_amd64.deb.
# Everything the package ships beside the binary lives in config/ (this file, the unit, the
# manual pages, the maintainer scripts under config/debian/) and templates/.
# The system files (/etc, the unit) belong to the component "system", which a plain
# `cmake --install` skips so that it never overwrites an edited /etc/diskless/diskless.xml.

include(GNUInstallDirs)
set(_cfg ${PROJECT_SOURCE_DIR}/config)
set(_gen ${PROJECT_BINARY_DIR}/packaging)

# Manual pages and the changelog, gzipped as Debian policy wants (-n: no timestamp, reproducible).
set(_gz_outputs)
foreach(src diskless.8 diskless.xml.5 debian/changelog)
  # debian/changelog becomes changelog.gz: a native package (version without a Debian revision).
  get_filename_component(name ${src} NAME)
  add_custom_command(OUTPUT ${_gen}/${name}.gz
                     COMMAND ${CMAKE_COMMAND} -E make_directory ${_gen}
                     COMMAND gzip -9n -c ${_cfg}/${src} > ${_gen}/${name}.gz
                     DEPENDS ${_cfg}/${src} VERBATIM)
  list(APPEND _gz_outputs ${_gen}/${name}.gz)
endforeach()
add_custom_target(diskless_docs ALL DEPENDS ${_gz_outputs})

install(DIRECTORY ${PROJECT_SOURCE_DIR}/templates/ DESTINATION ${CMAKE_INSTALL_DATADIR}/diskless/templates
        FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES ${_gen}/diskless.8.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${_gen}/diskless.xml.5.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(FILES ${_gen}/changelog.gz ${_cfg}/debian/copyright
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/diskless COMPONENT system EXCLUDE_FROM_ALL)
install(FILES ${_cfg}/diskless.xml DESTINATION /etc/diskless COMPONENT system EXCLUDE_FROM_ALL)
install(FILES ${_cfg}/diskless.service DESTINATION /lib/systemd/system COMPONENT system
        EXCLUDE_FROM_ALL)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME diskless)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "diskless maintainers <diskless@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "netboot server for diskless lab PCs")
set(CPACK_PACKAGE_DESCRIPTION
    "One program that netboots a room of PCs with no local disk: DHCP or\n\
proxyDHCP, TFTP and HTTP for iPXE, and an iSCSI target that serves every PC\n\
its disk image through its own copy-on-write overlay. An XML inventory\n\
(/etc/diskless/diskless.xml) says which PC boots which image and how; the\n\
running service applies edits without a restart.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# One package with both components: the default one and "system" (a component-specific install
# is the only one that includes EXCLUDE_FROM_ALL files).
set(CPACK_INSTALL_CMAKE_PROJECTS "${PROJECT_BINARY_DIR};diskless;Unspecified;/"
                                 "${PROJECT_BINARY_DIR};diskless;system;/")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Shared libraries (Boost, spdlog, fmt, pugixml, libsystemd, libstdc++) from dpkg-shlibdeps;
# iPXE's boot files and adduser (postinst) by hand.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, ipxe")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${_cfg}/debian/postinst ${_cfg}/debian/prerm ${_cfg}/debian/postrm ${_cfg}/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
include(CPack)
