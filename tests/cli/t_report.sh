#!/usr/bin/env bash
# The auditor's and the DPO's views: audit log filters and notes, audit
# show, the reports (case, user, revoked member, anomalies) and the
# settings that hold the anomaly thresholds. Events cannot be placed at
# chosen times, so the thresholds are chosen to make each rule fire (or
# not) whatever the clock says.
. "$(dirname "$0")/lib.sh"
QUIET=1

for u in dpo noy som aud cw2; do
	mkpass "$u"
done

# --- a small vault ------------------------------------------------------------
expect_exit 0 cv dpo init --admin dpo
add_user dpo noy caseworker
add_user dpo som caseworker
add_user dpo cw2 caseworker
add_user dpo aud auditor
expect_exit 0 cv dpo purpose add intake
expect_exit 0 cv dpo purpose add legal-aid

expect_exit 0 cv noy case create --label "first"
c1=$OUT; c1=${c1%$'\n'}
expect_exit 0 cv cw2 case create
c2=$OUT; c2=${c2%$'\n'}
printf 'statement one\n' > "$T/s1.txt"
printf 'statement two\n' > "$T/s2.txt"
expect_exit 0 cv noy put "$c1/s1.txt" "$T/s1.txt"
expect_exit 0 cv noy put "$c1/s2.txt" "$T/s2.txt"
expect_exit 0 cv cw2 put "$c2/other.txt" "$T/s1.txt"
expect_exit 0 cv noy get "$c1/s1.txt" --purpose "intake:called the shelter about the interview" -o "$T/.g1"
expect_exit 0 cv noy get "$c1/s2.txt" --purpose legal-aid -o "$T/.g2"

