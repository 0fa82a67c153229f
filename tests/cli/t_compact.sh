#!/usr/bin/env bash
# casevault compact: the vault file rewritten without its free pages.
#
#  - refused (exit 1, the hint says to unmount) while a mount has the vault
#    open, changing nothing; refused on a directory that holds no vault;
#  - a vault with 100 MiB of free pages inside (what a killed put stored,
#    collected at the next open) shrinks by them, and says so;
#  - a copy a crash left beside the vault changes nothing and goes at the
#    next compact; compact killed at any point leaves a vault that opens
#    and verifies;
#  - a command started while compact runs waits for it and works;
#  - every acknowledged document reads back and `audit verify` passes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mount_lib.sh"

require_fuse

size_of() {
	stat -c %s "$VAULT/data.mdb"
}

mib() {
	echo $(($1 / 1024 / 1024))
}

# ---- failures first ---------------------------------------------------------
mkdir -p "$T/empty"
expect_exit 1 cvbare --vault "$T/empty" compact
expect_err_hint "no vault at"
check "no lock file is made in a directory that holds no vault" test ! -e "$T/empty/lock.mdb"
expect_exit 2 cvbare --vault "$T/empty" compact extra

mount_setup noy "compact test"
rand_file "$T/.keep" $((3 * 1024 * 1024 + 7))
expect_exit 0 cv noy put "$CODE/keep.bin" "$T/.keep" || finish
mount_vault noy || finish
SNAP_USER=noy
SNAP_LS=$CODE
fails_cleanly 1 "is open in another process" cvbare --vault "$VAULT" compact
check_contains "the hint says to unmount" "umount" "$ERR"
umount_vault

# ---- free pages inside the file: a killed put's blocks, collected -----------
rand_file "$T/.big" $((100 * 1024 * 1024))
"$CASEVAULT_BIN" --vault "$VAULT" --user noy --passphrase-file "$T/noy.pass" \
	put "$CODE/big.bin" "$T/.big" 2> /dev/null &
pid=$!
for _ in $(seq 400); do
	[ "$(size_of)" -gt $((80 * 1024 * 1024)) ] && break
	sleep 0.025
done
kill -KILL "$pid"
wait "$pid" 2> /dev/null
expect_exit 0 cv noy ls "$CODE" --purpose test     # collects the killed put's blocks
before=$(size_of)
check "the file holds the killed put's pages ($(mib "$before") MiB)" test "$before" -gt $((80 * 1024 * 1024))
expect_exit 0 cvbare --vault "$VAULT" compact
after=$(size_of)
check_match "compact says what it gained" \
	'^compacted: [0-9.]+ [KM]iB -> [0-9.]+ [KM]iB, [0-9.]+ [KM]iB freed$' "${OUT%$'\n'}"
check "the file shrank by the free pages ($(mib "$before") MiB -> $(mib "$after") MiB)" \
	test "$after" -lt $((before - 70 * 1024 * 1024))
check "no copy is left beside it" test ! -e "$VAULT/data.mdb.compact"
check_eq "the file keeps its mode" 600 "$(stat -c %a "$VAULT/data.mdb")"
expect_exit 0 cv noy get "$CODE/keep.bin" -o "$T/.keep.out" --force --purpose test
check_eq "the document reads back after compact" "$(sha_of "$T/.keep")" "$(sha_of "$T/.keep.out")"
verify_ok "after compact"

# ---- a crash: a copy left beside the vault, compact killed -----------------
head -c 100000 /dev/urandom > "$VAULT/data.mdb.compact"
expect_exit 0 cv noy ls "$CODE" --purpose test
check_contains "a copy a crash left changes nothing" "keep.bin" "$OUT"
expect_exit 0 cvbare --vault "$VAULT" compact
check "the next compact removes it" test ! -e "$VAULT/data.mdb.compact"
rand_file "$T/.more" $((20 * 1024 * 1024))
expect_exit 0 cv noy put "$CODE/more.bin" "$T/.more"
for delay in 0.005 0.02 0.05 0.1 0.2; do
	cvbare --vault "$VAULT" compact > /dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	kill -KILL "$pid" 2> /dev/null
	wait "$pid" 2> /dev/null
	expect_exit 0 cv noy get "$CODE/more.bin" -o "$T/.more.out" --force --purpose test
	check_eq "compact killed after ${delay}s: the vault opens and reads" \
		"$(sha_of "$T/.more")" "$(sha_of "$T/.more.out")"
done
verify_ok "after compacts killed"

# ---- a command started meanwhile waits -------------------------------------
cvbare --vault "$VAULT" compact > "$T/.compact.out" 2>&1 &
pid=$!
sleep 0.01
expect_exit 0 cv noy get "$CODE/more.bin" -o "$T/.more.out" --force --purpose test
check "compact beside a command succeeds" wait "$pid"
check_eq "the command beside it reads" "$(sha_of "$T/.more")" "$(sha_of "$T/.more.out")"
expect_exit 0 cv noy put "$CODE/after.bin" "$T/.keep"
expect_exit 0 cv noy get "$CODE/keep.bin" -o "$T/.keep.out" --force --purpose test
check_eq "the first document reads back at the end" "$(sha_of "$T/.keep")" "$(sha_of "$T/.keep.out")"
verify_ok "at the end"
finish
