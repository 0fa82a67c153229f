#!/usr/bin/env bash
# A recovery request cancelled by an admin: a signed event; the shares
# approved for it are wiped; later approvals are refused (exit 4); the
# caseworker's session combines nothing; a later request hands no share
# that would complete the cancelled one's outside a grant; `recovery list
# --all` and `audit report --recoveries` show it; verify passes.
. "$(dirname "$0")/lib.sh"

for u in dpo aud noy ana bob carol dave; do mkpass "$u"; done
expect_exit 0 cv dpo init --admin dpo
add_user dpo aud auditor
for u in noy ana bob carol dave; do add_user dpo "$u" caseworker; done
expect_exit 0 cv dpo recovery setup --custodians bob,carol,dave --threshold 2
expect_exit 0 cv noy case create --label "Only noy"
solo=${OUT%$'\n'}
printf 'statement\n' > "$T/doc"
expect_exit 0 cv noy put "$solo/statement.txt" "$T/doc"
expect_exit 0 cv dpo user disable noy

expect_exit 0 cv dpo recovery request "$solo" ana --reason "noy left"
req=${OUT%$'\n'}
expect_exit 0 cv bob recovery approve "$req"

# Refused cancels record nothing.
SNAP_USER=aud SNAP_LS=
snapshot
fails_cleanly 4 "admin" cv bob recovery cancel "$req"
fails_cleanly 4 "admin" cv ana recovery cancel "$req"
fails_cleanly 2 "not a recovery request" cv dpo recovery cancel X-1
fails_cleanly 1 "does not exist" cv dpo recovery cancel R-AAAAAAAA
fails_cleanly 2 "" cv dpo recovery cancel
expect_unchanged "refused cancels record nothing"

expect_exit 0 cv dpo recovery cancel "$req"
check_contains "cancel says so" "cancelled $req" "$OUT"
fails_cleanly 1 "was cancelled" cv dpo recovery cancel "$req"
# A later approval: refused, exit 4, with a hint; nothing recorded.
snapshot
fails_cleanly 4 "was cancelled" cv carol recovery approve "$req"
check_contains "its hint" "an admin cancelled it" "$ERR"
expect_unchanged "a refused approval records nothing"
# ana's session combines nothing: not a member.
expect_exit 0 cv ana ls --purpose care
expect_exit 4 cv ana get "$solo/statement.txt" --purpose care
expect_exit 0 cv aud audit log --action recovery-grant
check_not_contains "no grant of a cancelled request" "recovery-grant" "$OUT"

# Listed as cancelled; open lists leave it out.
expect_exit 0 cv dpo recovery list
check_not_contains "not open" "$req" "$OUT"
expect_exit 0 cv dpo recovery list --all
check_contains "listed as cancelled" "$req  $solo  for ana  1 of 2 approvals  cancelled  by bob" "$OUT"
expect_exit 0 cv dpo recovery list --all --json
check "listed as cancelled in JSON" json_ok "$OUTF" "o['cancelled'] is True and o['granted'] is False"
expect_exit 0 cv aud audit report --recoveries
check "the report shows the cancel" grep -Eq "^cancel +[0-9a-f]+ [^ ]+ dpo recovery-cancel $solo" "$OUTF"

expect_exit 0 cv aud audit verify

# A new request goes through: the cancelled one blocks nothing.
expect_exit 0 cv dpo recovery request "$solo" ana --reason "noy left, again"
req2=${OUT%$'\n'}
# ana may have kept a copy of the file with bob's share of the cancelled
# request: dave's share of this one would make two, the threshold, with
# no grant. Refused until the request itself reaches it (bob first).
snapshot
fails_cleanly 4 "outside a grant" cv dave recovery approve "$req2"
check_contains "its hint names who approves first" "approved the cancelled requests approve this one first" "$ERR"
expect_unchanged "the refused approval records nothing"
expect_exit 0 cv bob recovery approve "$req2"
expect_exit 0 cv dave recovery approve "$req2"
expect_exit 0 cv ana get "$solo/statement.txt" --purpose care
check_eq "ana reads after the second request" "statement" "${OUT%$'\n'}"
expect_exit 0 cv aud audit verify
finish