# som is granted, receives the key (noy's session), reads, and is revoked;
# noy then writes a new version under a new epoch that som never held.
expect_exit 0 cv dpo case grant "$c1" som --read-only
expect_exit 0 cv noy ls "$c1" --purpose intake
expect_exit 0 cv som get "$c1/s1.txt" --purpose "intake:second opinion" -o "$T/.g3"
expect_exit 0 cv som get "$c1/s2.txt" --purpose intake -o "$T/.g4"
expect_exit 0 cv dpo case revoke "$c1" som
printf 'statement one, amended\n' > "$T/s1.txt"
expect_exit 0 cv noy put "$c1/s1.txt" "$T/s1.txt"
s1node=$(cv noy ls "$c1" --purpose intake --json | python3 -c 'import json,sys
for l in sys.stdin:
    o = json.loads(l)
    if o["name"] == "s1.txt": print(o["node"])')
check_match "the node id of s1.txt" '^[0-9a-f]{16}$' "$s1node"

# failed unlocks of cw2
mkpass bad "not the passphrase of cw2"
for i in 1 2 3; do
	expect_exit 5 "$CASEVAULT_BIN" --vault "$VAULT" --user cw2 --passphrase-file "$T/bad.pass" ls
done

# --- audit log: --action, --node, --notes ------------------------------------
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --action read
check_eq "log --action read: the four reads" 4 "$(wc -l < "$OUTF")"
check_not_contains "log without --notes shows no note" "shelter" "$OUT"
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --action grant --action revoke --json
check "log --action twice: grant and revoke" json_ok "$OUTF" 'o["action"] in ("grant", "revoke")'
check_eq "log --action twice: two events" 2 "$(wc -l < "$OUTF")"
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --action grant,revoke,unlock-failed
check_eq "log --action comma list" 5 "$(wc -l < "$OUTF")"
# The filter knows the actions of the action table, and only those: no
# event is ever a `shred` (yet), so the name is a typo like any other.
expect_exit 2 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --action shred
expect_exit 2 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --action reed
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --node "$s1node" --json
check "log --node: only that node" json_ok "$OUTF" "o['node'] == '$s1node'"
check_eq "log --node: two writes and two reads" "write read read write" \
	"$(jfield "$OUTF" 'o["action"]' | paste -sd' ' -)"
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --node "$s1node" --action read --user som
check_eq "log --node --action --user" 1 "$(wc -l < "$OUTF")"

expect_exit 0 cv aud audit log --notes --action read --json
check "log --notes --json: a note on each read" json_ok "$OUTF" '"note" in o'
check_eq "log --notes: the notes, decrypted" \
	"called the shelter about the interview|null|second opinion|null" \
	"$(jfield "$OUTF" 'o["note"]' | head -4 | paste -sd'|' -)"
expect_exit 0 cv dpo audit log --notes --action read
check_contains "log --notes as admin, text" "note: called the shelter about the interview" "$OUT"

# notes: caseworkers and anonymous callers are refused
expect_exit 4 cv noy audit log --notes
expect_err_hint "admins and auditors"
expect_no_stdout "log --notes as a caseworker"
expect_exit 4 cvbare --vault "$VAULT" audit log --notes
expect_err_hint "no user given"
expect_exit 5 "$CASEVAULT_BIN" --vault "$VAULT" --user aud --passphrase-file "$T/bad.pass" audit log --notes
expect_err_hint

# The text log: short commit ids, the target of every grant and revoke
# and the access it gave or took.
expect_exit 0 cv dpo case grant "$c2" noy
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --json --action grant,revoke
grants=$(jfield "$OUTF" 'o["commit"][:12] + " " + o["actor"] + " " + o["action"] + " " + o["case"] + " " + o["target"] + " " + o["access"]')
check_eq "log --json: grants and revokes carry their access" \
	"dpo grant $c1 som ro|dpo revoke $c1 som ro|dpo grant $c2 noy rw" \
	"$(printf '%s\n' "$grants" | cut -d' ' -f2- | paste -sd'|' -)"
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --action grant,revoke
check_eq "log, text: COMMIT TIME ACTOR ACTION CASE - - - TARGET ACCESS" \
	"$(printf '%s\n' "$grants" | awk '{ print $1, $2, $3, $4, "- - -", $5, $6 }')" \
	"$(awk '{ $2 = ""; $0 = $0; print }' "$OUTF" | tr -s ' ')"
check "log, text: every line starts with a short commit id" \
	bash -c '! grep -vqE "^[0-9a-f]{12} [0-9]{4}-" "$1"' _ "$OUTF"
first=$(head -c 12 "$OUTF")
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit show "$first"
check_contains "show takes the short id of the log" "action    grant" "$OUT"

# A case or user the history never names: an error (2), not an empty log.
for args in "--case C-ZZZZZZZZ" "--user nobody" "--user nobody --case $c1" "--case C-ZZZZZZZZ --since 2000-01-01"; do
	# shellcheck disable=SC2086
	expect_exit 2 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log $args
	expect_err_hint "is not in the history"
	expect_no_stdout "log $args"
done
# A name the history had counts, whenever it was.
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --user som --since 2100-01-01
expect_no_stdout "a known user with no events in the time asked"
expect_exit 0 cv dpo user add idle --role caseworker --code-file "$T/.idle.code"
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --user idle
expect_no_stdout "a user who was added and never acted (not even enrolled)"

# bad input
expect_exit 2 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --action raed
expect_err_hint "raed"
expect_exit 2 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --action read,
expect_err_hint
expect_exit 2 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --node xyz
expect_err_hint "xyz"
expect_exit 2 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --since yesterday
expect_err_hint "since"

# --- audit show ---------------------------------------------------------------
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --json --action grant
grant=$(jfield "$OUTF" 'o["commit"]' | head -1)
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --json --action read --user noy
read1=$(jfield "$OUTF" 'o["commit"]' | head -1)
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --json --action unlock-failed
failed=$(jfield "$OUTF" 'o["commit"]' | head -1)

expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit show "${grant:0:10}"
check_contains "show: the full id" "event     $grant" "$OUT"
check_contains "show: the action" "action    grant" "$OUT"
check_contains "show: the target" "target    som" "$OUT"
check_contains "show: good signature" "signature good, signed by dpo" "$OUT"
check_contains "show: the case file changed" "  M policy/cases/$c1" "$OUT"
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit show "$grant" --json
check "show --json" json_ok "$OUTF" \
	"o['commit'] == '$grant' and o['signature'] == 'good' and o['signer'] == 'dpo' and o['changes'] == [{'path': 'policy/cases/$c1', 'change': 'changed'}] and 'note' not in o"
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit show "$failed" --json
check "show: a failed unlock is unsigned and changes nothing" json_ok "$OUTF" \
	"o['signature'] == 'unsigned' and o['signer'] is None and o['changes'] == [] and o['actor'] == 'cw2'"
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit show "$read1"
check_contains "show: a sealed note without --notes" "(sealed; --notes opens it)" "$OUT"
check_contains "show: a read changes nothing" "changes   none" "$OUT"
expect_exit 0 cv dpo audit show "$read1" --notes
check_contains "show --notes: the note" "note      called the shelter about the interview" "$OUT"
expect_exit 0 cv aud audit show "$read1" --notes --json
check "show --notes --json: the note" json_ok "$OUTF" \
	"o['note'] == 'called the shelter about the interview' and o['has_note'] and o['purpose'] == 'intake'"
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --json --action write
w1=$(jfield "$OUTF" 'o["commit"]' | head -1)
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit show "$w1" --json
# A first write adds its node, and its folder's times change with the new entry.
check "show: a first write adds its node and changes its folder" json_ok "$OUTF" \
	"sorted(c['change'] for c in o['changes']) == ['added', 'changed'] and all(c['path'].startswith('nodes/') for c in o['changes'])"

# #N: the event number verify and show print ("event N").
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit show "$grant"
nth=$(sed -n 's/^event .* (event \([0-9]*\) of the chain)$/\1/p' "$OUTF")
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit show "#$nth" --json
check "show '#N' shows the N-th event" json_ok "$OUTF" "o['commit'] == '$grant' and o['index'] == $nth"
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit show '#1'
check_contains "show '#1' is the genesis" "parent    none (the genesis)" "$OUT"
expect_exit 1 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit show '#100000'
expect_err_hint "no event #100000"
for bad in '#0' '#' '#x' '#-1'; do
	expect_exit 2 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit show "$bad"
	expect_err_hint "event number"
done

expect_exit 4 cv noy audit show "$read1" --notes
expect_err_hint "admins and auditors"
expect_exit 1 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit show 0000000
expect_err_hint "no event"
expect_exit 2 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit show xyz1234
expect_err_hint "xyz1234"
expect_exit 2 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit show abc12
expect_err_hint
expect_exit 2 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit show
expect_err_hint
# An ambiguous prefix: find two events sharing their first 7 digits, else
# make the prefix shorter... no, 7 is the minimum: look for a shared one.
amb=$(cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --json | python3 -c 'import json,sys,collections
c = collections.Counter(json.loads(l)["commit"][:7] for l in sys.stdin)
print(next((k for k, n in c.items() if n > 1), ""))')
if [ -n "$amb" ]; then
	expect_exit 1 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit show "$amb"
	expect_err_hint "ambiguous"
fi

# --- reports: access ----------------------------------------------------------
for args in "--case $c1" "--user som" "--revoked som --case $c1" "--anomalies"; do
	# shellcheck disable=SC2086
	expect_exit 4 cv noy audit report $args
	expect_err_hint "admins and auditors"
	expect_no_stdout "report $args as a caseworker"
done
expect_exit 4 cvbare --vault "$VAULT" audit report --anomalies
expect_err_hint "no user given"
expect_exit 2 cv aud audit report
expect_err_hint
expect_exit 2 cv aud audit report --user som --anomalies
expect_err_hint
expect_exit 2 cv aud audit report --revoked som
expect_err_hint "--case"

# --- report --case ------------------------------------------------------------
expect_exit 0 cv aud audit report --case "$c1" --json
check "case report: reads, listings and writes of its documents" json_ok "$OUTF" \
	"o['kind'] in ('read', 'write') and o['case'] == '$c1' and (o['node'] or o['action'] == 'list')"
check_eq "case report: who did what" \
	"write noy,write noy,read noy,read noy,read som,read som,write noy" \
	"$(jfield "$OUTF" 'o["kind"] + " " + o["actor"] if o["action"] != "list" else ""' | grep -v '^$' | paste -sd, -)"
check_eq "case report: the purposes" "None,None,intake,legal-aid,intake,intake,None" \
	"$(jfield "$OUTF" 'str(o["purpose"]) if o["action"] != "list" else ""' | grep -v '^$' |
		sed 's/^null$/None/' | paste -sd, -)"
check "case report: noy's listings of the case are looks (read)" test \
	"$(jfield "$OUTF" 'o["kind"] + " " + o["actor"] if o["action"] == "list" else ""' |
		grep -c '^read noy$')" -ge 1
