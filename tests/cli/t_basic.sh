#!/usr/bin/env bash
# The main job, as a new user does it: a DPO creates the vault and the
# users, a caseworker opens a case and files documents, a colleague is
# granted access (the key reaches them through a member's session), reads
# need a purpose, an auditor reads and verifies the history.
. "$(dirname "$0")/lib.sh"

READS=0     # successful gets: each must be one `read` event
# get_ok ARGS...: a get that must succeed (counted as a read).
get_ok() {
	if expect_exit 0 "$@"; then
		READS=$((READS + 1))
		return 0
	fi
	return 1
}

for u in dpo noy som aud tmp; do
	mkpass "$u"
done

# --- init -------------------------------------------------------------
expect_exit 0 cv dpo init --admin dpo
check_match "init prints the vault id" '(^|'$'\n'')vault-id [0-9A-Za-z]+'$'\n' "$OUT"
check_match "init prints the genesis commit" '(^|'$'\n'')genesis [0-9a-f]{40}'$'\n' "$OUT"
check_eq "init prints two lines" 2 "$(wc -l < "$OUTF")"
genesis=$(sed -n 's/^genesis //p' "$OUTF")
check_eq "the head is the genesis commit" "$genesis" "$(head_of)"
check_eq "data.mdb is mode 600" 600 "$(stat -c %a "$VAULT/data.mdb" 2>&1)"
# A new vault requires a purpose on every read (t_purpose.sh); reads here
# give none until the purposes part requires one again.
expect_exit 0 cv dpo purpose require off

snapshot
expect_exit '!0' cv dpo init --admin dpo
expect_err_hint
expect_no_stdout "second init"
expect_exit '!0' cv noy init --admin noy
expect_unchanged "after a second init"
expect_exit 5 cv noy ls
expect_err_hint "noy"

# --- users --------------------------------------------------------------
add_user dpo noy caseworker
expect_no_stdout "enrol"
add_user dpo som caseworker
add_user dpo aud auditor
add_user dpo tmp caseworker

expect_exit 0 cv dpo user list
for u in dpo noy som aud tmp; do
	check_match "user list shows $u" "(^|"$'\n'")$u " "$OUT"
done
expect_exit 0 cv dpo user list --json
check "user list --json: one JSON object per line with name, role, status" \
	json_ok "$OUTF" '{"name", "role", "status"} <= set(o)'
check_eq "user list --json: the users and roles" \
	"aud auditor active,dpo admin active,noy caseworker active,som caseworker active,tmp caseworker active" \
	"$(jfield "$OUTF" 'o["name"] + " " + o["role"] + " " + o["status"]' | sort | paste -sd, -)"

# disable
expect_exit 0 cv tmp ls
expect_exit 0 cv dpo user disable tmp
expect_exit 5 cv tmp ls
expect_err_hint "tmp"
expect_exit 0 cv dpo user list --json
check_eq "a disabled user is listed as disabled" "disabled" \
	"$(jfield "$OUTF" 'o["status"] if o["name"] == "tmp" else ""' | grep -v '^$')"
expect_exit 4 cv noy user disable som
expect_err_hint

# passwd: the old passphrase fails with 5, the new one works
cp "$T/noy.pass" "$T/noy-old.pass"
mkpass noy-new "fresh kettle passphrase $RANDOM"
expect_exit 0 cv noy user passwd --new-passphrase-file "$T/noy-new.pass"
expect_exit 5 cv noy ls
expect_err_hint "noy"
cp "$T/noy-new.pass" "$T/noy.pass"
expect_exit 0 cv noy ls
rm -f "$T/noy-new.pass" "$T/noy-old.pass"

