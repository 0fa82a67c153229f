#!/usr/bin/env bash
# The vault's own push to its witness (settings witness, witness-every):
# after every N events from the CLI, at every unmount, and a failed push
# as a warning and a 'witness-failed' event, never a lost event.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mount_lib.sh"

mount_setup noy "Witness test"
wit=$T/witness.git
git init -q --bare "$wit"
head_now() { head_of "$VAULT"; }
witness_head() { git -C "$wit" rev-parse -q --verify audit 2>/dev/null; }

# Bad values: a usage error with a hint; nothing recorded.
for bad in "a b" "$(printf 'x%.0s' $(seq 300))" "$(printf 'a\tb')"; do
	expect_exit 2 cv dpo settings set witness "$bad"
	expect_err_hint "witness"
done
expect_exit 2 cv dpo settings set witness-every 0
expect_err_hint "witness-every"
expect_exit 4 cv noy settings set witness "$wit"

expect_exit 0 cv dpo settings set witness "$wit"
expect_exit 0 cv dpo settings set witness-every 3
expect_exit 0 cv dpo settings show
check_match "settings show has the witness" "witness +$wit" "$OUT"
# The setting's own event is the first push's trigger (at least 3 events
# since none was ever tried).
check_eq "pushed after the setting's command" "$(head_now)" "$(witness_head)"
pushed=$(witness_head)
printf 'one\n' > "$T/doc"
expect_exit 0 cv noy put "$CODE/doc.txt" "$T/doc"
check_eq "one event later: not yet" "$pushed" "$(witness_head)"
expect_exit 0 cv noy get "$CODE/doc.txt" --purpose care
expect_exit 0 cv noy get "$CODE/doc.txt" --purpose care
check_eq "three events later: pushed" "$(head_now)" "$(witness_head)"
check "the witness is whole (git fsck)" git -C "$wit" fsck --no-dangling
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit verify --against "$wit"

# At unmount: pushed whatever the count.
mount_vault noy
cat "$CASEDIR/doc.txt" > /dev/null
umount_vault
check_eq "the unmount pushed" "$(head_now)" "$(witness_head)"

# A witness that cannot be reached: the commands work; the one that finds
# the push due warns, and the failure is a signed event; tried again only
# after witness-every more events, not on every command.
expect_exit 0 cv dpo settings set witness "$T/missing/witness.git"
check_not_contains "one event after the last push: no attempt" "warning" "$ERR"
expect_exit 0 cv noy get "$CODE/doc.txt" --purpose care
check_not_contains "two events after: no attempt" "warning" "$ERR"
expect_exit 0 cv noy get "$CODE/doc.txt" --purpose care
check_contains "three events after: a warning" "warning: the push to the witness failed" "$ERR"
check_contains "with a hint" "hint:" "$ERR"
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log
check_contains "the failure is an event" "witness-failed" "$OUT"
expect_exit 0 cv noy get "$CODE/doc.txt" --purpose care
check_not_contains "no new attempt one event later" "warning" "$ERR"
expect_exit 0 cv dpo settings unset witness
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit verify
finish
