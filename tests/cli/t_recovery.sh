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

# ---- the whole procedure: a case whose only member is gone --------------
mkpass noy
mkpass ana
add_user dpo noy caseworker
add_user dpo ana caseworker
expect_exit 0 cv noy case create --label "Only noy"
solo=${OUT%$'\n'}
printf 'first statement\n' > "$T/v1"
printf 'second statement, corrected\n' > "$T/v2"
expect_exit 0 cv noy put "$solo/statement.txt" "$T/v1"
# A case not covered keeps its last member: disabling noy is refused.
expect_exit 0 cv dpo recovery setup --custodians aud,bob,carol,dave --threshold 3
fails_cleanly 1 "last member of case '$solo'" cv dpo user disable noy
check_contains "the hint names the recovery" "recovery status" "$ERR"
expect_exit 0 cv noy put "$solo/statement.txt" "$T/v2"     # noy's session covers it
expect_exit 0 cv dpo recovery status
check_contains "noy's case is covered" "$solo  covered" "$OUT"
# noy lost their passphrase: disabled, the case is left to no member.
expect_exit 0 cv dpo user disable noy
expect_exit 0 cv dpo recovery status
check_contains "the retired case stays covered" "$solo  covered" "$OUT"

# Requests: an admin's; bad ones refused, nothing recorded.
SNAP_USER=aud SNAP_LS=
snapshot
fails_cleanly 4 "admin" cv bob recovery request "$solo" ana --reason "noy left"
fails_cleanly 2 "--reason" cv dpo recovery request "$solo" ana
fails_cleanly 2 "caseworker only" cv dpo recovery request "$solo" aud --reason "noy left"
fails_cleanly 2 "member of case" cv dpo recovery request "$code" alice --reason "test"
fails_cleanly 2 "disabled" cv dpo recovery request "$solo" noy --reason "noy left"
expect_unchanged "refused requests record nothing"
expect_exit 0 cv dpo recovery request "$solo" ana --reason "noy left the organisation; ana takes over"
req=${OUT%$'\n'}
check_match "a request id" '^R-[0-9A-Z]{8}$' "$req"
fails_cleanly 1 "open already" cv dpo recovery request "$solo" ana --reason "again"
expect_exit 0 cv bob recovery list
check_contains "the custodian sees it" "$req  $solo  for ana  0 of 3 approvals" "$OUT"
fails_cleanly 4 "custodians" cv ana recovery list

# Approvals: custodians only, once each.
snapshot
fails_cleanly 4 "no share" cv alice recovery approve "$req"
fails_cleanly 2 "not a recovery request" cv bob recovery approve "X-1"
fails_cleanly 1 "does not exist" cv bob recovery approve R-AAAAAAAA
expect_unchanged "refused approvals record nothing"
expect_exit 0 cv bob recovery approve "$req"
fails_cleanly 1 "already" cv bob recovery approve "$req"
expect_exit 0 cv aud recovery approve "$req"
# Two approvals are not enough: ana is no member, reads nothing.
expect_exit 0 cv ana ls --purpose care
expect_exit 4 cv ana get "$solo/statement.txt" --purpose care
expect_exit 0 cv aud audit log --action recovery-grant
check_not_contains "no grant below the threshold" "recovery-grant" "$OUT"
# A custodian's share opens nothing: bob holds one, and no key.
expect_exit 4 cv bob get "$solo/statement.txt" --purpose care
# The third approval: ana's next command takes the case up.
expect_exit 0 cv dave recovery approve "$req"
# A share planted in the file for the request, under a custodian who did
# not approve (a copy of bob's): the approvals signed the shares handed
# over as stored, so ana's session refuses to combine, and verify fails.
cp -a "$VAULT" "$T/copy"
"$RAWREC_BIN" "$T/copy" dpo "$T/dpo.pass" move sealed "@rshare/$req/bob" "@rshare/$req/carol"
expect_exit 3 cvbare --vault "$T/copy" --user ana --passphrase-file "$T/ana.pass" ls --purpose care
check_contains "ana's session: the case's file differs" "policy/cases/$solo" "$ERR"
expect_exit 3 cvbare --vault "$T/copy" --user aud --passphrase-file "$T/aud.pass" audit verify
check_contains "verify: the case's file differs" "policy/cases/$solo" "$ERR"
rm -rf "$T/copy"
[ -n "${RECOVERY_DEBUG:-}" ] && { cp -a "$VAULT" /tmp/rec_dbg_vault; cp "$T"/*.pass /tmp/; }
expect_exit 0 cv ana get "$solo/statement.txt" --purpose care
check_eq "ana reads the current version" "second statement, corrected" "${OUT%$'\n'}"
expect_exit 0 cv ana get "$solo/statement.txt" --version 1 --purpose care
check_eq "... and the first" "first statement" "${OUT%$'\n'}"
expect_exit 0 cv ana put "$solo/statement.txt" "$T/v1"
expect_exit 0 cv dpo recovery list --all
check_contains "granted" "$req  $solo  for ana  3 of 3 approvals  granted  by bob,aud,dave" "$OUT"
fails_cleanly 1 "granted already" cv carol recovery approve "$req"

# The auditor sees the whole procedure, the reason included.
expect_exit 0 cv aud audit log --case "$solo" --notes
for a in recovery-split revoke recovery-request recovery-approve recovery-grant rekey; do
	check_contains "the log shows $a" "$a" "$OUT"
done
check_contains "the reason, for the auditor" "ana takes over" "$OUT"
expect_exit 0 cv aud audit report --recoveries --notes
for a in "setup dpo recovery-setup" "request dpo recovery-request $solo" \
	"approve bob recovery-approve $solo" "approve aud recovery-approve $solo" \
	"approve dave recovery-approve $solo" "grant ana recovery-grant $solo"; do
	set -- $a
	check "the recovery report: $a" grep -Eq "^$1 +[0-9a-f]+ [^ ]+ ${*:2}( |$)" "$OUTF"
done
check_contains "the report: the reason" "noy left the organisation" "$OUT"
check_not_contains "the report leaves the splits out" "recovery-split" "$OUT"
n=$(cv aud audit report --recoveries --case "$solo" | grep -c "recovery-")
check_eq "the report of one case: 1 request, 3 approvals, 1 grant and the 3 setups" 8 "$n"
expect_exit 0 cv aud audit report --recoveries --json
json_ok "$OUTF" "o['kind'] in ('setup', 'request', 'approve', 'grant')"
fails_cleanly 4 "admins and auditors" cv ana audit report --recoveries
fails_cleanly 2 "choose one report" cv aud audit report --recoveries --anomalies
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