# --- cases ----------------------------------------------------------------
label="Referral from Savannakhet $RANDOM"
expect_exit 0 cv noy case create --label "$label"
code=$OUT
code=${code%$'\n'}
check_match "case create prints the code alone" '^C-[0-9A-Z]{8}$' "$code"
check_eq "case create prints one line" 1 "$(wc -l < "$OUTF")"
expect_exit 0 cv noy case create
code2=${OUT%$'\n'}
check_match "case create without a label" '^C-[0-9A-Z]{8}$' "$code2"
check "two cases have different codes" [ "$code" != "$code2" ]

expect_exit 0 cv noy case list
check_contains "case list (member) shows the code" "$code" "$OUT"
check_contains "case list (member) shows the label" "$label" "$OUT"
expect_exit 0 cv noy ls
check_contains "ls without argument lists the case" "$code" "$OUT"
expect_exit 0 cv noy case list --json
check "case list --json parses" json_ok "$OUTF" '"code" in o and "label" in o and "members" in o'
check_eq "case list --json (member): the label" "$label" \
	"$(jfield "$OUTF" 'o["label"] if o["code"] == "'"$code"'" else ""' | grep -v '^$')"
expect_exit 0 cv dpo case list
check_contains "case list (admin) shows the code" "$code" "$OUT"
check_contains "case list (admin) shows the member" "noy" "$OUT"
check_not_contains "case list (admin) does not show the label" "$label" "$OUT"
expect_exit 0 cv dpo case list --json
check "case list --json (admin): label is null, noy is a member" json_ok "$OUTF" \
	'o["label"] is None and "noy" in [m["user"] for m in o["members"]]'
check_not_contains "case list --json (admin) does not hold the label" "$label" "$OUT"

# --- put / get ------------------------------------------------------------
printf 'Name: (withheld)\nArrived: 2026-11-02\n' > "$T/intake1.txt"
printf 'Arrived: 2026-11-02\nNeeds: legal aid\n' > "$T/intake2.txt"
printf 'notes from stdin %s\n' "$RANDOM" > "$T/notes.txt"
printf 'more from stdin without -\n' > "$T/more.txt"

expect_exit 0 cv noy put "$code/intake.txt" "$T/intake1.txt"
expect_no_stdout "put"
expect_exit 0 cv noy put "$code/notes.txt" - < "$T/notes.txt"
expect_exit 0 cv noy put "$code/more.txt" < "$T/more.txt"

get_ok cv noy get "$code/intake.txt"
check "get to stdout returns the content" cmp -s "$OUTF" "$T/intake1.txt"
get_ok cv noy get "$code/notes.txt"
check "put from stdin (-) round-trips" cmp -s "$OUTF" "$T/notes.txt"
get_ok cv noy get "$code/more.txt"
check "put from stdin (no FILE) round-trips" cmp -s "$OUTF" "$T/more.txt"

get_ok cv noy get "$code/intake.txt" -o "$T/copy.txt"
expect_no_stdout "get -o"
check "get -o writes the content" cmp -s "$T/copy.txt" "$T/intake1.txt"
check_eq "get -o makes the file mode 600" 600 "$(stat -c %a "$T/copy.txt" 2>&1)"

printf 'precious, do not overwrite\n' > "$T/existing.txt"
sum=$(sha_of "$T/existing.txt")
SNAP_USER=noy SNAP_LS="$code"
snapshot
expect_exit 1 cv noy get "$code/intake.txt" -o "$T/existing.txt"
expect_err_hint "existing.txt"
check_eq "get -o onto an existing file leaves it untouched" "$sum" "$(sha_of "$T/existing.txt")"
expect_unchanged "after get -o onto an existing file"

# versions
expect_exit 0 cv noy put "$code/intake.txt" "$T/intake2.txt"
get_ok cv noy get "$code/intake.txt"
check "get returns the newest version" cmp -s "$OUTF" "$T/intake2.txt"
get_ok cv noy get "$code/intake.txt" --version 1
check "get --version 1 returns the first version" cmp -s "$OUTF" "$T/intake1.txt"
get_ok cv noy get "$code/intake.txt" --version 2
check "get --version 2 returns the second version" cmp -s "$OUTF" "$T/intake2.txt"

