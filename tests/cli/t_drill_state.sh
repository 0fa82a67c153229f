#!/usr/bin/env bash
# A restore drill on the machine of the live vault: the drill copy is the
# same vault (its id), restored into another directory and accepted with
# --restored. The user's checkpoint is kept per vault directory, so the
# acceptance leaves the live vault's checkpoint alone: an older copy of
# the live vault put back afterwards is still refused (exit 3), the drill
# copy keeps working, and an older copy opened from a directory never seen
# before is checked against the highest checkpoint of that vault.
. "$(dirname "$0")/lib.sh"

export XDG_STATE_HOME="$T/state"
mkpass dpo
mkpass alice
expect_exit 0 cv dpo init --admin dpo
add_user dpo alice caseworker
expect_exit 0 cv alice case create --label "Drill"
code=${OUT%$'\n'}
printf 'intake\n' > "$T/doc"
expect_exit 0 cv alice put "$code/doc.txt" "$T/doc"

# The snapshot, then many events, an older copy of the live vault, more.
expect_exit 0 cv dpo backup "$T/bk"
for i in 1 2 3 4 5 6; do
	expect_exit 0 cv alice get "$code/doc.txt" --purpose care
done
cp -a "$VAULT" "$T/old"
expect_exit 0 cv alice get "$code/doc.txt" --purpose care
expect_exit 0 cv alice get "$code/doc.txt" --purpose care

# The drill: restore beside the live vault, open it as alice.
expect_exit 0 cvbare restore "$T/bk" "$T/drill"
drill() { cvbare --vault "$T/drill" --user alice --passphrase-file "$T/alice.pass" "$@"; }
expect_exit 3 drill ls "$code" --purpose drill
expect_err_hint "the history was rolled back"
expect_exit 0 drill --restored ls "$code" --purpose drill
expect_exit 0 drill get "$code/doc.txt" --purpose drill
check_contains "the drill copy reads back" "intake" "$OUT"
check "each directory has its own checkpoint" \
	test "$(find "$XDG_STATE_HOME/casevault" -type f -name alice | wc -l)" -eq 2

# The live vault replaced by its older copy: alice saw later events there.
mv "$VAULT" "$T/live"
cp -a "$T/old" "$VAULT"
expect_exit 3 cv alice ls "$code" --purpose care
expect_err_hint "the history was rolled back"

# The older copy from a directory alice never opened: the highest
# checkpoint of the vault is what it must hold.
cp -a "$T/old" "$T/moved"
expect_exit 3 cvbare --vault "$T/moved" --user alice --passphrase-file "$T/alice.pass" \
	ls "$code" --purpose care
expect_err_hint "the history was rolled back"

# The live vault moved to a new directory: it holds that checkpoint.
rm -rf "$VAULT" "$T/moved"
mv "$T/live" "$T/moved"
expect_exit 0 cvbare --vault "$T/moved" --user alice --passphrase-file "$T/alice.pass" \
	get "$code/doc.txt" --purpose care
mv "$T/moved" "$VAULT"

# The drill copy goes on after all this.
expect_exit 0 drill ls "$code" --purpose drill
expect_exit 0 cv alice get "$code/doc.txt" --purpose care
expect_exit 0 cv dpo audit verify
expect_exit 0 cvbare --vault "$T/drill" --user dpo --passphrase-file "$T/dpo.pass" --restored audit verify
finish
