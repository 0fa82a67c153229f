#!/usr/bin/env bash
# Listings are `list` events: `ls` of a case (the case, and the folder's
# node unless it is the root) and `case list` (one per case whose label the
# member sees), with a purpose as a read has; refused listings record
# nothing. verify accepts them.
. "$(dirname "$0")/lib.sh"
QUIET=1

for u in dpo noy som aud; do
	mkpass "$u"
done
expect_exit 0 cv dpo init --admin dpo
add_user dpo noy caseworker
add_user dpo som caseworker
add_user dpo aud auditor
expect_exit 0 cv noy case create --label "first"
c1=${OUT%$'\n'}
expect_exit 0 cv noy case create --label "second"
c2=${OUT%$'\n'}
expect_exit 0 cv som case create --label "som's"
c3=${OUT%$'\n'}
expect_exit 0 cv noy mkdir "$c1/docs"
expect_exit 0 cv noy ls "$c1" --purpose intake --json
sub=$(jfield "$OUTF" 'o["node"]')

# lists COUNT: the `list` events of the log, as "ACTOR CASE NODE PURPOSE".
lists() {
	cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --action list --json 2> /dev/null |
		python3 -c 'import json,sys
for l in sys.stdin:
    o = json.loads(l)
    print(o["actor"], o["case"], o["node"] or "-", o["purpose"] or "-")'
}

before=$(lists | wc -l)
expect_exit 0 cv noy ls "$c1" --purpose intake
check_contains "ls shows the folder" "docs/" "$OUT"
expect_exit 0 cv noy ls "$c1/docs" --purpose "intake:checking the folder"
check_eq "ls records a list naming the case, and the folder's node" \
	"noy $c1 - intake|noy $c1 $sub intake" "$(lists | tail -n +$((before + 1)) | paste -sd'|' -)"

before=$(lists | wc -l)
expect_exit 0 cv noy case list --purpose intake
check_contains "case list shows noy's labels" "first" "$OUT"
check_eq "case list: one list per case whose label noy sees" \
	"$(printf 'noy %s - intake\n' "$c1" "$c2" | sort | paste -sd'|' -)" \
	"$(lists | tail -n +$((before + 1)) | sort | paste -sd'|' -)"
before=$(lists | wc -l)
expect_exit 0 cv noy ls --purpose intake --json
check_eq "ls without a case: as case list" 2 "$(($(lists | wc -l) - before))"

# Refused: no list event.
before=$(lists | wc -l)
expect_exit 4 cv som ls "$c1" --purpose intake
expect_err_hint
expect_exit 4 cv som ls "$c1/docs" --purpose intake
expect_err_hint
expect_exit 1 cv noy ls "$c1/nothing" --purpose intake
expect_err_hint
expect_exit 2 cv noy ls "$c1" --purpose "Bad Code"
expect_err_hint
check_eq "a refused listing records nothing" "$before" "$(lists | wc -l)"

# Admins and auditors see no labels: their case list records nothing.
expect_exit 0 cv dpo case list
expect_exit 0 cv aud case list
check_eq "an admin's or auditor's case list records nothing" "$before" "$(lists | wc -l)"

# With purposes listed (and required, as in every new vault), a listing
# needs one of them.
expect_exit 0 cv dpo purpose add intake
before=$(lists | wc -l)
expect_exit 2 cv noy ls "$c1"
expect_err_hint "purpose"
check_contains "the hint names --purpose" "--purpose" "$ERR"
expect_exit 2 cv noy case list
expect_err_hint "purpose"
expect_exit 2 cv noy ls "$c1" --purpose legal
expect_err_hint "legal"
check_eq "a listing without the purpose required records nothing" "$before" "$(lists | wc -l)"
expect_exit 0 cv som case list --purpose intake
check_eq "som's case list: her one case" "som $c3 - intake" "$(lists | tail -n 1)"

# The log and the reports show them.
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --action list
check_match "audit log shows list events" "list $c1" "$OUT"
expect_exit 0 cv aud audit report --case "$c1" --json
check "the case report shows noy's listings" json_ok "$OUTF" 'o["kind"] in ("read", "write")'
check_eq "the case report: noy's listings of $c1" 5 \
	"$(jfield "$OUTF" 'o["action"]' | grep -c '^list$')"
expect_exit 0 cv aud audit report --user noy
check_contains "the user report shows listings" "list" "$OUT"

expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit verify
finish