# --- mkdir, ls, mv, rm ---------------------------------------------------
expect_exit 0 cv noy mkdir "$code/legal"
expect_no_stdout "mkdir"
expect_exit 0 cv noy mkdir "$code/legal/2026"
rand_file "$T/scan.bin" 200000
expect_exit 0 cv noy put "$code/legal/2026/scan.bin" "$T/scan.bin"
get_ok cv noy get "$code/legal/2026/scan.bin"
check "a file in a subfolder round-trips" cmp -s "$OUTF" "$T/scan.bin"

expect_exit 0 cv noy ls "$code"
check_match "ls shows intake.txt" "intake.txt" "$OUT"
check_match "ls shows the folder legal/" "legal/" "$OUT"
expect_exit 0 cv noy ls "$code" --json
check "ls --json: fields name, type, size, mtime, version, node" json_ok "$OUTF" \
	'{"name", "type", "size", "mtime", "version", "node"} <= set(o) and o["type"] in ("file", "dir")'
size2=$(wc -c < "$T/intake2.txt")
check_eq "ls --json: intake.txt is a file of $size2 bytes at version 2" "file $size2 2" \
	"$(jfield "$OUTF" '"%s %s %s" % (o["type"], o["size"], o["version"]) if o["name"] == "intake.txt" else ""' | grep -v '^$')"
check_eq "ls --json: legal is a folder" "dir" \
	"$(jfield "$OUTF" 'o["type"] if o["name"] in ("legal", "legal/") else ""' | grep -v '^$')"
check_eq "ls --json: four entries" 4 "$(wc -l < "$OUTF")"
check "ls --json: mtime is RFC 3339" json_ok "$OUTF" \
	'__import__("re").match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", o["mtime"])'
expect_exit 0 cv noy ls "$code/legal/2026" --json
check_eq "ls of a subfolder" "scan.bin 200000" "$(jfield "$OUTF" 'o["name"] + " " + str(o["size"])')"

# mv: the file and its history move
expect_exit 0 cv noy put "$code/notes.txt" - < "$T/intake1.txt"    # notes.txt v2
expect_exit 0 cv noy mv "$code/notes.txt" "$code/legal/notes.txt"
expect_no_stdout "mv"
expect_exit 1 cv noy get "$code/notes.txt"
expect_err_hint "notes.txt"
get_ok cv noy get "$code/legal/notes.txt" --version 1
check "mv keeps the history (v1 at the new path)" cmp -s "$OUTF" "$T/notes.txt"
expect_exit 0 cv noy ls "$code/legal" --json
check_contains "ls shows the moved file" '"name":"notes.txt"' "$OUT"
notes_node=$(jfield "$OUTF" 'o["node"] if o["name"] == "notes.txt" else ""' | grep -v '^$')

# rm: gone from ls, its history stays in the audit log
expect_exit 0 cv noy rm "$code/legal/notes.txt"
expect_no_stdout "rm"
expect_exit 0 cv noy ls "$code/legal"
check_not_contains "rm: the file is gone from ls" "notes.txt" "$OUT"
expect_exit 1 cv noy get "$code/legal/notes.txt"
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --json --case "$code"
check_eq "rm: both writes of the removed file remain in the audit log" "1 2" \
	"$(jfield "$OUTF" 'o["version"] if o["node"] == "'"$notes_node"'" and o["action"] == "write" else ""' | grep -v '^$' | paste -sd' ' -)"
check_eq "rm: the audit log has the delete event" 1 \
	"$(jfield "$OUTF" '1 if o["node"] == "'"$notes_node"'" and o["action"] == "delete" else ""' | grep -c '^1$')"

# --- history, restore ------------------------------------------------------
expect_exit 0 cv noy history "$code/intake.txt"
check_eq "history lists two versions" 2 "$(wc -l < "$OUTF")"
expect_exit 0 cv noy history "$code/intake.txt" --json
check "history --json: version, time, actor, size" json_ok "$OUTF" \
	'{"version", "time", "actor", "size"} <= set(o) and o["actor"] == "noy" and __import__("re").match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", o["time"])'
