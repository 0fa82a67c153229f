#!/usr/bin/env bash
# Install and package (dist/install.cmake), from a user's side:
#  1. a release configuration in a scratch build directory builds, and
#     `cpack -G DEB` makes casevault_VERSION_ARCH.deb, whose control file
#     declares its Debian dependencies (the libraries and fuse3) and whose
#     files are the binary, the mount helper, the systemd user unit, the docs
#     (and the man pages and completions when the tree has them);
#  2. the package is installed: with CI=true as root, `apt-get install
#     ./casevault_*.deb` (and `apt-get remove` at the end); elsewhere, so as
#     not to change a developer's machine, `cmake --install` into a temporary
#     prefix and `dpkg-deb -x` beside it, which must hold the same files;
#  3. a test build (CASEVAULT_TEST_KDF=ON) installs its release binary: what
#     is installed never takes CASEVAULT_KDF=test;
#  4. the systemd user unit passes `systemd-analyze verify` (if present);
#  5. tests/demo.sh runs against the installed binary;
#  6. mount.fuse.casevault, as mount(8) runs it, mounts a vault for real (the
#     passphrase from a file, and through systemd-ask-password over a pipe
#     when there is no terminal), refuses bad options, and the history
#     verifies; under CI=true as root, `mount -t fuse.casevault` itself.
# Slow: a build, and the demo with real Argon2id (see docs/install.md).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mount_lib.sh"

top=$(dirname "$TESTS_DIR")
for tool in cmake cpack dpkg-deb; do
	command -v "$tool" > /dev/null 2>&1 || skip "$tool is missing (tests/deps.sh installs it)"
done
require_fuse

# ---- 1. the package, from a release configuration -----------------------
B=$T/build
check "a release configuration" \
	cmake -S "$top" -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCASEVAULT_TEST_KDF=OFF -Wno-dev -DCMAKE_MESSAGE_LOG_LEVEL=WARNING || finish
cmake --build "$B" -j 2 > "$T/.build" 2>&1
check_eq "the release build" 0 "$?" || { tail -n 20 "$T/.build"; finish; }
(cd "$B" && cpack -G DEB > "$T/.cpack" 2>&1)
check_eq "cpack -G DEB succeeds" 0 "$?" || { cat "$T/.cpack"; finish; }
version=$(sed -n 's/^project(casevault VERSION \([0-9.]*\).*/\1/p' "$top/CMakeLists.txt")
deb="$B/casevault_${version}_$(dpkg --print-architecture).deb"
check "the package is named casevault_VERSION_ARCH.deb" test -f "$deb" || finish

info=$(dpkg-deb -f "$deb")
check_match "the package is casevault $version" "Package: casevault" "$info"
check_contains "its version is the project's" "Version: $version" "$info"
depends=$(dpkg-deb -f "$deb" Depends)
for dep in fuse3 libfuse3-3 libsodium23 liblmdb0 libgit2 libgfshare2 zlib1g libc6; do
	check_contains "it depends on $dep" "$dep" "$depends"
done
check_not_contains "it does not depend on git (only suggested)" "git," "$depends, "
for field in Maintainer Section Description; do
	check "it has a $field field" test -n "$(dpkg-deb -f "$deb" "$field")"
done

want_files() {
	echo ./usr/bin/casevault
	echo ./usr/sbin/mount.fuse.casevault
	echo ./usr/lib/systemd/user/casevault-mount@.service
	echo ./usr/share/doc/casevault/README.md
	echo ./usr/share/doc/casevault/install.md
}
listing=$(dpkg-deb -c "$deb" | awk '{ print $6 }')
while read -r f; do
	check_contains "the package holds ${f#.}" "$f" "$listing"
done < <(want_files)
[ -d "$top/man" ] && check_match "the package holds man pages" "/usr/share/man/man1/casevault\\.1" "$listing"
[ -d "$top/completion" ] && check_contains "the package holds the bash completion" "/usr/share/bash-completion/completions/casevault" "$listing"
dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./usr/bin/casevault > "$T/.packaged"
sections=$(readelf -S "$T/.packaged" 2>&1)
check_contains "the packaged binary is an ELF program" ".text" "$sections"
check_not_contains "the packaged binary is stripped" ".debug_info" "$sections"

