#!/usr/bin/env bash
# The organisation's recovery, M of N custodians: the setup and its bad
# inputs; every case's key split into shares by its member's next session;
# `recovery status`; a changed custodian set split again; a share planted
# for someone else or dropped from the file is found.
. "$(dirname "$0")/lib.sh"

for u in dpo aud alice bob carol dave erin; do mkpass "$u"; done
expect_exit 0 cv dpo init --admin dpo
add_user dpo aud auditor
for u in alice bob carol dave; do add_user dpo "$u" caseworker; done
mkpass pat
expect_exit 0 cv dpo user add pat --role caseworker --code-file "$T/.pat.code"
expect_exit 0 cv alice case create --label "Recovery test"
code=${OUT%$'\n'}
printf 'intake of a victim\n' > "$T/doc"
expect_exit 0 cv alice put "$code/intake.txt" "$T/doc"

# ---- bad inputs: nothing recorded -------------------------------------
SNAP_USER=alice SNAP_LS=$code
snapshot
fails_cleanly 4 "admin" cv alice recovery setup --custodians bob,carol,dave --threshold 2
fails_cleanly 2 "threshold 1" cv dpo recovery setup --custodians bob,carol,dave --threshold 1
fails_cleanly 2 "threshold 4" cv dpo recovery setup --custodians bob,carol,dave --threshold 4
fails_cleanly 2 "named twice" cv dpo recovery setup --custodians bob,carol,bob --threshold 2
fails_cleanly 2 "pending" cv dpo recovery setup --custodians bob,carol,pat --threshold 2
fails_cleanly 1 "'nobody'" cv dpo recovery setup --custodians bob,carol,nobody --threshold 2
fails_cleanly 2 "--threshold" cv dpo recovery setup --custodians bob,carol,dave
fails_cleanly 2 "not a number" cv dpo recovery setup --custodians bob,carol,dave --threshold x
fails_cleanly 4 "admins and auditors" cv alice recovery status
expect_unchanged "refused setups record nothing"
expect_exit 0 cv dpo recovery status
check_contains "no recovery yet" "no recovery" "$OUT"

# ---- setup; the member's next session splits ---------------------------
# Custodians of any role: the auditor and the admin among them.
expect_exit 0 cv dpo recovery setup --custodians dpo,aud,bob,carol --threshold 3
expect_exit 0 cv aud recovery status
check_contains "not covered before a member's session" "$code  not covered: no shares yet" "$OUT"
check_contains "the set" "threshold 3 of 4 custodians: aud bob carol dpo" "$OUT"
expect_exit 0 cv alice ls --purpose care
expect_exit 0 cv aud recovery status --json
json_ok "$OUTF" "o['covered'] is True"
expect_exit 0 cv aud audit log --action recovery-split
check_contains "the split is an event of the member" "recovery-split" "$OUT"
check_contains "... by alice" "alice" "$OUT"
n=$(cv aud audit log --action recovery-split | grep -c recovery-split)
expect_exit 0 cv alice ls --purpose care
check_eq "a covered case is not split again" "$n" "$(cv aud audit log --action recovery-split | grep -c recovery-split)"
expect_exit 0 cv aud audit verify

# ---- a custodian leaves: split again -----------------------------------
expect_exit 0 cv dpo recovery setup --custodians aud,bob,dave --threshold 2
expect_exit 0 cv dpo recovery status
check_contains "a new set uncovers the case" "not covered: shares for other custodians" "$OUT"
expect_exit 0 cv alice ls --purpose care
expect_exit 0 cv dpo recovery status
check_contains "covered again" "$code  covered" "$OUT"
expect_exit 0 cv aud audit verify
# A custodian who changes their key gets a share under the new one.
expect_exit 0 cv bob user passwd --new-passphrase-file <(printf 'fresh amber willow 4711\n')
mkpass bob 'fresh amber willow 4711'
expect_exit 0 cv dpo recovery status
check_contains "a custodian's new key uncovers" "no share for custodian 'bob'" "$OUT"
expect_exit 0 cv alice ls --purpose care
expect_exit 0 cv dpo recovery status
check_contains "covered under bob's new key" "$code  covered" "$OUT"
expect_exit 0 cv aud audit verify

# ---- the file edited ---------------------------------------------------
rawrec() {  # DIR COMMAND ARGS...
	local dir=$1
	shift
	"$RAWREC_BIN" "$dir" dpo "$T/dpo.pass" "$@"
}
epoch=$(printf '%08x' 1)
# A share planted for a non-custodian (carol left the set).
cp -a "$VAULT" "$T/copy"
rawrec "$T/copy" move sealed "@share/$code/$epoch/bob" "@share/$code/$epoch/carol"
expect_exit 3 cvbare --vault "$T/copy" --user aud --passphrase-file "$T/aud.pass" audit verify
check_contains "verify: the case's file differs" "policy/cases/$code" "$ERR"
rm -rf "$T/copy"
# A custodian's share dropped.
cp -a "$VAULT" "$T/copy"
rawrec "$T/copy" delete sealed "@share/$code/$epoch/dave"
expect_exit 3 cvbare --vault "$T/copy" --user aud --passphrase-file "$T/aud.pass" audit verify
check_contains "verify: a dropped share" "policy/cases/$code" "$ERR"
rm -rf "$T/copy"

expect_exit 0 cv aud audit verify
finish
