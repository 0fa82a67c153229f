#!/usr/bin/env bash
# A recovery whose case is split again while approvals are under way: a
# custodian runs `passwd` (their share was sealed to the old key), or an
# admin sets the custodians up again, and a member's session would split
# the same epoch anew, into shares of another polynomial. Approvals from
# the two splits combine into no key: the caseworker's every command would
# fail. A split waits while a request of the case's split has approvals;
# the recovery goes on with the shares of the split it began with.
. "$(dirname "$0")/lib.sh"

for u in dpo aud bob alice ana; do mkpass "$u"; done
expect_exit 0 cv dpo init --admin dpo
add_user dpo aud auditor
for u in bob alice ana; do add_user dpo "$u" caseworker; done
expect_exit 0 cv alice case create --label "Split again"
code=${OUT%$'\n'}
printf 'statement\n' > "$T/doc"
expect_exit 0 cv alice put "$code/statement.txt" "$T/doc"
expect_exit 0 cv dpo recovery setup --custodians aud,bob,dpo --threshold 2
expect_exit 0 cv alice ls --purpose care
expect_exit 0 cv dpo recovery request "$code" ana --reason "alice is away"
req=${OUT%$'\n'}
expect_exit 0 cv bob recovery approve "$req"

# A custodian changes their key; the member's session comes by.
expect_exit 0 cv dpo user passwd --new-passphrase-file <(printf 'fresh amber willow 4711\n')
mkpass dpo 'fresh amber willow 4711'
# The member's session (no split: approvals are under way), a custodian's
# approval, then the caseworker's session takes the case up; the grant
# started a new epoch, which the member's next session splits.
approve_and_read() {
	expect_exit 0 cv alice ls --purpose care
	expect_exit 0 cv "$1" recovery approve "$req"
	expect_exit 0 cv "$2" get "$code/statement.txt" --purpose care
	check_eq "the recovered case reads for $2" "statement" "${OUT%$'\n'}"
	expect_exit 0 cv alice ls --purpose care
	expect_exit 0 cv aud recovery status
	check_contains "covered again" "$code  covered" "$OUT"
	expect_exit 0 cv aud audit verify
}
approve_and_read aud ana

# The custodians set up again while a request has an approval.
mkpass ben
add_user dpo ben caseworker
expect_exit 0 cv dpo recovery request "$code" ben --reason "both away"
req=${OUT%$'\n'}
expect_exit 0 cv dpo recovery approve "$req"
expect_exit 0 cv dpo recovery setup --custodians aud,bob,dpo --threshold 3
approve_and_read bob ben
finish