check_eq "history --json: versions and sizes" \
	"1 $(wc -c < "$T/intake1.txt"),2 $(wc -c < "$T/intake2.txt")" \
	"$(jfield "$OUTF" '"%d %d" % (o["version"], o["size"])' | paste -sd, -)"

expect_exit 0 cv noy restore "$code/intake.txt" --version 1
expect_no_stdout "restore"
get_ok cv noy get "$code/intake.txt"
check "restore makes version 1 current" cmp -s "$OUTF" "$T/intake1.txt"
expect_exit 0 cv noy history "$code/intake.txt" --json
check_eq "restore adds version 3" "1,2,3" "$(jfield "$OUTF" 'o["version"]' | paste -sd, -)"
get_ok cv noy get "$code/intake.txt" --version 2
check "after restore, version 2 is still there" cmp -s "$OUTF" "$T/intake2.txt"

# --- big and empty files --------------------------------------------------
rand_file "$T/big.bin" 1048576
expect_exit 0 cv noy put "$code/big.bin" "$T/big.bin"
get_ok cv noy get "$code/big.bin"
check "a 1 MiB random file round-trips byte-identical (stdout)" cmp "$OUTF" "$T/big.bin"
get_ok cv noy get "$code/big.bin" -o "$T/big.out"
check "a 1 MiB random file round-trips byte-identical (-o)" cmp "$T/big.out" "$T/big.bin"
: > "$T/empty.bin"
expect_exit 0 cv noy put "$code/empty.bin" "$T/empty.bin"
get_ok cv noy get "$code/empty.bin"
check "a zero-byte file round-trips (stdout)" [ ! -s "$OUTF" ]
get_ok cv noy get "$code/empty.bin" -o "$T/empty.out"
check "a zero-byte file round-trips (-o)" [ -f "$T/empty.out" -a ! -s "$T/empty.out" ]
expect_exit 0 cv noy ls "$code" --json
check_eq "ls: the empty file has size 0, version 1" "0 1" \
	"$(jfield "$OUTF" '"%s %s" % (o["size"], o["version"]) if o["name"] == "empty.bin" else ""' | grep -v '^$')"

# --- grant, key delivery, read-only, revoke -------------------------------
expect_exit 0 cv dpo case grant "$code" som --read-only
expect_exit 4 cv som get "$code/intake.txt"
expect_err_hint "$code"
expect_no_stdout "before the key is delivered"
expect_exit 4 cv som ls "$code"
expect_exit 4 cv dpo get "$code/intake.txt"
expect_err_hint
expect_exit 0 cv noy ls                 # any command of a key-holding member
get_ok cv som get "$code/intake.txt"
check "the grantee reads once a member delivered the key" cmp -s "$OUTF" "$T/intake1.txt"
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --json --case "$code"
check_eq "the key delivery is a rekey event by noy" "noy" \
	"$(jfield "$OUTF" 'o["actor"] if o["action"] == "rekey" else ""' | grep -v '^$' | tail -n 1)"
expect_exit 0 cv som case list --json
check_eq "the grantee sees the label" "$label" \
	"$(jfield "$OUTF" 'o["label"] if o["code"] == "'"$code"'" else ""' | grep -v '^$')"
SNAP_USER=noy SNAP_LS="$code"
snapshot
expect_exit 4 cv som put "$code/som.txt" - < "$T/notes.txt"
expect_err_hint
expect_unchanged "after a read-only member's put"

expect_exit 0 cv dpo case revoke "$code" som
expect_exit 4 cv som get "$code/intake.txt"
expect_err_hint
expect_exit 0 cv noy put "$code/after-revoke.txt" - < "$T/notes.txt"
get_ok cv noy get "$code/after-revoke.txt"
check "a member reads what was written after a revocation" cmp -s "$OUTF" "$T/notes.txt"
expect_exit 4 cv som get "$code/after-revoke.txt"

