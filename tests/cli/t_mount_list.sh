#!/usr/bin/env bash
# The mount records one `list` event per case folder per session: at the
# first listing that shows the case (the top, with its label, or any of
# its folders); later listings in the session record nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mount_lib.sh"
QUIET=1
require_fuse

mount_setup noy "first"
expect_exit 0 cv noy case create --label "second"
c2=${OUT%$'\n'}
expect_exit 0 cv noy mkdir "$CODE/docs"
expect_exit 0 cv noy mkdir "$CODE/docs/deeper"

# fuse_lists CODE: the mount's `list` events of case CODE so far.
fuse_lists() {
	cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --action list --case "$1" --json 2> /dev/null |
		python3 -c 'import json,sys
print(sum(1 for l in sys.stdin if json.loads(l)["via"] == "fuse"))'
}

mount_vault noy || finish
for _ in 1 2 3; do
	check "the case folder lists" ls -la "$CASEDIR/" > /dev/null
	check "a folder of the case lists" ls "$CASEDIR/docs/deeper" > /dev/null
	check "the top lists" ls "$MNT" > /dev/null
	check "the case under .history lists" ls "$MNT/.history/$CODE" > /dev/null
done
c2dir=$(find "$MNT" -mindepth 1 -maxdepth 1 -name "$c2*" | head -n 1)
check "the second case folder lists" ls "$c2dir" > /dev/null
check_eq "one list of the first case in the session" 1 "$(fuse_lists "$CODE")"
check_eq "one list of the second case in the session" 1 "$(fuse_lists "$c2")"
umount_vault

# A new session: one more each.
mount_vault noy || finish
check "the case folder lists" ls "$CASEDIR/docs" > /dev/null
check "the case folder lists again" ls "$CASEDIR/docs" > /dev/null
umount_vault
check_eq "a second session: one more list of the first case" 2 "$(fuse_lists "$CODE")"
check_eq "a second session: one more list of the second case" 2 "$(fuse_lists "$c2")"
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --action list --case "$CODE"
check_contains "audit log shows the mount's listings" "noy list $CODE" "$OUT"
verify_ok "mount listings"
finish
