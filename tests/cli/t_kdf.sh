#!/usr/bin/env bash
# Passphrase hashing and the rule for new passphrases: the test profile
# only in test builds; a release build (casevault-release, built beside the
# test binary from the same sources) refuses CASEVAULT_KDF=test and a key
# made under it; the vault's minimum (settings kdf-min-*) for new keys and
# the warning at unlock below it; every new passphrase (init, enrol,
# passwd) at least 12 characters, not common, without the user name or
# the vault id.
. "$(dirname "$0")/lib.sh"

[ -n "${CASEVAULT_RELEASE_BIN:-}" ] && [ -x "$CASEVAULT_RELEASE_BIN" ] ||
	skip "no release binary (CASEVAULT_RELEASE_BIN): a test build makes casevault-release"
release() { env -u CASEVAULT_KDF "$CASEVAULT_RELEASE_BIN" "$@"; }
cvrel() {
	local user=$1
	shift
	release --vault "$VAULT" --user "$user" --passphrase-file "$T/$user.pass" "$@"
}

mkpass dpo
mkpass noy

# --- the rule, at init ------------------------------------------------------------
mkpass bad "dpo's vault keys 2026"
fails_cleanly 2 "contains the user name" cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/bad.pass" init --admin dpo
check_contains "the hint suggests random words" "several words picked at random" "$ERR"
check "no vault was made" test ! -e "$VAULT/data.mdb"
expect_exit 0 cv dpo init --admin dpo || finish
vid=$(printf '%s' "$OUT" | sed -n 's/^vault-id //p')
check_match "the vault id" '^[0-9A-Z]{16}$' "$vid"
expect_exit 0 cv dpo purpose add intake

# --- the test profile is a test build's only --------------------------------------
fails_cleanly 2 "release build" env CASEVAULT_KDF=test "$CASEVAULT_RELEASE_BIN" --vault "$VAULT" \
	--user dpo --passphrase-file "$T/dpo.pass" user list
check_contains "the hint says where the profile is" "CASEVAULT_TEST_KDF=ON" "$ERR"
fails_cleanly 2 "not a passphrase profile" env CASEVAULT_KDF=fast "$CASEVAULT_BIN" --vault "$VAULT" \
	--user dpo --passphrase-file "$T/dpo.pass" user list

# --- a release build refuses a key made under the test profile ------------------
snapshot
expect_exit 5 cvrel dpo user list
expect_err_hint "below this build's floor"
check_contains "the hint says where such keys come from" "test builds" "$ERR"
expect_no_stdout
expect_unchanged "no unlock-failed event either"

# --- the rule, at enrol -------------------------------------------------------------
expect_exit 0 cv dpo user add noy --role caseworker --code-file "$T/.noy.code"
enrol_with() {
	cvbare --vault "$VAULT" --user noy enrol --code-file "$T/.noy.code" --new-passphrase-file "$T/$1.pass"
}
# Characters, not bytes: 11 Lao characters are 33 bytes, and too short.
mkpass lao13 "ສະບາຍດີເພື່ອນ"
mkpass lao11 "ສະບາຍດີເພື່"
check_eq "the Lao passphrases: characters and bytes" "13 39 11 33" "$(python3 -c '
import sys
print(" ".join("%d %d" % (len(s), len(s.encode())) for s in sys.argv[1:]))' "ສະບາຍດີເພື່ອນ" "ສະບາຍດີເພື່")"
fails_cleanly 2 "too short (11 characters)" enrol_with lao11
mkpass thai "แม่น้ำโขง"
fails_cleanly 2 "too short (9 characters)" enrol_with thai
mkpass common "Password2026!"
fails_cleanly 2 "is a common one" enrol_with common
mkpass common2 "  Correct Horse Battery Staple 1 "
fails_cleanly 2 "is a common one" enrol_with common2
mkpass digits "123456789012345"
fails_cleanly 2 "is a common one" enrol_with digits
mkpass name "my NOY river phrase"
fails_cleanly 2 "contains the user name" enrol_with name
mkpass vid "key $(printf '%s' "$vid" | tr 'A-Z' 'a-z') please"
fails_cleanly 2 "contains the vault id" enrol_with vid
check_contains "the vault id: its hint" "the vault id is no secret" "$ERR"
# The Lao passphrase of 13 characters passes.
cp "$T/lao13.pass" "$T/noy.pass"
expect_exit 0 enrol_with noy
rm -f "$T/.noy.code"

