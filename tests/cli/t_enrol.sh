#!/usr/bin/env bash
# Users make their own keys: `user add` gives a one-time code (printed or
# in a file of mode 0600), `enrol` makes the key pair; every refusal is a
# clear error with its hint, and writes nothing.
. "$(dirname "$0")/lib.sh"

mkpass dpo
mkpass noy
mkpass short "seven77"
expect_exit 0 cv dpo init --admin dpo || finish
enrol() {
	cvbare --vault "$VAULT" --user "$1" enrol "${@:2}"
}

# --- the code printed, then in a file ------------------------------------------
expect_exit 0 cv dpo user add noy --role caseworker
check_match "user add prints the code" '^[0-9A-Z]{26}$' "${OUT%$'\n'}"
printf '%s' "$OUT" > "$T/.noy.code"
expect_exit 0 cv dpo user add som --role caseworker --code-file "$T/.som.code"
expect_no_stdout "user add --code-file"
check_eq "the code file is private" 600 "$(stat -c %a "$T/.som.code")"
fails_cleanly 1 ".som.code" cv dpo user add tim --role caseworker --code-file "$T/.som.code"
check_contains "a code file is never written over" "does not exist" "$ERR"
fails_cleanly 1 "no-such-dir" cv dpo user add tim --role caseworker --code-file "$T/no-such-dir/c"

# --- pending ----------------------------------------------------------------
expect_exit 0 cv dpo user list
check_contains "noy is pending" "noy caseworker pending" "$OUT"
fails_cleanly 5 "enrol" cv noy ls
check_contains "pending: said so" "has not enrolled yet" "$ERR"

# --- refused codes -------------------------------------------------------------
fails_cleanly 5 "code" enrol noy --code-file "$T/.som.code" --new-passphrase-file "$T/noy.pass"
check_contains "another user's code" "wrong enrolment code for user 'noy'" "$ERR"
fails_cleanly 5 "nobody" enrol nobody --code-file "$T/.noy.code" --new-passphrase-file "$T/noy.pass"
fails_cleanly 2 "" enrol noy --code-file "$T/.noy.code" --new-passphrase-file "$T/short.pass"
fails_cleanly 2 "--user" cvbare --vault "$VAULT" enrol --code-file "$T/.noy.code"
fails_cleanly 1 "" enrol noy --code-file "$T/.missing" --new-passphrase-file "$T/noy.pass"

# --- enrolled, once --------------------------------------------------------------
expect_exit 0 enrol noy --code-file "$T/.noy.code" --new-passphrase-file "$T/noy.pass"
expect_exit 0 cv noy case create --label "after enrolling"
c1=${OUT%$'\n'}
fails_cleanly 5 "enrolled already" enrol noy --code-file "$T/.noy.code" --new-passphrase-file "$T/noy.pass"
check_contains "a code works once" "has enrolled already" "$ERR"

# --- a pending user gets no grant ----------------------------------------------
fails_cleanly 1 "pending" cv dpo case grant "$c1" som
check_contains "grant to a pending user" "pending (not enrolled yet)" "$ERR"

# --- expired -------------------------------------------------------------------
expect_exit 0 cv dpo settings set enrol-code-ttl 1
expect_exit 0 cv dpo user add late --role caseworker --code-file "$T/.late.code"
sleep 2
mkpass late
fails_cleanly 5 "expire" enrol late --code-file "$T/.late.code" --new-passphrase-file "$T/late.pass"
check_contains "an expired code" "the enrolment code of user 'late' has expired" "$ERR"

# --- passwd: a new key pair -------------------------------------------------------
mkpass noy2
expect_exit 0 cv noy user passwd --new-passphrase-file "$T/noy2.pass"
expect_exit 5 cv noy ls
cp "$T/noy2.pass" "$T/noy.pass"
expect_exit 0 cv noy ls --purpose care

expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit verify
finish