# ---- 2. installed ---------------------------------------------------------
apt_installed=0
if [ "${CI:-}" = true ] && [ "$(id -u)" -eq 0 ]; then
	if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" > "$T/.apt" 2>&1; then
		apt_installed=1
		pass "apt-get install ./casevault_*.deb"
	else
		fail "apt-get install ./casevault_*.deb: $(tail -n 3 "$T/.apt")"
		finish
	fi
	P=/usr
else
	P=$T/prefix
	check "cmake --install --prefix P" cmake --install "$B" --prefix "$P" > /dev/null || finish
	(cd "$T" && mkdir x && dpkg-deb -x "$deb" x)
	while read -r f; do
		check "cmake --install installs ${f#./usr}" test -f "$P/${f#./usr/}"
		check "dpkg-deb -x unpacks ${f#.}" test -f "$T/x/$f"
	done < <(want_files)
fi
HELPER=$P/sbin/mount.fuse.casevault
# The machine as before, whatever happens: the package removed on exit too.
remove_package() {
	[ "$apt_installed" = 1 ] || return 0
	apt_installed=0
	DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq casevault > /dev/null 2>&1 &&
		! dpkg-query -W -f='${Status}' casevault 2> /dev/null | grep -q "install ok installed"
}
_install_exit() {
	local rc=$?

	remove_package
	(exit "$rc")
	_mount_exit
}
trap _install_exit EXIT
BIN=$P/bin/casevault
check "the installed binary runs" env -u CASEVAULT_KDF "$BIN" --version
check "the mount helper is executable" test -x "$HELPER"
check_contains "the helper runs the installed binary" "casevault=$BIN" "$(cat "$HELPER")"
expect_exit 2 env CASEVAULT_KDF=test "$BIN" --version
check_contains "the installed binary is a release build" "release build" "$ERR"

# ---- 3. a test build installs its release binary --------------------------
TB=$(dirname "${CASEVAULT_RELEASE_BIN:-$top/build/casevault-release}")   # lib.sh copies CASEVAULT_BIN
if [ -f "$TB/CMakeCache.txt" ] && grep -q '^CASEVAULT_TEST_KDF:BOOL=ON' "$TB/CMakeCache.txt"; then
	check "cmake --install of a test build" cmake --install "$TB" --prefix "$T/tprefix" > /dev/null
	expect_exit 2 env CASEVAULT_KDF=test "$T/tprefix/bin/casevault" --version
	check_contains "a test build installs the release binary, not the test one" "release build" "$ERR"
fi

# ---- 4. the systemd user unit ----------------------------------------------
unit=$P/lib/systemd/user/casevault-mount@.service
check_contains "the unit starts the installed helper" "ExecStart=$HELPER " "$(cat "$unit")"
if command -v systemd-analyze > /dev/null 2>&1; then
	mkdir -p "$T/units" "$T/.run" && chmod 700 "$T/.run"
	cp "$unit" "$T/units/casevault-mount@cases.service"
	expect_exit 0 env XDG_RUNTIME_DIR="$T/.run" XDG_CONFIG_HOME="$T/units" \
		systemd-analyze --user verify --man=no "$T/units/casevault-mount@cases.service"
	check_eq "systemd-analyze verify says nothing of the unit" "" "$ERR"
else
	echo "note: no systemd-analyze: the unit is not verified"
fi

# ---- 5. the demo against the installed binary -----------------------------
start=$(date +%s)
if CASEVAULT_DEMO_BIN=$BIN bash "$TESTS_DIR/demo.sh" > "$T/.demo" 2>&1; then
	pass "tests/demo.sh with the installed binary ($(($(date +%s) - start)) s)"
else
	fail "tests/demo.sh with the installed binary: $(tail -n 5 "$T/.demo")"
fi

# ---- 6. mount.fuse.casevault -----------------------------------------------
# The installed binary is a release build: real passphrase hashing.
CASEVAULT_BIN=$BIN
unset CASEVAULT_KDF
mount_setup noy "Referral from Pakse"
expect_exit 0 cv noy put "$CODE/intake.txt" - <<< "Arrived: 2026-11-02"

