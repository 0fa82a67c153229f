#!/usr/bin/env bash
# audit verify's options: --json, --threads, --anchor and --against (a
# witness), each with its bad inputs.
. "$(dirname "$0")/lib.sh"

mkpass dpo
mkpass alice
expect_exit 0 cv dpo init --admin dpo
genesis=$(head_of)
add_user dpo alice caseworker
expect_exit 0 cv alice case create --label "Verify test"
code=${OUT%$'\n'}
printf 'one\n' > "$T/doc"
expect_exit 0 cv alice put "$code/doc.txt" "$T/doc"
expect_exit 0 cv alice get "$code/doc.txt" --purpose check
head=$(head_of)

# --json: one object with the counts and the head.
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit verify --json
json_ok "$OUTF" 'o["ok"] is True and o["events"] == 6 and o["versions"] == 1 and o["records"] >= 4'
check_eq "--json names the head" "$head" "$(jfield "$OUTF" 'o["head"]')"
check_eq "--json is one line" 1 "$(wc -l < "$OUTF")"

# --threads: any count gives the same answer; bad counts are usage errors.
for n in 1 2 5; do
	expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit verify --threads $n
	check_contains "--threads $n verifies" "ok: 6 events, 1 versions verified, head $head" "$OUT"
done
for bad in 0 -1 x 65 1x ""; do
	expect_exit 2 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit verify --threads "$bad"
	expect_err_hint "threads"
done

# --anchor: the genesis and the head are in the chain; others are not.
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit verify --anchor "$genesis"
expect_exit 3 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit verify --anchor 0123456789abcdef0123456789abcdef01234567
expect_err_hint "not in the history"
# A prefix names an event, as in 'audit show'; one that names none, or is
# not 7 to 40 hex digits, is the caller's mistake (2), not a failed verify.
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit verify --anchor "${genesis:0:12}"
check_contains "an anchor given by a prefix verifies" "ok: 6 events" "$OUT"
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit verify --anchor "${head:0:7}"
expect_exit 2 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit verify --anchor 0000000
expect_err_hint "no event '0000000'"
check_not_contains "an unknown prefix is not called a failed verify" "verify failed" "$ERR"
expect_exit 2 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit verify --anchor abc
expect_err_hint "7 to 40 hex digits"
check_not_contains "a short anchor is not called a failed verify" "verify failed" "$ERR"
expect_exit 2 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit verify --anchor "xyz${genesis:3}"
expect_err_hint "not a commit id"
check_not_contains "a bad anchor is not called a failed verify" "verify failed" "$ERR"

# --against a witness: up to date, then behind.
git init -q --bare "$T/witness.git"
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit push "$T/witness.git"
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit verify --against "$T/witness.git"
check_contains "an up-to-date witness" "witness $T/witness.git holds $head, an event of this history (0 events behind)" "$OUT"
expect_exit 0 cv alice get "$code/doc.txt" --purpose check
expect_exit 0 cv alice get "$code/doc.txt" --purpose check
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit verify --against "file://$T/witness.git" --json
json_ok "$OUTF" 'o["ok"] is True and o["witness_behind"] == 2'
check_eq "--json names what the witness holds" "$head" "$(jfield "$OUTF" 'o["witness_head"]')"

# A witness of another vault: exit 3, nothing changed on either side.
mkdir "$T/other"
expect_exit 0 cvbare --vault "$T/other/v" --user dpo --passphrase-file "$T/dpo.pass" init --admin dpo
git init -q --bare "$T/foreign.git"
expect_exit 0 cvbare --vault "$T/other/v" --user dpo --passphrase-file "$T/dpo.pass" audit push "$T/foreign.git"
snapshot
expect_exit 3 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit verify --against "$T/foreign.git"
expect_err_hint "witness"
expect_unchanged "a foreign witness changes nothing"

# A rolled-back vault: the witness holds events it lacks.
cp -a "$VAULT" "$T/old"
expect_exit 0 cv alice get "$code/doc.txt" --purpose check
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit push "$T/witness.git"
expect_exit 3 cvbare --vault "$T/old" --user dpo --passphrase-file "$T/dpo.pass" audit verify --against "$T/witness.git"
expect_err_hint "not in"

# A repository with no history, and no repository at all.
git init -q --bare "$T/empty.git"
expect_exit 1 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit verify --against "$T/empty.git"
expect_err_hint "holds no audit history"
expect_exit 1 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit verify --against "$T/missing.git"
expect_err_hint "missing.git"
check_contains "the hint says what a witness is" "git init --bare" "$ERR"

finish
