#!/usr/bin/env bash
# The everyday admin commands of format 8: user enable (a disabled user
# enrols again with a new code and a new key, in no case until granted),
# purpose remove, case label (sealed under the case key). Each is one signed
# event that audit verify replays; forged ones are in unit/test_tamper.
. "$(dirname "$0")/lib.sh"

for u in dpo noy pim aud; do
	mkpass "$u"
done
expect_exit 0 cv dpo init --admin dpo || finish
add_user dpo noy caseworker
add_user dpo pim caseworker
add_user dpo aud auditor
expect_exit 0 cv noy case create --label "first label"
code=${OUT%$'\n'}
expect_exit 0 cv dpo case grant "$code" pim
expect_exit 0 cv dpo purpose add legal-aid
expect_exit 0 cv dpo purpose add referral
SNAP_USER=noy
SNAP_LS=$code

# --- failures first ------------------------------------------------------------
fails_cleanly 2 "missing argument" cv dpo user enable
fails_cleanly 1 "user 'pim' is not disabled" cv dpo user enable pim
check_contains "the hint says who may be enabled" "only a disabled user is enabled" "$ERR"
fails_cleanly 1 "" cv dpo user enable nobody
fails_cleanly 4 "" cv noy user enable pim
fails_cleanly 2 "missing argument" cv dpo purpose remove
fails_cleanly 1 "purpose 'nope' is not in the list" cv dpo purpose remove nope
fails_cleanly 4 "" cv noy purpose remove referral
fails_cleanly 4 "" cv aud purpose remove referral
fails_cleanly 2 "missing argument" cv noy case label "$code"
fails_cleanly 4 "" cv dpo case label "$code" "an admin's label"
fails_cleanly 4 "" cv aud case label "$code" "an auditor's label"
fails_cleanly 2 "line break" cv noy case label "$code" $'two\nlines'
fails_cleanly 2 "longer than 255" cv noy case label "$code" "$(head -c 300 /dev/zero | tr '\0' x)"
fails_cleanly 1 "" cv noy case label C-00000000 "no such case"

# --- purpose remove ----------------------------------------------------------------
expect_exit 0 cv noy put "$code/a.txt" <<< "a"
expect_exit 0 cv noy get "$code/a.txt" --purpose referral
expect_exit 0 cv dpo purpose remove referral
expect_no_stdout "purpose remove prints nothing"
expect_exit 0 cv dpo purpose list
check_not_contains "purpose remove: off the list" "referral" "$OUT"
expect_exit 2 cv noy get "$code/a.txt" --purpose referral
check_contains "a removed purpose is refused" "'referral' is not in the vault's list" "$ERR"
expect_exit 0 cv dpo audit log --json --action read
check_contains "the past read keeps its purpose" '"referral"' "$OUT"
# The last one stays: an empty list would take any code.
fails_cleanly 1 "is the last in the list" cv dpo purpose remove legal-aid
check_contains "the hint: add its replacement first" "purpose add CODE" "$ERR"
expect_exit 0 cv dpo audit log --json --action purpose-remove
check_eq "purpose remove: one event" 1 "$(wc -l < "$OUTF")"

# --- case label ------------------------------------------------------------------
label="Somchai Phommachanh, Savannakhet"
expect_exit 0 cv noy case label "$code" "$label"
expect_no_stdout "case label prints nothing"
expect_exit 0 cv pim case list --purpose legal-aid
check_contains "the new label, for another member" "$label" "$OUT"
check "the label is sealed at rest: not in the vault file" \
	bash -c "! grep -rqF 'Phommachanh' '$VAULT'"
check "nor in its history" bash -c "! grep -rqaF 'Phommachanh' '$VAULT'"
expect_exit 0 cv noy case label "$code" ""
expect_exit 0 cv noy case list --purpose legal-aid
check_not_contains "an empty label removes it" "$label" "$OUT"
expect_exit 0 cv dpo audit log --json --action case-label
check_eq "case label: one event each" 2 "$(wc -l < "$OUTF")"
check_not_contains "the event does not hold the label" "Phommachanh" "$OUT"

# --- user enable -----------------------------------------------------------------
expect_exit 0 cv dpo user disable pim
expect_exit 5 cv pim case list
expect_exit 0 cv dpo user enable pim --code-file "$T/.pim.code"
expect_no_stdout "user enable --code-file prints nothing"
expect_exit 0 cv dpo user list
check_contains "enabled: pending until they enrol" "pim caseworker pending" "$OUT"
# The old passphrase (and key) opens nothing.
expect_exit 5 cv pim case list
mkpass pim
expect_exit 0 cvbare --vault "$VAULT" --user pim enrol --code-file "$T/.pim.code" \
	--new-passphrase-file "$T/pim.pass"
expect_exit 0 cv pim case list --purpose legal-aid
check_not_contains "enabled: a member of no case" "$code" "$OUT"
fails_cleanly 4 "" cv pim get "$code/a.txt" --purpose legal-aid
expect_exit 0 cv dpo case grant "$code" pim
expect_exit 0 cv noy case list --purpose legal-aid   # a member's session seals the key
expect_exit 0 cv pim get "$code/a.txt" --purpose legal-aid
check_eq "granted again, they read" $'a\n' "$OUT"
# Enabled and printed: the code on standard output.
expect_exit 0 cv dpo user disable pim
expect_exit 0 cv dpo user enable pim
check_match "user enable prints the code" '^[A-Za-z0-9-]{20,}$' "${OUT%$'\n'}"

expect_exit 0 cv noy audit verify
expect_exit 0 cv aud audit verify
finish