fails_cleanly 2 "" "$HELPER" "$VAULT" "$MNT" -o cvuser=noy,passphrase_file="$T/noy.pass",colour=red
check_contains "an unknown option is named" "unknown mount option 'colour=red'" "$ERR"
check "nothing is mounted after a bad option" not is_mounted
fails_cleanly 2 "" "$HELPER" "$VAULT"
check_contains "a missing mount point is said" "missing VAULT or DIR" "$ERR"
expect_exit 0 "$HELPER" "$VAULT" "$MNT" -f -o cvuser=noy
check "mount -f (fake) mounts nothing" not is_mounted

# As mount(8) runs it: source, mount point, then mount(8)'s own options beside ours.
opts="rw,noauto,user,nofail,x-systemd.automount,user=$(id -un),cvuser=noy,passphrase_file=$T/noy.pass,purpose=test"
expect_exit 0 "$HELPER" "$VAULT" "$MNT" -o "$opts"
mounts=0
mounted_ok() {
	local what=$1 dir

	dir=$(find "$MNT" -mindepth 1 -maxdepth 1 -name "$CODE*" | head -n 1)
	check "$what: the case is on the mount" test -d "$dir" || return 1
	check_eq "$what: a file reads back" "Arrived: 2026-11-02" "$(cat "$dir/intake.txt")"
	MOUNT_PID=$(daemon_pid)
	umount_vault
	mounts=$((mounts + 1))
}
mounted_ok "mount.fuse.casevault -o passphrase_file="
expect_exit 0 "$HELPER" "$VAULT" "$MNT" -o "ro,cvuser=noy,passphrase_file=$T/noy.pass,purpose=test"
ro_dir=$(find "$MNT" -mindepth 1 -maxdepth 1 -name "$CODE*" | head -n 1)
check "-o ro: a new file is refused" not touch "$ro_dir/new.txt"
mounted_ok "mount.fuse.casevault -o ro"

# No terminal: the passphrase comes from systemd-ask-password, over a pipe
# (here a stand-in that prints the passphrase file, as the agent would).
mkdir -p "$T/fakebin"
printf '#!/bin/sh\necho "$*" > "%s/.asked"\ncat "%s/noy.pass"\n' "$T" "$T" > "$T/fakebin/systemd-ask-password"
chmod 755 "$T/fakebin/systemd-ask-password"
expect_exit 0 setsid -w env PATH="$T/fakebin:$PATH" "$HELPER" "$VAULT" "$MNT" -o cvuser=noy,purpose=test < /dev/null
check_contains "without a terminal, systemd-ask-password asks" "Passphrase of casevault user noy" "$(cat "$T/.asked" 2> /dev/null)"
mounted_ok "the passphrase through systemd-ask-password"
printf '#!/bin/sh\necho "Failed to query password: Permission denied" >&2\nexit 1\n' > "$T/fakebin/systemd-ask-password"
expect_exit '!0' setsid -w env PATH="$T/fakebin:$PATH" "$HELPER" "$VAULT" "$MNT" -o cvuser=noy,purpose=test < /dev/null
check_contains "a failed ask says why" "systemd-ask-password" "$ERR"
check "nothing is mounted when the ask fails" not is_mounted

if [ "$apt_installed" = 1 ]; then
	check "mount(8) finds the helper in /sbin" test -x /sbin/mount.fuse.casevault
	expect_exit 0 mount -t fuse.casevault "$VAULT" "$MNT" -o "cvuser=noy,passphrase_file=$T/noy.pass,purpose=test"
	mounted_ok "mount -t fuse.casevault"
fi
verify_ok "after the helper's mounts"
expect_exit 0 cv dpo audit log --json
printf '%s' "$OUT" > "$T/.log.json"
nmounts=$(jfield "$T/.log.json" 'o["action"]' | grep -c '^mount$')
check_eq "each of the helper's mounts is a mount event" "$mounts" "$nmounts"

if [ "$apt_installed" = 1 ]; then
	check "apt-get remove -y casevault" remove_package
	check "the binary is gone after the removal" not test -e /usr/bin/casevault
fi
finish
