#!/usr/bin/env bash
# Snapshots that no `backup` event of the vault records: an admin copies
# the vault file aside and backs the copy up (the event lands in the copy
# only), or an admin disabled since signs a backup of an old copy. Each
# snapshot is genuine and signed, so `backup verify` alone passes it;
# checked against the vault (`--vault`), the manifest's `backup` event
# must be one of the vault's, by the signer, naming this snapshot (exit 3
# otherwise). An honest backup still verifies against the vault. A
# restore note planted beside the vault, naming an event its history
# lacks, says nothing and records nothing.
. "$(dirname "$0")/lib.sh"

export XDG_STATE_HOME="$T/state"
mkpass dpo
mkpass ops
mkpass aud
mkpass alice
expect_exit 0 cv dpo init --admin dpo
add_user dpo ops admin
add_user dpo aud auditor
add_user dpo alice caseworker
expect_exit 0 cv alice case create --label "Forged backups"
code=${OUT%$'\n'}
rand_file "$T/.doc" 5000
expect_exit 0 cv alice put "$code/doc.bin" "$T/.doc"

# ---- a backup of a copy: its event is in the copy, not in the vault ----------

cp -a "$VAULT" "$T/copy"
# (on the copy, with a state directory of its own: the copy is a fork)
aside() {
	XDG_STATE_HOME="$T/aside" cvbare --vault "$T/copy" --user "$1" --passphrase-file "$T/$1.pass" "${@:2}"
}
expect_exit 0 aside dpo backup "$T/bk-copy"
expect_exit 0 cv alice put "$code/later.bin" "$T/.doc"
expect_exit 0 cvbare --user aud --passphrase-file "$T/aud.pass" backup verify "$T/bk-copy"
expect_exit 3 cv aud backup verify "$T/bk-copy"
expect_err_hint "is not an event of"
check_contains "names the event" "backup event" "$ERR"

# ---- an admin disabled since signs a backup of an old copy -------------------

rm -rf "$T/copy"
cp -a "$VAULT" "$T/copy"
expect_exit 0 cv dpo user disable ops
expect_exit 0 aside ops backup "$T/bk-ops"
expect_exit 3 cv aud backup verify "$T/bk-ops"
expect_err_hint "is not an event of"

# ---- a restore note planted beside a vault that was not restored -------------

# Anyone who writes the vault's directory can write `restored`: one naming
# an event this vault's history lacks is no note of it. The next session
# says nothing of a restore, records no rollback-accepted, and removes it.
printf 'casevault-restored 1\nhead %s\nevents 3\ntime 1796577356\n' \
	"$(printf 'planted' | sha1sum | cut -c1-40)" > "$VAULT/restored"
expect_exit 0 cv alice ls "$code" --purpose care
check_not_contains "no restore said" "restored from a backup" "$ERR"
check "the planted note is removed" test ! -e "$VAULT/restored"
expect_exit 0 cv aud audit log --action rollback-accepted
check_not_contains "no rollback-accepted recorded" "rollback-accepted" "$OUT"

# ---- an honest backup verifies against the vault -----------------------------

expect_exit 0 cv aud backup "$T/bk"
expect_exit 0 cv alice put "$code/after.bin" "$T/.doc"
expect_exit 0 cv aud backup verify "$T/bk"
check_contains "its event found" "its backup event among them" "$OUT"
expect_exit 0 cv dpo audit verify
finish