# --- the rule, at passwd -------------------------------------------------------------
mkpass short "eleven char"
fails_cleanly 2 "too short (11 characters)" cv dpo user passwd --new-passphrase-file "$T/short.pass"
check_contains "the hint says how long" "at least 12 characters" "$ERR"
fails_cleanly 2 "is a common one" cv dpo user passwd --new-passphrase-file "$T/common.pass"
mkpass dponame "the DPO of the shelter"
fails_cleanly 2 "contains the user name" cv dpo user passwd --new-passphrase-file "$T/dponame.pass"
fails_cleanly 2 "contains the vault id" cv dpo user passwd --new-passphrase-file "$T/vid.pass"
expect_exit 0 cv dpo user list   # the old passphrase still works

# --- the vault's minimum ------------------------------------------------------------
fails_cleanly 2 "mebibytes" cv dpo settings set kdf-min-memory 512K
fails_cleanly 2 "mebibytes" cv dpo settings set kdf-min-memory 5G
fails_cleanly 2 "whole number from 1 to 64" cv dpo settings set kdf-min-passes 0
fails_cleanly 4 "" cv noy settings set kdf-min-memory 256M
expect_exit 0 cv dpo settings set kdf-min-memory 256M
expect_exit 0 cv dpo settings set kdf-min-passes 6
expect_exit 0 cv dpo settings show
check_match "settings show: the memory" 'kdf-min-memory +256M ' "$OUT"
check_match "settings show: the passes" 'kdf-min-passes +6 ' "$OUT"
# noy's key (test profile) is below it: a warning, and the command runs.
expect_exit 0 cv noy ls --purpose intake
check_contains "below the minimum: warned" "less than the vault's minimum of 6 passes over 256 MiB" "$ERR"
check_contains "the warning's hint" "hint: run 'casevault user passwd'" "$ERR"
# passwd makes the key again with the minimum: no warning after it, and a
# release build opens it (6 passes over 256 MiB are its floor).
mkpass noy2
expect_exit 0 cv noy user passwd --new-passphrase-file "$T/noy2.pass"
cp "$T/noy2.pass" "$T/noy.pass"
expect_exit 0 cv noy ls --purpose intake
check_not_contains "at the minimum: no warning" "minimum" "$ERR"
expect_exit 0 cvrel noy ls --purpose intake
check_not_contains "the release build: no warning" "warning" "$ERR"
# A user enrolled now gets it too.
mkpass som
add_user dpo som caseworker
expect_exit 0 cvrel som ls --purpose intake
check_eq "a new user's key: the release build opens it" "" "$ERR"
# Unset, the minimum is the build's default: a release build's is 6 passes
# over 256 MiB (its floor too), a test build's under CASEVAULT_KDF=test its
# test profile; noy's key, made at 6 over 256 MiB, opens with no warning.
expect_exit 0 cv dpo settings unset kdf-min-memory
expect_exit 0 cv dpo settings unset kdf-min-passes
expect_exit 0 cvrel noy ls --purpose intake
check_not_contains "the release build's default minimum" "warning" "$ERR"
expect_exit 0 cv noy ls --purpose intake
check_not_contains "the test profile's minimum" "minimum" "$ERR"
# The setting's events verify.
expect_exit 0 cv dpo audit verify
expect_exit 0 cv dpo audit log --json
check_eq "four setting events" 4 "$(jfield "$OUTF" "o.get('action')" | grep -c '^setting$')"

finish
