# Install rules and the Debian package (included by the top CMakeLists.txt).
#
#   cmake --install build --prefix P   P/bin/casevault, P/sbin/mount.fuse.casevault,
#                                      P/lib/systemd/user/casevault-mount@.service,
#                                      P/share/doc/casevault/; man pages and
#                                      completions by man/ and completion/
#   cd build && cpack -G DEB           casevault_VERSION_ARCH.deb (prefix /usr)
#
# What is installed is always the release binary: a test build
# (CASEVAULT_TEST_KDF=ON) offers a weak passphrase hashing profile, so it
# installs the casevault-release target it also builds, never casevault.
include(GNUInstallDirs)

if(CASEVAULT_TEST_KDF)
	install(PROGRAMS $<TARGET_FILE:casevault-release> DESTINATION ${CMAKE_INSTALL_BINDIR}
		RENAME casevault COMPONENT casevault)
else()
	install(TARGETS casevault RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT casevault)
endif()

# The helper and the unit name the installed binary by its full path, which
# is only known at install time (cmake --install --prefix P, or /usr for the
# package): they are configured then, into the build tree, then installed.
set(CASEVAULT_DIST_OUT ${CMAKE_CURRENT_BINARY_DIR}/dist)
install(CODE "
	set(prefix \"\${CMAKE_INSTALL_PREFIX}\")
	set(CASEVAULT_BIN \"\${prefix}/${CMAKE_INSTALL_BINDIR}/casevault\")
	set(CASEVAULT_HELPER \"\${prefix}/${CMAKE_INSTALL_SBINDIR}/mount.fuse.casevault\")
	set(CASEVAULT_DOCDIR \"\${prefix}/${CMAKE_INSTALL_DOCDIR}\")
	configure_file(\"${CMAKE_CURRENT_SOURCE_DIR}/dist/mount.fuse.casevault.in\"
		\"${CASEVAULT_DIST_OUT}/mount.fuse.casevault\" @ONLY)
	configure_file(\"${CMAKE_CURRENT_SOURCE_DIR}/dist/casevault-mount@.service.in\"
		\"${CASEVAULT_DIST_OUT}/casevault-mount@.service\" @ONLY)
	" COMPONENT casevault)
# mount(8) looks for /sbin/mount.fuse.casevault: /usr/sbin on Debian 12,
# whose /sbin is a link to it.
install(PROGRAMS ${CASEVAULT_DIST_OUT}/mount.fuse.casevault
	DESTINATION ${CMAKE_INSTALL_SBINDIR} COMPONENT casevault)
install(FILES ${CASEVAULT_DIST_OUT}/casevault-mount@.service
	DESTINATION lib/systemd/user COMPONENT casevault)
install(FILES README.md docs/install.md DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT casevault)

# ---- the Debian package ----------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME casevault)
set(CPACK_PACKAGE_VENDOR "casevault")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
	"encrypted, access-controlled, audit-logged records vault")
set(CPACK_PACKAGE_DESCRIPTION "casevault keeps the records of NGOs that look after victims of\n\
human trafficking: every document encrypted and versioned in one LMDB file,\n\
access enforced by per-case keys, and every event, reads included, a signed\n\
commit in a hash-chained history that an auditor verifies without any case\n\
key. Caseworkers browse and edit their cases as plain folders (FUSE).")
set(CPACK_PACKAGE_CONTACT "casevault maintainers <casevault@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)   # casevault_VERSION_ARCH.deb
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The libraries, from dpkg-shlibdeps; fuse3 for fusermount3, which the mount
# and `casevault umount` run. git and ssh-keygen only read what `audit
# export` writes (git log --show-signature): suggested, not needed.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "fuse3")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "git, openssh-client")
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/build[^/]*/")
include(CPack)