expect_exit 0 cv dpo audit report --case "$c1" --notes
check_contains "case report --notes" "read  " "$OUT"
check_contains "case report --notes: the note" "note: second opinion" "$OUT"
check_not_contains "case report: nothing of the other case" "$c2" "$OUT"
expect_exit 2 cv aud audit report --case C-NOTACASE
expect_err_hint "C-NOTACASE"
expect_no_stdout "report on an unknown case"

# --- report --user ------------------------------------------------------------
expect_exit 0 cv aud audit report --user som --json
check "user report: by and about" json_ok "$OUTF" \
	"(o['kind'] == 'by' and o['actor'] == 'som') or (o['kind'] == 'about' and o['target'] == 'som')"
check_eq "user report: the events" "about user-add,by enrol,about grant,by read,by read,about revoke" \
	"$(jfield "$OUTF" 'o["kind"] + " " + o["action"]' | paste -sd, -)"
expect_exit 0 cv aud audit report --user cw2
check_eq "user report: failed unlocks are the user's" 3 "$(grep -c 'unlock-failed' "$OUTF")"
expect_exit 2 cv aud audit report --user nobody
expect_err_hint "nobody"
expect_no_stdout "report on an unknown user"

# --- report --revoked ---------------------------------------------------------
expect_exit 0 cv aud audit report --revoked som --case "$c1" --json
check "revoked report: JSON" json_ok "$OUTF" "o['kind'] in ('member', 'read', 'exposed')"
check_eq "revoked report: one span, ro, epoch 1" "ro 1 True" \
	"$(jfield "$OUTF" 'o["access"] + " " + str(o["epoch"]) + " " + str(o["revoked"] is not None) if o["kind"] == "member" else None' | grep -v '^null$')"
