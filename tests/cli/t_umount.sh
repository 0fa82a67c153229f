#!/usr/bin/env bash
# What `casevault umount` says when it cannot unmount, and --force: a mount
# in use names the processes (a shell working in it, a program holding a
# file open for writing), stays mounted and keeps its file; --force detaches
# it all the same, names them, and the daemon ends (its keys wiped, an
# `unmount` event); a mount detached by `fusermount3 -u -z` ends its daemon
# too; a mount whose daemon was killed is unmounted; another user's mount
# is refused (run as root: the check runs as nobody). Needs /dev/fuse and
# fusermount3 (skipped without them, failed under CI=true).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mount_lib.sh"
require_fuse

mount_setup noy "umount"
printf 'a document\n' > "$T/doc.txt"
expect_exit 0 cv noy put "$CODE/doc.txt" "$T/doc.txt"

# gone_within SECS: $MNT unmounted and its daemon exited within SECS s.
gone_within() {
	local n=$(($1 * 10))

	while [ "$n" -gt 0 ]; do
		! is_mounted && ! alive "$MOUNT_PID" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

nev() {
	cv dpo audit log --action "$1" 2> /dev/null | grep -c " $1 "
}

# --- usage and what is not ours -----------------------------------------------
expect_exit 2 cvbare umount --bogus "$MNT"
expect_exit 2 cvbare umount
mkdir -p "$T/plain"
expect_exit 1 cvbare umount "$T/plain"
expect_err_hint "cannot unmount '$T/plain': it is not a mount point"
expect_exit 1 cvbare umount "$T/missing"
expect_err_hint "cannot unmount '$T/missing'"

# --- busy: named, refused, nothing lost ----------------------------------------
mount_vault noy || finish
(cd "$CASEDIR" && exec sleep 60) &
in_dir=$!
# A program with a file open for writing and changes not yet saved.
bash -c 'exec 3> "$1/draft.txt"; printf "draft\n" >&3; exec sleep 60' holder "$CASEDIR" &
writer=$!
sleep 0.5
expect_exit 1 cvbare umount "$MNT"
expect_err_hint "cannot unmount '$MNT': it is busy: in use by"
check_contains "the shell working in it is named" "$in_dir (sleep)" "$ERR"
check_contains "the program with a file open is named" "$writer (sleep)" "$ERR"
check_contains "the hint offers --force" "umount --force" "$ERR"
check "still mounted while busy" is_mounted
check "its daemon runs" alive "$MOUNT_PID"
expect_exit 1 cvbare umount "$CASEDIR"
expect_err_hint "it is not a mount point"
check "a folder inside is not the mount: still mounted" is_mounted

# --- --force: detached, the daemon ends, an unmount event ----------------------
unmounts=$(nev unmount)
expect_exit 0 cvbare umount --force "$MNT"
check_contains "--force names who was inside" "$in_dir (sleep)" "$ERR"
check_contains "... and what they now get" "Transport endpoint is not connected" "$ERR"
check "not mounted after --force" not is_mounted
check "the daemon ends within 3 s (its keys wiped with it)" gone_within 3
check_eq "--force records one unmount event" $((unmounts + 1)) "$(nev unmount)"
check "the shell inside now gets ENOTCONN" not ls "/proc/$in_dir/cwd/" 2> /dev/null
kill "$in_dir" "$writer" 2> /dev/null
wait "$in_dir" "$writer" 2> /dev/null
verify_ok "after umount --force"

# --- a mount detached by fusermount3 -u -z ends its daemon ---------------------
mount_vault noy || finish
sleep 60 < "$CASEDIR/doc.txt" &
reader=$!
sleep 0.3
check "fusermount3 -u -z of a busy mount" fusermount3 -u -z "$MNT"
check "the daemon of a detached mount ends within 3 s" gone_within 3
kill "$reader" 2> /dev/null
wait "$reader" 2> /dev/null
check_eq "the detached mount records its unmount event" $((unmounts + 2)) "$(nev unmount)"

# --- a mount whose daemon was killed -------------------------------------------
mount_vault noy || finish
kill -KILL "$MOUNT_PID"
for _ in $(seq 30); do alive "$MOUNT_PID" || break; sleep 0.1; done
check "its mount stays, dead" is_mounted
expect_exit 0 cvbare umount "$MNT"
check "umount removes the dead mount" not is_mounted

# --- another user's mount -------------------------------------------------------
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
	mount_vault noy || finish
	chmod 755 "$T"
	cp "$CASEVAULT_BIN" "$T/cvbin" && chmod 755 "$T/cvbin"
	expect_exit 1 setpriv --reuid=65534 --regid=65534 --clear-groups "$T/cvbin" umount "$MNT"
	expect_err_hint "cannot unmount '$MNT': it is root's mount (uid 0), not yours"
	check "another user's umount leaves it mounted" is_mounted
	chmod 700 "$T"
	umount_vault
else
	echo "note: not root: another user's mount is not tried"
fi

verify_ok "at the end"
finish
