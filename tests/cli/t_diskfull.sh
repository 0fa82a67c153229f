#!/usr/bin/env bash
# A full disk loses nothing. The vault lives on a 96 MiB tmpfs (root only:
# skipped otherwise). Filled up: put and get fail (exit 1) with "cannot
# record the event: the disk holding the vault is full", reads saying that
# they are recorded too (in Lao, all of it in Lao), and change nothing; the mount answers ENOSPC to a
# write and EIO to an open that reads, and keeps running. A put larger than
# what is left fails the same way in the middle of its writes, and deletes
# the chunks it had stored, on the full disk. Once space
# is freed, the CLI and the mount work again, every acknowledged document
# reads back, and `audit verify` passes. compact with no room for its copy
# is refused and changes nothing.
# The catalogs the build compiled, beside the binary (lib.sh copies the binary).
locales=$(cd "$(dirname "${CASEVAULT_BIN:-$(dirname "$0")/../../build/casevault}")" && pwd)/locale
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mount_lib.sh"

# in_lao CMD...: CMD in a Lao locale.
in_lao() {
	(unset LC_ALL LANGUAGE; export LANG=lo_LA.UTF-8 CASEVAULT_LOCALEDIR=$locales; "$@")
}

[ "$(id -u)" = 0 ] || skip "mounting a small tmpfs needs root"
require_fuse
SMALL=$T/small
mkdir -p "$SMALL"
mount -t tmpfs -o size=96m,mode=0700 tmpfs "$SMALL" || skip "cannot mount a tmpfs"
_small_exit() {
	local rc=$?

	# The mount first (its daemon holds the vault open), then the tmpfs.
	if is_mounted; then
		fusermount3 -u -z "$MNT" 2> /dev/null
		sleep 0.5
	fi
	umount -l "$SMALL" 2> /dev/null
	(exit "$rc")
	_mount_exit
}
trap _small_exit EXIT
VAULT=$SMALL/vault

free_bytes() {
	df --output=avail -B1 "$SMALL" | tail -n 1 | tr -d ' '
}

# Fill the tmpfs, leaving $1 bytes free.
fill_leaving() {
	local free

	rm -f "$SMALL/filler"
	free=$(free_bytes)
	fallocate -l $((free - $1)) "$SMALL/filler"
}

# $1: a path on the mount; prints the errno name of opening it ($2: r or w)
# and reading or writing it, or "ok".
try_open() {
	python3 - "$1" "$2" << 'EOF'
import errno, sys
path, mode = sys.argv[1], sys.argv[2]
step = "open"
try:
    if mode == "r":
        with open(path, "rb") as f:
            step = "read"
            f.read()
            step = "close"
    else:
        with open(path, "wb") as f:
            step = "write"
            f.write(b"x" * 1000)
            step = "close"
    print("ok")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
    print("%s: %s" % (step, e), file=sys.stderr)
EOF
}

mount_setup noy "Full disk"
head -c 300000 /dev/urandom > "$T/a.bin"
expect_exit 0 cv noy put "$CODE/a.bin" "$T/a.bin" || finish
mount_vault noy || finish
check "the mount reads a.bin" cmp -s "$CASEDIR/a.bin" "$T/a.bin"

# 1. The disk full.
fill_leaving 0
SNAP_USER=noy
SNAP_LS=$CODE
head -c 1000 /dev/urandom > "$T/b.bin"
fails_cleanly 1 "cannot record the event: the disk holding the vault is full" cv noy put "$CODE/b.bin" "$T/b.bin"
check_contains "the hint says to free space" "free space on the disk holding the vault" "$ERR"
fails_cleanly 1 "reads are recorded too, so no document can be read until space is freed" \
	cv noy get --purpose test "$CODE/a.bin"
check_contains "a get says the disk is full" "the disk holding the vault is full" "$ERR"
# A caseworker reading Lao reads the whole of it in Lao (the build's catalogs).
fails_cleanly 1 "ບໍ່ສາມາດບັນທຶກເຫດການໄດ້: ດິສກ໌ທີ່ເກັບຄັງຂໍ້ມູນເຕັມແລ້ວ" \
	in_lao cv noy get --purpose test "$CODE/a.bin"
check_contains "... and that reads are recorded too, in Lao" "ການອ່ານກໍ່ຖືກບັນທຶກເຊັ່ນກັນ" "$ERR"
check_eq "the mount: a write gets ENOSPC (at its close)" ENOSPC "$(try_open "$CASEDIR/c.bin" w 2> "$T/.step")"
check_contains "the mount: the write's close got ENOSPC" "close:" "$(cat "$T/.step")"
check_eq "the mount: an open that reads gets EIO" EIO "$(try_open "$CASEDIR/a.bin" r 2> "$T/.step")"
check_contains "the mount: the open got EIO" "open:" "$(cat "$T/.step")"
check "the mount daemon still runs" alive "$(daemon_pid)"

# 2. Some room, less than a document needs: the put fails in its writes.
fill_leaving $((24 << 20))
head -c $((40 << 20)) /dev/urandom > "$T/big.bin"
blocks=$(mdb_stat -s blocks "$VAULT" | awk '/Entries:/ { print $2 }')
expect_exit 1 cv noy put "$CODE/big.bin" "$T/big.bin"
expect_err_hint "the disk holding the vault is full"
check "a failed put leaves no document" not cmp -s "$CASEDIR/big.bin" "$T/big.bin"
check_eq "a failed put leaves no block it stored (deleted on the full disk)" "$blocks" \
	"$(mdb_stat -s blocks "$VAULT" | awk '/Entries:/ { print $2 }')"

# 3. Space freed: everything works again.
rm -f "$SMALL/filler"
check_eq "the mount: a write works again" ok "$(try_open "$CASEDIR/d.bin" w)"
# c.bin: its open worked and its close got ENOSPC (the mount records a new
# file at close), so the kernel holds its name as a file for the mount's
# entry timeout (1 s), and an open within it is not a create (ENOENT).
sleep 1.2
r=$(try_open "$CASEDIR/c.bin" w)
check_eq "the mount: a write works again (the name that failed)" ok "$r"
check "the mount reads a.bin again" cmp -s "$CASEDIR/a.bin" "$T/a.bin"
expect_exit 0 cv noy put "$CODE/b.bin" "$T/b.bin"
expect_exit 0 cv noy get --purpose test "$CODE/a.bin" -o "$T/.got"
check "a.bin reads back through the CLI" cmp -s "$T/.got" "$T/a.bin"
expect_exit 0 cv noy get --purpose test "$CODE/b.bin" -o "$T/.got" --force
check "b.bin reads back" cmp -s "$T/.got" "$T/b.bin"
umount_vault
verify_ok "after the disk was full"

# 4. compact with no room for its copy: refused, nothing changes.
fill_leaving $((64 << 10))
sum=$(sha_of "$VAULT/data.mdb")
expect_exit 1 cvbare --vault "$VAULT" compact
expect_err_hint "no room for its copy"
check "compact on a full disk leaves no copy" test ! -e "$VAULT/data.mdb.compact"
check_eq "compact on a full disk leaves the vault file as it was" "$sum" "$(sha_of "$VAULT/data.mdb")"
rm -f "$SMALL/filler"
expect_exit 0 cvbare --vault "$VAULT" compact
verify_ok "after compact"
finish
