#!/usr/bin/env bash
# A recovery grant finished by the caseworker's mount: after the third
# approval, ana runs no CLI command; her mount's session combines the
# shares, makes her a member, and shows the case's documents, every
# version. The grant is recorded at the mount's unlock, before the
# filesystem serves; its event says `via fuse`, as the mount's own do.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mount_lib.sh"
require_fuse

for u in dpo aud noy ana bob carol dave; do mkpass "$u"; done
expect_exit 0 cv dpo init --admin dpo
add_user dpo aud auditor
for u in noy ana bob carol dave; do add_user dpo "$u" caseworker; done
expect_exit 0 cv dpo recovery setup --custodians bob,carol,dave,aud --threshold 3
expect_exit 0 cv noy case create --label "Only noy"
CODE=${OUT%$'\n'}
printf 'first statement\n' > "$T/v1"
printf 'second statement, corrected\n' > "$T/v2"
expect_exit 0 cv noy put "$CODE/statement.txt" "$T/v1"
expect_exit 0 cv noy put "$CODE/statement.txt" "$T/v2"
expect_exit 0 cv dpo user disable noy

expect_exit 0 cv dpo recovery request "$CODE" ana --reason "noy left"
req=${OUT%$'\n'}
for u in bob carol dave; do
	expect_exit 0 cv "$u" recovery approve "$req"
done

mount_vault ana || finish
check_eq "the mount shows the current version" "second statement, corrected" "$(cat "$CASEDIR/statement.txt")"
check_eq "... and the first, under .history" "first statement" \
	"$(cat "$MNT/.history/$CODE/statement.txt/statement v1 "* 2> /dev/null)"
umount_vault

expect_exit 0 cv aud audit log --action recovery-grant --json
check "the grant is ana's, by her mount's session (at its unlock)" json_ok "$OUTF" "o['actor'] == 'ana' and o['target'] == 'ana' and o['via'] == 'fuse'"
expect_exit 0 cv dpo recovery list --all
check_contains "granted" "$req  $CODE  for ana  3 of 3 approvals  granted" "$OUT"
AUDIT_USER=aud verify_ok "after the grant by the mount"
finish
