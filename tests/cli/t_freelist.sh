#!/usr/bin/env bash
# A list of free pages that names a page in use (a flipped bit, or an
# edit): the next write would overwrite that page, and the harm would show
# later, as a record that cannot be read. `audit verify` accounts for every
# page of the file, so it fails (exit 3) before and after a write has
# reused the page, naming it; an honest command meanwhile never crashes.
. "$(dirname "$0")/lib.sh"

mkpass dpo
mkpass noy
mkpass aud
expect_exit 0 cv dpo init --admin dpo
add_user dpo noy caseworker
add_user dpo aud auditor
expect_exit 0 cv noy case create --label "Free pages"
code=${OUT%$'\n'}
for i in 1 2 3 4 5 6; do
	rand_file "$T/doc$i" $((i * 3000))
	expect_exit 0 cv noy put "$code/doc$i.bin" "$T/doc$i"
done
expect_exit 0 cv noy get "$code/doc1.bin" -o "$T/out1" --purpose check
expect_exit 0 cv aud audit verify
cp "$VAULT/data.mdb" "$T/good.mdb"

# ---- a free page swapped for one in use -----------------------------------
pair=$(python3 "$TESTS_DIR/cli/freelist.py" "$VAULT/data.mdb") || skip "no free list to edit"
used=${pair#* }
expect_exit 3 cv aud audit verify
check_contains "the hint says to restore from a backup" "hint: restore the vault from a backup" "$ERR"
check_contains "verify names the page listed free while in use" \
	"page $used is listed free while in use" "$ERR"

# The honest user's next commands: a read is an event, whose write may
# take the page; each ends cleanly (0, or 3 for the damage), never a signal.
for i in 2 3 4; do
	cv noy get "$code/doc$i.bin" -o "$T/out$i" --force --purpose check 2> "$ERRF"
	RC=$?
	check "get doc$i exits 0 or 3 (got $RC)" test "$RC" -eq 0 -o "$RC" -eq 3
	if [ "$RC" -eq 0 ]; then
		check "doc$i reads back as written" cmp -s "$T/doc$i" "$T/out$i"
	fi
done
# Whatever the writes did, the damage stays found: the page still listed
# free, or, once a write took it, the value it began overwritten.
expect_exit 3 cv aud audit verify
check_match "verify still reports the page" \
	"page [0-9]+ (is listed free while in use|is used twice|is neither in use nor listed free|is not the first page of the value that names it)" "$ERR"

# ---- the same vault, undamaged, verifies ------------------------------------
cp "$T/good.mdb" "$VAULT/data.mdb"
expect_exit 0 cv aud audit verify
finish