check_eq "revoked report: som's two reads" 2 "$(grep -c '"kind":"read"' "$OUTF")"
check_eq "revoked report: the versions under epoch 1 (not the amended one)" \
	"s1 v1,s2 v1" \
	"$(jfield "$OUTF" '("s1" if o["node"] == "'"$s1node"'" else "s2") + " v" + str(o["version"]) if o["kind"] == "exposed" else None' | grep -v '^null$' | paste -sd, -)"
expect_exit 0 cv dpo audit report --revoked som --case "$c1"
check_match "revoked report, text: the span" "(^|"$'\n'")member som $c1 ro from " "$OUT"
check_match "revoked report, text: exposed" "(^|"$'\n'")exposed $c1 $s1node v1 epoch 1 " "$OUT"
check_not_contains "revoked report: the amended version is not exposed" "$s1node v2" "$OUT"
expect_exit 1 cv aud audit report --revoked cw2 --case "$c1"
expect_err_hint "never a member"
expect_exit 2 cv aud audit report --revoked som --case C-NOTACASE
expect_err_hint "C-NOTACASE"
expect_exit 2 cv aud audit report --revoked nobody --case "$c1"
expect_err_hint "nobody"

# --- settings -----------------------------------------------------------------
expect_exit 0 cv aud settings show --json
check "settings show --json" json_ok "$OUTF" '{"key", "value", "default"} <= set(o) and o["default"]'
check_eq "settings: the defaults" "20,3600,07:00-19:00,mon,tue,wed,thu,fri,UTC,3600,5,600,86400,,100,604800,256M,6" \
	"$(jfield "$OUTF" 'o["value"]' | paste -sd, -)"
snapshot
for kv in "bulk-read-count 0" "bulk-read-count many" "bulk-read-window 0" "bulk-read-window 5y" \
	"work-hours 07:00-07:00" "work-hours 24:00-07:00" "work-hours 7-19" "work-hours 07:00-25:00" \
	"work-days funday" "time-zone Mars/Olympus" "time-zone ../../etc/passwd" "time-zone /etc/localtime" \
	"work-days mon," "no-such-key 1"; do
	# shellcheck disable=SC2086
	expect_exit 2 cv dpo settings set $kv
	expect_err_hint "${kv%% *}"
done
expect_exit 4 cv noy settings set bulk-read-count 3
expect_err_hint "bulk-read-count"
expect_exit 4 cv aud settings set bulk-read-count 3
expect_err_hint
expect_exit 2 cv dpo settings set bulk-read-count
expect_err_hint
expect_unchanged "after refused settings"

today=$(date -u +%u)   # 1 Monday .. 7 Sunday
other=$(( (today + 2) % 7 + 1 ))   # neither today nor tomorrow
names=(x mon tue wed thu fri sat sun)
expect_exit 0 cv dpo settings set bulk-read-count 3
expect_exit 0 cv dpo settings set bulk-read-window 1h
expect_exit 0 cv dpo settings set work-days "${names[$other]}"
expect_exit 0 cv dpo settings set membership-read-window 1d
expect_exit 0 cv dpo settings set failed-unlock-count 2
expect_exit 0 cv dpo settings set failed-unlock-window 10m
expect_exit 0 cv aud settings show --json
check_eq "settings: normal forms" "3,3600,${names[$other]},86400,2,600" \
	"$(jfield "$OUTF" 'o["value"] if not o["default"] else None' | grep -v '^null$' | paste -sd, -)"
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --action setting --json
check "each change is a setting event naming its key" json_ok "$OUTF" \
	'o["actor"] == "dpo" and o["target"] in ("bulk-read-count", "bulk-read-window", "work-days", "membership-read-window", "failed-unlock-count", "failed-unlock-window")'
