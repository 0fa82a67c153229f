#!/usr/bin/env bash
# No leaked space: what a write stored ahead of its version, and that no
# version names, is collected once the write is known to be dead.
#
#  - a CLI `put` of 100 MiB killed in the middle: its blocks stay in the
#    `blocks` table until the next command opens the vault, which collects
#    them (the count of records is back to what the versions name);
#  - the mount daemon killed while a file of 100 MiB is written: the same;
#  - a killed write of a new generation (after a revocation) leaves its
#    node key too: collected, `audit verify` passes, the file takes writes;
#  - the mount daemon killed while it closes a file of 100 MiB: the file is
#    recorded whole, or nothing of it stays;
#  - a mount that is writing a large file (a process alive) keeps what it
#    staged while another command opens the vault, and its file reads back;
#  - then a put of the same name works, every acknowledged document reads
#    back and `audit verify` passes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mount_lib.sh"

require_fuse

blocks() {
	mdb_stat -s blocks "$VAULT" | awk '/Entries:/ { print $2 }'
}

# Wait until the `blocks` table holds more than $1 records (10 s at most).
wait_blocks_above() {
	for _ in $(seq 400); do
		[ "$(blocks)" -gt "$1" ] && return 0
		sleep 0.025
	done
	return 1
}

mount_setup noy "gc test"
rand_file "$T/.keep" $((1024 * 1024 + 5))
expect_exit 0 cv noy put "$CODE/keep.bin" "$T/.keep" || finish
base=$(blocks)
check_eq "a file of 1 MiB and 5 bytes is 17 blocks" 17 "$base"
rand_file "$T/.big" $((100 * 1024 * 1024))

# killed_put PATH: a put of $T/.big killed once 256 blocks are stored
# ahead of its version. The binary itself runs in the background (not a
# shell around it), so that it is what is killed.
killed_put() {
	local before pid

	before=$(blocks)
	"$CASEVAULT_BIN" --vault "$VAULT" --user noy --passphrase-file "$T/noy.pass" \
		put "$1" "$T/.big" 2> /dev/null &
	pid=$!
	check "the put of $1 stores chunks ahead of its version" wait_blocks_above $((before + 256))
	kill -KILL "$pid"
	wait "$pid" 2> /dev/null
}

# kill_mount PID: SIGKILL to the mount daemon; then PID (what wrote on the
# mount) is waited for, the daemon's end too, and the mount point freed.
kill_mount() {
	kill -KILL "$MOUNT_PID"
	wait "$1" 2> /dev/null
	for _ in $(seq 100); do
		alive "$MOUNT_PID" || break
		sleep 0.05
	done
	fusermount3 -u -z "$MNT" 2> /dev/null
	MOUNT_PID=
}

# ---- a put killed in the middle ---------------------------------------
killed_put "$CODE/big.bin"
left=$(blocks)
check "the killed put left blocks behind ($left records)" test "$left" -gt $((base + 256))
expect_exit 0 cv noy ls "$CODE" --purpose test
check_not_contains "the killed put stored no version" "big.bin" "$OUT"
check_eq "the next open collected them" "$base" "$(blocks)"
verify_ok "after a killed put"

# ---- a killed write that had started a new generation of a file ---------
# After a revocation the case has a new epoch: the next write of keep.bin
# starts a new generation, whose node key goes with its first chunk. Left
# behind, that key would change the node's `keys` line (verify fails) and
# block every later write of the file (its generation is taken).
nodekeys() {
	mdb_stat -s nodekeys "$VAULT" | awk '/Entries:/ { print $2 }'
}
mkpass ana
add_user dpo ana caseworker || finish
expect_exit 0 cv dpo case grant "$CODE" ana
expect_exit 0 cv dpo case revoke "$CODE" ana
expect_exit 0 cv noy ls "$CODE" --purpose test
keys=$(nodekeys)
killed_put "$CODE/keep.bin"
check "the killed write stored its generation's key" test "$(nodekeys)" -gt "$keys"
verify_ok "after a killed write of a new generation"
check_eq "the key is collected" "$keys" "$(nodekeys)"
check_eq "and the blocks" "$base" "$(blocks)"
rand_file "$T/.keep" $((1024 * 1024 + 5))
expect_exit 0 cv noy put "$CODE/keep.bin" "$T/.keep"
base=$(blocks)

