#!/usr/bin/env bash
# A new vault requires a purpose on every read and listing: `get`, `ls`,
# `case list` and the mount without `--purpose` are refused (exit 2, one
# error line and a hint naming --purpose) and record, print and write
# nothing. `purpose require off` is an admin's event (a caseworker is
# refused, exit 4); then reads without a purpose work and are recorded
# without one. The history verifies.
. "$(dirname "$0")/lib.sh"

for u in dpo noy; do
	mkpass "$u"
done
expect_exit 0 cv dpo init --admin dpo || finish
add_user dpo noy caseworker
expect_exit 0 cv noy case create --label "purposes" || finish
code=${OUT%$'\n'}
expect_exit 0 cv noy mkdir "$code/sub"
printf 'interview notes\n' > "$T/doc"
expect_exit 0 cv noy put "$code/sub/doc.txt" "$T/doc"

# last_event PYEXPR: PYEXPR over the last event of the log.
last_event() {
	cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --json 2> /dev/null | tail -n 1 > "$T/.last"
	jfield "$T/.last" "$1"
}
is_mount() {
	python3 -c 'import os, sys; sys.exit(0 if os.path.ismount(sys.argv[1]) else 1)' "$1"
}

# --- a new vault requires one -------------------------------------------------
expect_exit 0 cv noy purpose list
check_eq "a new vault: no purposes, one required" "required: yes" "${OUT%$'\n'}"
expect_exit 0 cv noy purpose list --json
json_ok "$OUTF" 'o["required"] is True and o["purposes"] == []'

# refused ARGS...: `cv noy ARGS` exits 2 with the error and a hint that
# names --purpose and says that nothing was recorded; nothing changed.
refused() {
	snapshot
	expect_exit 2 cv noy "$@"
	expect_err_hint "requires a purpose"
	check_contains "the hint says how to give one" "--purpose CODE" "$(sed -n 2p "$ERRF")"
	check_contains "the hint says nothing was recorded" "nothing was" "$(sed -n 2p "$ERRF")"
	expect_no_stdout "$1 without a purpose"
	expect_unchanged "$1 without a purpose records nothing"
}

refused get "$code/sub/doc.txt"
check_contains "get: nothing was written" "recorded or written" "$ERR"
refused get "$code/sub/doc.txt" -o "$T/.copy"
check "get -o without a purpose: no file" [ ! -e "$T/.copy" ]
refused ls "$code"
check_contains "ls: nothing was listed" "recorded or listed" "$ERR"
refused ls "$code/sub"
refused ls
refused case list --json
mkdir -p "$T/.mnt"
refused mount "$T/.mnt"
check_contains "mount: says the purpose is missing" "cannot mount" "$(sed -n 1p "$ERRF")"
check_contains "mount: nothing was mounted" "nothing was mounted" "$ERR"
check "mount without a purpose: not mounted" eval '! is_mount "$T/.mnt"'
check_eq "no read or list event yet" "" \
	"$(cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --json 2> /dev/null | grep -E '"action": ?"(read|list|mount)"')"

# With a purpose: recorded with it.
expect_exit 0 cv noy get "$code/sub/doc.txt" --purpose check
check "get --purpose reads the file" cmp -s "$OUTF" "$T/doc"
check_eq "the read records its purpose" "read check" "$(last_event 'o["action"] + " " + o["purpose"]')"
expect_exit 0 cv noy ls "$code" --purpose check
check_contains "ls --purpose lists" "sub/" "$OUT"
check_eq "the listing records its purpose" "list check" "$(last_event 'o["action"] + " " + o["purpose"]')"

# --- only an admin turns it off, and that is an event ---------------------------
snapshot
expect_exit 4 cv noy purpose require off
expect_err_hint
expect_unchanged "a caseworker's 'purpose require off' changes nothing"
expect_exit 0 cv dpo purpose require on
expect_unchanged "'purpose require on' where it is on records nothing"

expect_exit 0 cv dpo purpose require off
check_eq "'purpose require off' is a purpose-require event by dpo" "purpose-require dpo" \
	"$(last_event 'o["action"] + " " + o["actor"]')"
expect_exit 0 cv noy purpose list
check_eq "purpose list: no longer required" "required: no" "${OUT%$'\n'}"

expect_exit 0 cv noy get "$code/sub/doc.txt"
check "get without a purpose reads the file" cmp -s "$OUTF" "$T/doc"
check_eq "the read records no purpose" "read " "$(last_event 'o["action"] + " " + (o["purpose"] or "")')"
expect_exit 0 cv noy ls "$code/sub"
check_contains "ls without a purpose lists" "doc.txt" "$OUT"
expect_exit 0 cv noy case list
check_contains "case list without a purpose shows the label" "purposes" "$OUT"

# On again: refused again.
expect_exit 0 cv dpo purpose require on
check_eq "'purpose require on' is an event" "purpose-require dpo" \
	"$(last_event 'o["action"] + " " + o["actor"]')"
refused get "$code/sub/doc.txt"

expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit verify
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --action purpose-require --json
check_eq "the log holds both purpose-require events" 2 "$(wc -l < "$OUTF")"
finish
