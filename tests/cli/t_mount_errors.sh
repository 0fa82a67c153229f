#!/usr/bin/env bash
# What `mount` and `umount` say when they cannot do it: a folder that is a
# mount point already (ours or another file system), a folder that is not
# a mount point, and a mount still in use (the processes that use it are
# named). Needs /dev/fuse and fusermount3 (skipped without them, failed
# under CI=true).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mount_lib.sh"
require_fuse

mount_setup noy "mount errors"
printf 'held open\n' > "$T/doc.txt"
expect_exit 0 cv noy put "$CODE/doc.txt" "$T/doc.txt"
mount_vault noy || finish

# --- mount on a mount point ---------------------------------------------------
expect_exit 1 cv noy mount "$MNT"
expect_err_hint "it is a casevault mount already"
check_contains "the hint says to unmount it first" "casevault umount" "$ERR"
check_not_contains "it is not called 'not empty'" "not empty" "$ERR"

mkdir -p "$T/tmpfs"
if mount -t tmpfs casevault-test "$T/tmpfs" 2> /dev/null; then
	expect_exit 1 cv noy mount "$T/tmpfs"
	expect_err_hint "it is a mount point already (tmpfs)"
	expect_exit 1 cvbare umount "$T/tmpfs"
	expect_err_hint "it is a tmpfs mount, not a casevault one"
	check "the tmpfs stays mounted" mountpoint -q "$T/tmpfs"
	umount "$T/tmpfs"
else
	echo "note: cannot mount a tmpfs here (not root?): that part is not run"
fi

# --- umount of what is not a mount --------------------------------------------
mkdir -p "$T/plain"
expect_exit 1 cvbare umount "$T/plain"
expect_err_hint "it is not a mount point"

# --- umount of a mount in use -------------------------------------------------
# One process works in a folder of the mount, another holds a file open.
(cd "$CASEDIR" && exec sleep 60) &
in_dir=$!
sleep 60 < "$CASEDIR/doc.txt" &
with_file=$!
sleep 0.3
expect_exit 1 cvbare umount "$MNT"
expect_err_hint "it is busy"
check_contains "the process in the folder is named" "$in_dir (sleep)" "$ERR"
check_contains "the process with the file open is named" "$with_file (sleep)" "$ERR"
check_not_contains "it is not called 'not a casevault mount'" "check that DIR" "$ERR"
check "still mounted while busy" is_mounted
kill "$in_dir" "$with_file"
wait "$in_dir" "$with_file" 2> /dev/null
umount_vault

finish
