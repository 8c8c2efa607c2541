# `cmake --install` and the .deb (cpack -G DEB). The layout is what
# util/install_paths.h looks for: bin/meros-test, libexec/meros-test/
# (meros-guest), share/meros-test/ (built-in fixtures), the man page and
# bash and zsh completions, all generated from the binary's own help.
include(GNUInstallDirs)

find_program(HELP2MAN help2man)
if(NOT HELP2MAN)
  message(FATAL_ERROR "help2man not found: install the Debian package 'help2man' (or run ci/install-deps.sh)")
endif()

set(MEROS_GENERATED ${CMAKE_BINARY_DIR}/generated)
add_custom_command(
  OUTPUT ${MEROS_GENERATED}/meros-test.1
  COMMAND ${CMAKE_COMMAND} -E make_directory ${MEROS_GENERATED}
  COMMAND ${HELP2MAN} --no-info --no-discard-stderr --help-option=--help-all --version-option=--version
          --name "batch test harness for multi-VM QEMU scenarios" --section 1
          --output ${MEROS_GENERATED}/meros-test.1 $<TARGET_FILE:meros-test>
  DEPENDS meros-test
  COMMENT "Generating the man page from meros-test --help-all")
add_custom_command(
  OUTPUT ${MEROS_GENERATED}/meros-test.bash ${MEROS_GENERATED}/_meros-test
  COMMAND ${CMAKE_COMMAND} -E make_directory ${MEROS_GENERATED}
  COMMAND $<TARGET_FILE:meros-test> --completion bash > ${MEROS_GENERATED}/meros-test.bash
  COMMAND $<TARGET_FILE:meros-test> --completion zsh > ${MEROS_GENERATED}/_meros-test
  DEPENDS meros-test
  COMMENT "Generating the bash and zsh completions from the command table")
add_custom_target(meros-docs ALL DEPENDS ${MEROS_GENERATED}/meros-test.1 ${MEROS_GENERATED}/meros-test.bash ${MEROS_GENERATED}/_meros-test)

install(TARGETS meros-test RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS meros-guest RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/meros-test)
if(MEROS_AARCH64)
  install(PROGRAMS ${MEROS_AARCH64_DIR}/meros-guest DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/meros-test/aarch64)
endif()
install(DIRECTORY ${PROJECT_SOURCE_DIR}/fixtures/ DESTINATION ${CMAKE_INSTALL_DATADIR}/meros-test/fixtures)
install(FILES ${MEROS_GENERATED}/meros-test.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${MEROS_GENERATED}/meros-test.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME meros-test)
install(FILES ${MEROS_GENERATED}/_meros-test DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

# The .deb: `cpack -G DEB --config build/CPackConfig.cmake` (or the
# `package` target). Depends: the libraries from dpkg-shlibdeps plus the
# programs meros-test runs: QEMU, the image and kernel build tools, the
# guest's dropbear, busybox and sftp-server, nsenter and ssh for connect.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME meros-test)
set(CPACK_PACKAGE_VENDOR "meros")
set(CPACK_PACKAGE_CONTACT "meros-test maintainers <meros-test@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "batch test harness for multi-VM QEMU scenarios")
set(CPACK_PACKAGE_DESCRIPTION "meros-test boots constellations of QEMU VMs in network namespaces, applies nftables\n policies, runs SSH assertions and reachability checks and writes JUnit reports.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(MEROS_RUNTIME_PACKAGES
  qemu-system-x86 qemu-system-arm qemu-utils e2fsprogs tar busybox-static dropbear-bin openssh-sftp-server
  openssh-client util-linux iproute2 nftables
  linux-source-6.1 build-essential bc bison flex libelf-dev libssl-dev cpio xz-utils)
list(JOIN MEROS_RUNTIME_PACKAGES ", " CPACK_DEBIAN_PACKAGE_DEPENDS)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "debootstrap, gcc-aarch64-linux-gnu, qemu-user-static")
include(CPack)
