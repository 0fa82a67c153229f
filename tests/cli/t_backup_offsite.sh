#!/usr/bin/env bash
# Off-site and incremental copies of backups with stock tools, as
# docs/backup.md shows them: a local restic repository (init, backup of
# two daily snapshots, restore) and an rclone copy; `backup verify` and
# `restore` on what comes back. A copy damaged in the repository's keeping
# is refused.
. "$(dirname "$0")/lib.sh"

for tool in restic rclone; do
	if ! command -v "$tool" > /dev/null 2>&1; then
		[ "${CI:-}" = true ] && { fail "$tool is missing (tests/deps.sh installs it)"; finish; }
		skip "$tool is not installed"
	fi
done

export XDG_STATE_HOME="$T/state"
export RESTIC_PASSWORD_FILE="$T/.restic.pass" RESTIC_CACHE_DIR="$T/.restic-cache"
export RESTIC_REPOSITORY="$T/offsite/restic"
export RCLONE_CONFIG="$T/.rclone.conf"
: > "$RCLONE_CONFIG"
(umask 077 && head -c 32 /dev/urandom | base64 > "$RESTIC_PASSWORD_FILE")

mkpass dpo
mkpass aud
mkpass alice
expect_exit 0 cv dpo init --admin dpo
add_user dpo aud auditor
add_user dpo alice caseworker
expect_exit 0 cv alice case create --label "Off-site"
code=${OUT%$'\n'}
head -c 300000 /dev/urandom > "$T/.doc1"
expect_exit 0 cv alice put "$code/doc1.bin" "$T/.doc1"

# restic keeps the path it is given: from the backups' folder, a snapshot
# comes back under its own name.
restic_in() { (cd "$1" && shift && restic "$@"); }

# Day 1 and day 2: a snapshot each, into the restic repository.
mkdir -p "$T/backups" "$T/offsite"
expect_exit 0 restic init -q
expect_exit 0 cv aud backup "$T/backups/day1"
expect_exit 0 restic_in "$T/backups" backup -q --tag casevault day1
head -c 300000 /dev/urandom > "$T/.doc2"
expect_exit 0 cv alice put "$code/doc2.bin" "$T/.doc2"
expect_exit 0 cv aud backup "$T/backups/day2"
expect_exit 0 restic_in "$T/backups" backup -q --tag casevault day2
expect_exit 0 restic snapshots --json
json_ok "$OUTF" "len(o) == 2"
expect_exit 0 restic check -q

# The monthly drill: the newest snapshot back from the repository.
expect_exit 0 restic restore latest --target "$T/drill"
got=$(find "$T/drill" -name manifest -printf '%h\n')
check_eq "restic gives the snapshot back under its name" "$T/drill/day2" "$got"
expect_exit 0 cvbare --user aud --passphrase-file "$T/aud.pass" backup verify "$got"
check_contains "the restored copy verifies" "ok: backup" "$OUT"
expect_exit 0 cvbare restore "$got" "$T/vault2"
expect_exit 0 cvbare --vault "$T/vault2" --user alice --passphrase-file "$T/alice.pass" --restored \
	get "$code/doc2.bin" -o "$T/.got" --purpose care
check "a document reads back from the off-site copy" cmp -s "$T/.got" "$T/.doc2"

# An rclone copy (any remote; a local directory here). rclone does not
# keep the files' modes: backup verify does not need them.
expect_exit 0 rclone copy -q "$T/backups/day1" "$T/offsite/rclone/day1"
expect_exit 0 rclone check -q "$T/backups/day1" "$T/offsite/rclone/day1"
expect_exit 0 cvbare --vault "$VAULT" --user aud --passphrase-file "$T/aud.pass" backup verify "$T/offsite/rclone/day1"
check_match "and says how far behind the vault it is" "holds [0-9]+ events? after it" "$OUT"

# A copy damaged where it was kept.
printf 'X' | dd of="$T/offsite/rclone/day1/data.mdb" bs=1 seek=20000 conv=notrunc 2> /dev/null
expect_exit 3 cvbare --user aud --passphrase-file "$T/aud.pass" backup verify "$T/offsite/rclone/day1"
expect_err_hint "does not match its manifest"

expect_exit 0 cv aud audit verify
finish