check_eq "six setting events" 6 "$(wc -l < "$OUTF")"
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --action setting
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit show "$(cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --action setting --json | tail -1 | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["commit"])')"
check_contains "a setting changes policy/settings" "  M policy/settings" "$OUT"
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit verify

# --- report --anomalies -------------------------------------------------------
# noy reads four more times: more than 3 in an hour.
for i in 1 2 3 4; do
	expect_exit 0 cv noy get "$c1/s2.txt" --purpose legal-aid -o "$T/.r$i"
done
expect_exit 0 cv aud audit report --anomalies --json
check "anomalies: JSON flags" json_ok "$OUTF" \
	'o["kind"] == "flag" and {"rule", "user", "from", "to", "count", "limit", "window"} <= set(o)'
check_eq "anomalies: bulk reads by noy" "noy 6 3 3600" \
	"$(jfield "$OUTF" 'o["user"] + " " + str(o["count"]) + " " + str(o["limit"]) + " " + str(o["window"]) if o["rule"] == "bulk-reads" else None' | grep -v '^null$')"
check_eq "anomalies: every read is off the working days" "noy 6,som 2" \
	"$(jfield "$OUTF" 'o["user"] + " " + str(o["count"]) if o["rule"] == "off-hours" else None' | grep -v '^null$' | sort | paste -sd, -)"
check_eq "anomalies: reads after the grant and the revoke" "noy,noy,som" \
	"$(jfield "$OUTF" 'o["user"] if o["rule"] == "after-membership-change" else None' | grep -v '^null$' | sort | paste -sd, -)"
check "anomalies: membership flags name the case" json_ok "$OUTF" \
	"o['rule'] != 'after-membership-change' or (o['case'] == '$c1' and o['window'] == 86400)"
check_eq "anomalies: failed unlocks of cw2" "cw2 3 2 600" \
	"$(jfield "$OUTF" 'o["user"] + " " + str(o["count"]) + " " + str(o["limit"]) + " " + str(o["window"]) if o["rule"] == "failed-unlocks" else None' | grep -v '^null$')"
expect_exit 0 cv dpo audit report --anomalies
check_match "anomalies, text" "(^|"$'\n'")flag bulk-reads user noy from [^ ]+ to [^ ]+: 6 reads \(more than 3 in 3600 s\)" "$OUT"
check_match "anomalies, text: failed unlocks" "flag failed-unlocks user cw2 .*: 3 failed unlocks \(more than 2 in 600 s\)" "$OUT"
check_match "anomalies, text: dpo granted som, whom dpo had added" \
	"flag grant-after-add user dpo case $c1 from [^ ]+ to [^ ]+: 1 grants \(within 86400 s\): granted som, whom they added at event [0-9a-f]{12}" "$OUT"

# Back to wider thresholds: nothing fires but the membership rules.
expect_exit 0 cv dpo settings set work-days mon-sun
expect_exit 0 cv dpo settings set work-hours 00:00-24:00
expect_exit 0 cv dpo settings unset bulk-read-count
expect_exit 0 cv dpo settings set failed-unlock-count 3
expect_exit 0 cv dpo settings set membership-read-window 1
expect_exit 0 cv dpo settings set grant-after-add-window 1
expect_exit 0 cv aud audit report --anomalies --json
if [ -s "$OUTF" ]; then
	check "anomalies: only reads and grants in the same second as a grant or add remain" json_ok "$OUTF" \
		'o["rule"] in ("after-membership-change", "grant-after-add")'
else
	pass "anomalies: none"
fi
expect_exit 0 cv aud audit report --anomalies --since 2000-01-01 --until 2000-01-02
expect_no_stdout "anomalies of a day with no events"
expect_exit 2 cv aud audit report --anomalies --since noon
expect_err_hint "since"

# The history still verifies after the setting events.
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit verify
check_contains "audit verify ok" "ok:" "$OUT"

finish
