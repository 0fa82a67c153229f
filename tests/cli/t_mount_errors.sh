#!/usr/bin/env bash
# What `mount` and `umount` say when they cannot do it: a folder that is a
# mount point already (ours or another file system), a folder that is not
# a mount point, and a mount still in use (the processes that use it are
# named); and a case record damaged by an insider, which the mount answers
# with EIO, not as a key still to come. Needs /dev/fuse and fusermount3 (skipped without them, failed
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

# --- a damaged case record on the mount: EIO, not "no key yet" ---------------
# An insider deletes noy's sealed key and edits the case record (sealed
# again under the index key): a member whose key is missing looks like one
# whose key is still pending. The signed history tells them apart: the
# record does not match it, so the mount answers EIO (damage), as the CLI
# exits 3, where it used to answer EACCES (not delivered yet).
edit() { "$RAWREC_BIN" "$VAULT" dpo "$T/dpo.pass" "$@"; }
check "noy's sealed key deleted" edit delete sealed "$CODE/$(printf '%08x' 1)/noy"
check "the case record edited" edit flip-sealed cases "$CODE" -23
fails_cleanly 3 "does not match the signed history" cv noy get --purpose test "$CODE/doc.txt"
expect_exit 0 cv noy mount --purpose test "$MNT"
MOUNT_PID=$(daemon_pid)
for _ in $(seq 100); do is_mounted && break; sleep 0.05; done
CASEDIR=$MNT/$(ls "$MNT" 2> /dev/null | grep "^$CODE" | head -n 1)
err=$(python3 -c 'import os, sys
try:
    os.listdir(sys.argv[1]); print("listed")
except OSError as e:
    import errno; print(errno.errorcode[e.errno])' "$CASEDIR")
check_eq "the damaged case's folder answers EIO" EIO "$err"
check "the daemon still runs" alive "$MOUNT_PID"
umount_vault

finish
