#!/usr/bin/env bash
# The history at rest: nothing of it is readable from the vault's files
# (no user name, case code, purpose or text of an event, before and after a
# rotation of the history key); every view of it needs a user; a rotation
# is an admin's, verifies, and leaves the commit ids stock git checks as
# they were.
. "$(dirname "$0")/lib.sh"

command -v git >/dev/null && command -v ssh-keygen >/dev/null || { echo "SKIP: needs git and ssh-keygen"; exit 77; }
export GIT_CONFIG_NOSYSTEM=1 HOME=$T

r=$(od -An -tx4 -N4 /dev/urandom | tr -d ' \n')
purpose="inquiry$r"
mkpass dpo
mkpass noy
mkpass aud
expect_exit 0 cv dpo init --admin dpo
add_user dpo noy caseworker
add_user dpo aud auditor
expect_exit 0 cv dpo purpose add "$purpose"
expect_exit 0 cv noy case create --label "History key test"
code=${OUT%$'\n'}
printf 'first\n' > "$T/doc"
expect_exit 0 cv noy put "$code/doc.txt" "$T/doc"
expect_exit 0 cv noy get "$code/doc.txt" --purpose "$purpose"
check_contains "the purpose is in the history" "$purpose" "$(cv aud audit log 2>/dev/null)"

# Text only the history's objects hold: none of it in the vault's files.
no_history_text() {
	local when=$1 needle found
	for needle in "$purpose" "committer " "BEGIN SSH SIGNATURE" "audit-key " \
		"Via: cli" "$code/doc.txt" "policy"; do
		found=$(grep -r -a -l -F -- "$needle" "$VAULT")
		check_eq "$when: no '$needle' in the vault files" "" "$found"
	done
}
no_history_text "before a rotation"

# Every view needs a user: exit 4 with a hint, nothing printed.
for sub in "log" "verify" "show #1" "export $T/x.git"; do
	# shellcheck disable=SC2086
	expect_exit 4 cvbare --vault "$VAULT" audit $sub
	expect_err_hint "no user given"
	expect_no_stdout "audit $sub without a user"
done
check "no export without a user" test ! -e "$T/x.git"

repo=$T/before.git
expect_exit 0 cv dpo audit export "$repo"
before=$(git -C "$repo" rev-list audit)

# Rotation: admins only; the disable hint names it.
expect_exit 0 cv dpo user add gone --role caseworker --code-file "$T/.gone.code"
expect_exit 0 cv dpo user add late --role caseworker --code-file "$T/.late.code"
mkpass late
fails_cleanly 4 "admin" cv noy history rotate-key
expect_exit 0 cv dpo user disable gone
check_contains "user disable's hint names the rotation" "history rotate-key" "$ERR"
expect_exit 0 cv dpo history rotate-key
check_eq "the second generation" "generation 2" "${OUT%$'\n'}"
# A user added before the rotation: the rotation sealed the new
# generation to their code's key pair, and they enrol and verify.
expect_exit 0 cvbare --vault "$VAULT" --user late enrol --code-file "$T/.late.code" \
	--new-passphrase-file "$T/late.pass"
expect_exit 0 cv late audit verify
check_match "late verifies the history after the rotation" '^ok: ' "$OUT"
expect_exit 0 cv late audit log --json
check_contains "late reads events of the new generation" '"history-rekey"' "$OUT"
expect_exit 0 cv noy put "$code/doc.txt" - <<< "after the rotation"
expect_exit 0 cv noy get "$code/doc.txt" --purpose "$purpose"
check_eq "noy reads on" "after the rotation" "${OUT%$'\n'}"
expect_exit 0 cv aud audit verify
check_match "verify passes after the rotation" '^ok: ' "$OUT"
expect_exit 0 cv dpo history rotate-key
check_eq "the third generation" "generation 3" "${OUT%$'\n'}"
expect_exit 0 cv noy audit log --json
check_contains "the log shows both rotations" '"history-rekey"' "$OUT"
no_history_text "after two rotations"

# The export after the rotations: the same commits, and stock git checks them.
repo2=$T/after.git
expect_exit 0 cv dpo audit export "$repo2"
after=$(git -C "$repo2" rev-list audit)
check_eq "the commits exported before are unchanged" "$before" "$(printf '%s\n' "$after" | tail -n "$(printf '%s\n' "$before" | wc -l)")"
bad=0
for c in $after; do
	git -C "$repo2" verify-commit "$c" >/dev/null 2>&1 || bad=$((bad + 1))
done
check_eq "stock git verify-commit accepts every event" 0 "$bad"
expect_exit 0 cv dpo audit export "$repo"
check_match "the first export takes the new events" '^exported [0-9]+ events' "$OUT"
check_eq "both exports agree" "$(git -C "$repo2" rev-parse audit)" "$(git -C "$repo" rev-parse audit)"
finish
