#!/usr/bin/env bash
# The trust gate through the CLI: an older copy of the vault put back is
# refused (exit 3, one line and a hint) by a user who saw the newer head;
# --restored accepts it once, as a signed event. (Forged heads: test_trust.)
. "$(dirname "$0")/lib.sh"

export XDG_STATE_HOME="$T/state"
mkpass dpo
mkpass alice
mkpass bob
expect_exit 0 cv dpo init --admin dpo
add_user dpo alice caseworker
add_user dpo bob caseworker
expect_exit 0 cv alice case create --label "Trust test"
code=${OUT%$'\n'}
printf 'intake\n' > "$T/doc"
expect_exit 0 cv alice put "$code/doc.txt" "$T/doc"

# The checkpoint file: in the state directory, under the vault id and the
# vault's directory, private.
ckdir=$(echo "$XDG_STATE_HOME"/casevault/*/*)
check "the checkpoint file is kept" test -f "$ckdir/alice"
check_eq "its folders are private" "700 700" "$(stat -c %a "${ckdir%/*}" "$ckdir" | tr '\n' ' ' | sed 's/ $//')"
check_eq "it is private" 600 "$(stat -c %a "$ckdir/alice")"

cp -a "$VAULT" "$T/.old"
expect_exit 0 cv alice get "$code/doc.txt" --purpose care
expect_exit 0 cv alice get "$code/doc.txt" --purpose care

# The older copy put back: alice saw the newer head.
rm -rf "$VAULT" && cp -a "$T/.old" "$VAULT"
snapshot
expect_exit 3 cv alice ls "$code" --purpose care
expect_err_hint "the history was rolled back"
check_contains "the hint names --restored" "--restored" "$ERR"
expect_no_stdout "refused ls"
expect_unchanged "a refused session writes nothing"
# bob never saw the lost reads: nothing tells him (docs say so).
expect_exit 0 cv bob ls

# Restored on purpose: one signed event, then sessions go on.
expect_exit 0 cvbare --vault "$VAULT" --user alice --passphrase-file "$T/alice.pass" --restored ls "$code" --purpose care
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log
check_contains "the acceptance is an event" "rollback-accepted" "$OUT"
expect_exit 0 cv alice ls "$code" --purpose care
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit verify

finish