# ---- the mount daemon killed in the middle of a write -------------------
mount_vault noy || finish
before=$(blocks)
dd if="$T/.big" of="$CASEDIR/big2.bin" bs=1M status=none 2> /dev/null &
dd_pid=$!
check "the mount stores chunks ahead of the version" wait_blocks_above $((before + 256))
kill_mount "$dd_pid"
left=$(blocks)
check "the killed mount left blocks behind ($left records)" test "$left" -gt $((before + 256))
expect_exit 0 cv noy ls "$CODE" --purpose test
check_eq "the next open collected them" "$base" "$(blocks)"
verify_ok "after a killed mount"

# ---- a live writer's chunks are kept ------------------------------------
mount_vault noy || finish
mkfifo "$T/.go"
python3 - "$CASEDIR/slow.bin" "$T/.big" "$T/.go" << 'EOF' &
import sys
dst, src, go = sys.argv[1:4]
data = open(src, "rb").read(40 << 20)
with open(dst, "wb") as f:
    f.write(data[:20 << 20])
    open(go).read()              # until the test says so
    f.write(data[20 << 20:])
EOF
py_pid=$!
check "the mount stores chunks of the open file" wait_blocks_above $((base + 200))
staged=$(blocks)
expect_exit 0 cv noy ls "$CODE" --purpose test
check "another process's open keeps a live write's chunks" test "$(blocks)" -ge "$staged"
echo go > "$T/.go"
check "the slow write completes" wait "$py_pid"
umount_vault
head -c $((40 << 20)) "$T/.big" > "$T/.slow"
expect_exit 0 cv noy get "$CODE/slow.bin" -o "$T/.slow.out" --purpose test
check_eq "the slow file reads back" "$(sha_of "$T/.slow")" "$(sha_of "$T/.slow.out")"

# ---- the mount daemon killed while it closes a file ----------------------
# 100 MiB written and held open; the close (which stores the last chunks
# and records the version) is asked for, and the daemon killed 50 ms on.
# Either the version was recorded, and the file reads back whole, or not,
# and nothing of it stays.
mount_vault noy || finish
before=$(blocks)
python3 - "$CASEDIR/closing.bin" "$T/.big" "$T/.go2" << 'EOF2' &
import os, sys
dst, src, go = sys.argv[1:4]
fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with open(src, "rb") as f:
    while True:
        b = f.read(1 << 20)
        if not b:
            break
        os.write(fd, b)
open(go, "w").close()
try:
    os.close(fd)
except OSError:
    pass
EOF2
py_pid=$!
for _ in $(seq 400); do
	[ -e "$T/.go2" ] && break
	sleep 0.025
done
sleep 0.05
kill_mount "$py_pid"
expect_exit 0 cv noy ls "$CODE" --purpose test
after=$(blocks)
if [[ "$OUT" == *closing.bin* ]]; then
	check_eq "the close was recorded: its blocks are the version's" $((before + 1600)) "$after"
	expect_exit 0 cv noy get "$CODE/closing.bin" -o "$T/.closing" --purpose test
	check_eq "the closed file reads back" "$(sha_of "$T/.big")" "$(sha_of "$T/.closing")"
else
	check_eq "the close was not recorded: nothing of it stays" "$before" "$after"
fi
verify_ok "after a mount killed in a close"

# ---- everything acknowledged reads back ----------------------------------
expect_exit 0 cv noy put "$CODE/big.bin" "$T/.big"
expect_exit 0 cv noy get "$CODE/big.bin" -o "$T/.big.out" --purpose test
check_eq "a put of the killed put's name works" "$(sha_of "$T/.big")" "$(sha_of "$T/.big.out")"
expect_exit 0 cv noy get "$CODE/keep.bin" -o "$T/.keep.out" --purpose test
check_eq "the first document reads back" "$(sha_of "$T/.keep")" "$(sha_of "$T/.keep.out")"
verify_ok "at the end"
finish