# --- purposes -------------------------------------------------------------
expect_exit 0 cv dpo purpose add intake
expect_exit 0 cv dpo purpose add legal-aid
expect_exit 0 cv dpo purpose require on
expect_exit 0 cv noy purpose list --json
check "purpose list --json: every line is one kind of object" json_ok "$OUTF" \
	'set(o) == {"required", "purposes"}'
check_eq "purpose list --json: the rule and the purposes" "True intake,legal-aid" \
	"$(jfield "$OUTF" 'str(o["required"]) + " " + ",".join(o["purposes"])')"
expect_exit 0 cv noy purpose list
check_eq "purpose list: the purposes, then the rule" "intake legal-aid required: yes" \
	"$(paste -sd' ' "$OUTF")"
SNAP_USER=noy SNAP_LS="$code $code/legal"
snapshot
expect_exit '!0' cv noy get "$code/intake.txt"
expect_err_hint "purpose"
expect_no_stdout "a read without a purpose"
expect_exit '!0' cv noy get "$code/intake.txt" -o "$T/nopurpose.txt"
check "a refused get -o leaves no file" [ ! -e "$T/nopurpose.txt" ]
expect_exit '!0' cv noy get "$code/intake.txt" --purpose no-such-purpose
expect_no_stdout "a read with an unknown purpose"
expect_unchanged "after reads refused for want of a purpose"

get_ok cv noy get "$code/intake.txt" --purpose intake
check "get --purpose P works" cmp -s "$OUTF" "$T/intake1.txt"
get_ok cv noy get "$code/intake.txt" --purpose "legal-aid:preparing the hearing"
check "get --purpose P:NOTE works" cmp -s "$OUTF" "$T/intake1.txt"
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --json
check_eq "the reads record their purposes" "intake legal-aid" \
	"$(jfield "$OUTF" 'o["purpose"] if o["action"] == "read" else ""' | grep -v '^$' | grep -v null | tail -n 2 | paste -sd' ' -)"
check_not_contains "the purpose note is not in the plain audit log" "preparing the hearing" "$OUT"
expect_exit 0 cv dpo purpose require off
get_ok cv noy get "$code/more.txt"

# --- audit log ---------------------------------------------------------------
sleep 1.1   # events in a later second, for --since/--until
get_ok cv noy get "$code/more.txt" --purpose intake
expect_exit 0 cv noy put "$code/late.txt" - < "$T/notes.txt"

expect_exit 0 cv aud audit log
check_contains "audit log (text) shows the case" "$code" "$OUT"
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --json
cp "$OUTF" "$T/log.json"
check "audit log --json: commit, time, actor, action, case, node, version, purpose, via" json_ok "$T/log.json" \
	'{"commit", "time", "actor", "action", "case", "node", "version", "purpose", "via"} <= set(o)
	 and __import__("re").match(r"^[0-9a-f]{40}$", o["commit"])
	 and __import__("re").match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", o["time"])'
check_eq "audit log: the first event is init by dpo, the genesis" "init dpo $genesis" \
	"$(head -n 1 "$T/log.json" > "$T/first.json"; jfield "$T/first.json" 'o["action"] + " " + o["actor"] + " " + o["commit"]')"
check_eq "audit log: the last event is the head" "$(head_of)" \
	"$(tail -n 1 "$T/log.json" > "$T/last.json"; jfield "$T/last.json" 'o["commit"]')"
check_eq "every get is one read event" "$READS" \
	"$(jfield "$T/log.json" 'o["action"]' | grep -c '^read$')"
check_eq "every read event names the case and a version" "" \
	"$(jfield "$T/log.json" '"bad" if o["action"] == "read" and (o["case"] is None or o["node"] is None or not o["version"]) else ""' | grep -v '^$')"
check_eq "events of the CLI say via cli" "" \
	"$(jfield "$T/log.json" '"" if o["via"] in ("cli", None) else o["via"]' | grep -v '^$')"
jfield "$T/log.json" 'o["action"]' | sort -u > "$T/actions"
for a in init user-add case-create grant revoke rekey write read mkdir move delete restore; do
	check "audit log has $a events" grep -qx -- "$a" "$T/actions"
done

# Filters, checked against the full log.
filter_check() {   # DESC PYFILTER ARGS...
	local desc=$1 pyf=$2
	shift 2
	expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --json "$@"
	check_eq "$desc" "$(jfield "$T/log.json" 'o["commit"] if ('"$pyf"') else ""' | grep -v '^$')" \
		"$(if [ -s "$OUTF" ]; then jfield "$OUTF" 'o["commit"]'; fi)"
}
filter_check "audit log --case" 'o["case"] == "'"$code"'"' --case "$code"
filter_check "audit log --case (another case)" 'o["case"] == "'"$code2"'"' --case "$code2"
filter_check "audit log --user" 'o["actor"] == "som"' --user som
t_late=$(jfield "$T/last.json" 'o["time"]')
t_first=$(jfield "$T/first.json" 'o["time"]')
check "the log spans at least two seconds" [ "$t_late" != "$t_first" ]
filter_check "audit log --since (inclusive)" 'o["time"] >= "'"$t_late"'"' --since "$t_late"
filter_check "audit log --until (inclusive)" 'o["time"] <= "'"$t_first"'"' --until "$t_first"
filter_check "audit log --since + --until + --user + --case" \
	'"'"$t_first"'" <= o["time"] <= "'"$t_late"'" and o["actor"] == "noy" and o["case"] == "'"$code"'"' \
	--since "$t_first" --until "$t_late" --user noy --case "$code"
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --json --since 2100-01-01
check "audit log --since in the future is empty" [ ! -s "$OUTF" ]
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --json --until 86400
check "audit log --until 1970-01-02 is empty" [ ! -s "$OUTF" ]
expect_exit 2 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --since yesterday-ish
expect_err_hint "since"

# --- verify ----------------------------------------------------------------
expect_exit 0 cv aud audit verify
check_match "audit verify: ok and the head" "^ok: [0-9]+ events, [0-9]+ versions verified, head $(head_of)"$'\n'"?$" "$OUT"
nevents=$(wc -l < "$T/log.json")
check_match "audit verify counts every event" "^ok: $nevents events" "$OUT"
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit verify --anchor "$genesis"
expect_exit 4 cv aud get "$code/intake.txt"
expect_err_hint

# --- a disabled member -------------------------------------------------------
# Disabling takes the user out of every case first (a revoke each, which
# retires the case's key epoch), so nothing written afterwards is theirs.
mkpass leaver
add_user dpo leaver caseworker
expect_exit 0 cv dpo case grant "$code" leaver --read-only
expect_exit 0 cv dpo user disable leaver
expect_exit 0 cv noy case list
check_not_contains "case list: the disabled user is a member no more" "  leaver" "$OUT"
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --json --action revoke,user-disable
check_eq "log: a revoke, then the disabling" "revoke $code leaver|user-disable - leaver" \
	"$(jfield "$OUTF" 'o["action"] + " " + (o["case"] or "-") + " " + o["target"]' | grep ' leaver$' | paste -sd'|' -)"
expect_exit 0 cv noy case list --json
check "case list --json: every member is active" json_ok "$OUTF" \
	'all(m["status"] == "active" for m in o["members"])'
# The only member of a case is not disabled: the case would be left to no one.
mkpass sole
add_user dpo sole caseworker
expect_exit 0 cv sole case create --label "only sole"
solecase=$OUT; solecase=${solecase%$'\n'}
expect_exit 1 cv dpo user disable sole
expect_err_hint "last member of case '$solecase'"
check_contains "disable the last member: what to do" "casevault case grant $solecase USER" "$ERR"
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit verify

finish
