#!/usr/bin/env bash
# Time travel: `ls --at` and `get --at` show a case as it was at a past
# moment. Files are written, overwritten, renamed, moved, removed and
# restored across several moments (a second apart); at each moment the
# listing and the content (byte for byte) are what was true then. Each
# look is a read event; refusals (a non-member, a bad time, a path that
# did not exist then) change nothing; the history verifies at the end.
. "$(dirname "$0")/lib.sh"

for u in dpo noy som ami; do
	mkpass "$u"
done

expect_exit 0 cv dpo init --admin dpo
for u in noy som ami; do
	add_user dpo "$u" caseworker
done
expect_exit 0 cv noy case create --label "time travel"
code=$OUT
code=${code%$'\n'}
check_match "case create prints a code" '^C-[0-9A-Z]{8}$' "$code"
# Looks without a purpose until the purposes part below requires one again.
expect_exit 0 cv dpo purpose require off

# The moment just passed: every event so far has a time at or before it,
# every later event a time after it.
moment() {
	local t

	t=$(date +%s)
	sleep 1
	printf '%s\n' "$t"
}

# ls_at WHO PATH TIME: the names at TIME, one per line, folders with '/'.
ls_at() {
	cv "$1" ls "$2" --at "$3" --json 2>/dev/null |
		python3 -c 'import json,sys
for l in sys.stdin:
    o = json.loads(l); print(o["name"] + ("/" if o["type"] == "dir" else ""))' | paste -sd' ' -
}

last_event() {
	cv dpo audit log --json 2>/dev/null | tail -n 1 > "$T/.last"
	jfield "$T/.last" "$1"
}

printf 'first words\n' > "$T/a1"
printf 'second, longer words\n' > "$T/a2"
rand_file "$T/x" 200000          # four blocks, the last one short
printf 'new\n' > "$T/n1"

T0=$(moment)                      # the case, empty

# --- moment 1: a file, a folder, a file in it ---------------------------
expect_exit 0 cv noy put "$code/a.txt" "$T/a1"
expect_exit 0 cv noy mkdir "$code/docs"
expect_exit 0 cv noy put "$code/docs/x.bin" "$T/x"
T1=$(moment)

# --- moment 2: overwritten, renamed ---------------------------------------
expect_exit 0 cv noy put "$code/a.txt" "$T/a2"
expect_exit 0 cv noy mv "$code/docs/x.bin" "$code/docs/y.bin"
T2=$(moment)

# --- moment 3: moved to another folder, removed ---------------------------
expect_exit 0 cv noy mkdir "$code/other"
expect_exit 0 cv noy mv "$code/a.txt" "$code/other/a.txt"
expect_exit 0 cv noy rm "$code/docs/y.bin"
T3=$(moment)

# --- moment 4: an old version restored, a new file ------------------------
expect_exit 0 cv noy restore "$code/other/a.txt" --version 1
expect_exit 0 cv noy put "$code/new.txt" "$T/n1"
T4=$(moment)

# --- listings at each moment ----------------------------------------------
expect_exit 0 cv noy ls "$code" --at "$T0"
expect_no_stdout "the case was empty at its start"
check_eq "ls at moment 1" "a.txt docs/" "$(ls_at noy "$code" "$T1")"
check_eq "ls docs at moment 1" "x.bin" "$(ls_at noy "$code/docs" "$T1")"
check_eq "ls at moment 2" "a.txt docs/" "$(ls_at noy "$code" "$T2")"
check_eq "ls docs at moment 2: renamed" "y.bin" "$(ls_at noy "$code/docs" "$T2")"
check_eq "ls at moment 3: moved" "docs/ other/" "$(ls_at noy "$code" "$T3")"
check_eq "ls other at moment 3" "a.txt" "$(ls_at noy "$code/other" "$T3")"
expect_exit 0 cv noy ls "$code/docs" --at "$T3"
expect_no_stdout "the folder was empty after the removal"
check_eq "ls at moment 4" "docs/ new.txt other/" "$(ls_at noy "$code" "$T4")"

# Versions, sizes and the text format as plain ls has them.
expect_exit 0 cv noy ls "$code" --at "$T1"
check_match "ls --at prints as ls does (file)" \
	"(^|"$'\n'")- +12 [0-9-]{10}T[0-9:]{5}[+-][0-9:]{5} v1 a.txt"$'\n' "$OUT"
check_match "ls --at prints as ls does (folder)" \
	"(^|"$'\n'")d +0 [0-9-]{10}T[0-9:]{5}[+-][0-9:]{5} v0 docs/"$'\n' "$OUT"
expect_exit 0 cv noy ls "$code/other" --at "$T4" --json
check "ls --at --json: the fields of ls --json" \
	json_ok "$OUTF" '{"name", "type", "size", "mtime", "version", "node"} <= set(o)'
check_eq "restored as version 3 with the first content's size" "3 12" \
	"$(jfield "$OUTF" 'str(o["version"]) + " " + str(o["size"])')"

# Now, the past and the present agree.
now=$(date +%s)
expect_exit 0 cv noy ls "$code" --json
cp "$OUTF" "$T/.now"
expect_exit 0 cv noy ls "$code" --at "$now" --json
check "ls --at now --json is exactly ls --json" cmp -s "$OUTF" "$T/.now"

# --- content at each moment, byte for byte --------------------------------
expect_exit 0 cv noy get "$code/a.txt" --at "$T1"
check "a.txt at moment 1" cmp -s "$OUTF" "$T/a1"
expect_exit 0 cv noy get "$code/docs/x.bin" --at "$T1"
check "docs/x.bin at moment 1 (four blocks)" cmp -s "$OUTF" "$T/x"
expect_exit 0 cv noy get "$code/a.txt" --at "$T2"
check "a.txt at moment 2: overwritten" cmp -s "$OUTF" "$T/a2"
expect_exit 0 cv noy get "$code/docs/y.bin" --at "$T2"
check "docs/y.bin at moment 2: renamed, now removed" cmp -s "$OUTF" "$T/x"
expect_exit 0 cv noy get "$code/other/a.txt" --at "$T3"
check "other/a.txt at moment 3: moved" cmp -s "$OUTF" "$T/a2"
expect_exit 0 cv noy get "$code/other/a.txt" --at "$T4" -o "$T/out4"
check "other/a.txt at moment 4 (-o): restored" cmp -s "$T/out4" "$T/a1"
check_eq "get --at -o makes the file mode 600" 600 "$(stat -c %a "$T/out4" 2>&1)"

# RFC 3339 with an offset and plain seconds name the same moment.
iso=$(date -u -d "@$T2" +%Y-%m-%dT%H:%M:%S+00:00)
expect_exit 0 cv noy get "$code/a.txt" --at "$iso"
check "get --at RFC 3339 with an offset" cmp -s "$OUTF" "$T/a2"

# --- each look is a read event ---------------------------------------------
node_a=$(cv noy ls "$code/other" --json 2>/dev/null | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["node"])')
node_docs=$(cv noy ls "$code" --json 2>/dev/null | python3 -c 'import json,sys
for l in sys.stdin:
    o = json.loads(l)
    if o["name"] == "docs": print(o["node"])')
expect_exit 0 cv noy get "$code/a.txt" --at "$T2"
check_eq "get --at is a read of the version served" "read $code $node_a 2" \
	"$(last_event 'o["action"] + " " + o["case"] + " " + o["node"] + " " + str(o["version"])')"
expect_exit 0 cv noy ls "$code/docs" --at "$T1"
check_eq "ls --at is a read of the folder" "read noy $node_docs" \
	"$(last_event 'o["action"] + " " + o["actor"] + " " + o["node"]')"
commit=$(last_event 'o["commit"]')
expect_exit 0 cv dpo audit export "$T/exported"
at_iso=$(date -u -d "@$T1" +%Y-%m-%dT%H:%M:%SZ)
check_contains "the read names the moment asked for" "At: $at_iso" \
	"$(git -C "$T/exported" log -1 --format=%B "$commit" 2>&1)"

# --- refusals: nothing recorded, nothing written ---------------------------
SNAP_USER=noy
SNAP_LS="$code $code/docs"
snapshot

expect_exit 4 cv som ls "$code" --at "$T1"
expect_err_hint "$code"
expect_exit 4 cv som get "$code/a.txt" --at "$T1" -o "$T/som.out"
expect_err_hint
check "a refused get --at -o leaves no file" [ ! -e "$T/som.out" ]
expect_exit 4 cv dpo get "$code/a.txt" --at "$T1"
expect_err_hint

expect_exit 2 cv noy ls "$code" --at yesterday
expect_err_hint "yesterday"
expect_exit 2 cv noy get "$code/a.txt" --at "2026-13-01"
expect_err_hint "2026-13-01"
expect_exit 2 cv noy get "$code/a.txt" --at "2099-01-01T00:00:00Z"
expect_err_hint "future"
expect_exit 2 cv noy get "$code/a.txt" --at "$T1" --version 1
expect_err_hint "--version"
expect_exit 2 cv noy ls --at "$T1"
expect_err_hint "--at"
expect_exit 2 cv noy ls "$code/docs/x.bin" --at "$T1"
expect_err_hint "was a file"
expect_exit 2 cv noy get "$code/docs" --at "$T1"
expect_err_hint "was a folder"

expect_exit 1 cv noy get "$code/new.txt" --at "$T3"
expect_err_hint "did not exist"
check_contains "the hint shows where to look" "audit log --case $code" "$ERR"
expect_exit 1 cv noy get "$code/docs/x.bin" --at "$T2" -o "$T/gone.out"
expect_err_hint "did not exist"
check "a failed get --at -o leaves no file" [ ! -e "$T/gone.out" ]
expect_exit 1 cv noy ls "$code/other" --at "$T2"
expect_err_hint "did not exist"
expect_exit 1 cv noy ls "$code/a.txt/deeper" --at "$T1"
expect_err_hint "was a file"
expect_exit 1 cv noy ls "$code" --at "2001-01-01"
expect_err_hint "begins at"
genesis_time=$(cv dpo audit log --json 2>/dev/null | head -n 1 > "$T/.first"; jfield "$T/.first" 'o["time"]')
case_time=$(cv dpo audit log --json 2>/dev/null | grep '"case-create"' | head -n 1 > "$T/.cc"; jfield "$T/.cc" 'o["time"]')
if [ "$genesis_time" != "$case_time" ]; then
	expect_exit 1 cv noy ls "$code" --at "$genesis_time"
	expect_err_hint "did not exist"
fi
expect_exit 1 cv noy ls "C-00000000" --at "$T1"
expect_err_hint
expect_unchanged "after refused looks into the past"

# --- membership: now, not then ----------------------------------------------
# ami joins after moment 1 and sees the case as it was then (members read
# a case's older content); once revoked, ami sees nothing of it.
expect_exit 0 cv dpo case grant "$code" ami --read-only
expect_exit 0 cv noy ls "$code"               # a member's session passes the key
check_eq "a member granted later sees moment 1" "a.txt docs/" "$(ls_at ami "$code" "$T1")"
expect_exit 0 cv ami get "$code/docs/x.bin" --at "$T1"
check "a member granted later reads moment 1" cmp -s "$OUTF" "$T/x"
expect_exit 0 cv dpo case revoke "$code" ami
expect_exit 0 cv noy ls "$code"               # a member's session starts a new epoch
expect_exit 4 cv ami ls "$code" --at "$T1"
expect_err_hint
expect_exit 4 cv ami get "$code/a.txt" --at "$T2"
expect_err_hint

# --- purposes ---------------------------------------------------------------
expect_exit 0 cv dpo purpose add review
expect_exit 0 cv dpo purpose require on
snapshot
expect_exit 2 cv noy ls "$code" --at "$T1"
expect_err_hint "purpose"
expect_exit 2 cv noy get "$code/a.txt" --at "$T1"
expect_err_hint "purpose"
expect_no_stdout "a look without a purpose"
expect_unchanged "after looks refused for want of a purpose"
expect_exit 0 cv noy ls "$code" --at "$T1" --purpose "review:what was filed first"
check_eq "ls --at records its purpose" "read review" \
	"$(last_event 'o["action"] + " " + o["purpose"]')"
expect_exit 0 cv noy get "$code/a.txt" --at "$T1" --purpose review
check "get --at --purpose" cmp -s "$OUTF" "$T/a1"
check_eq "get --at records its purpose and version" "read review 1" \
	"$(last_event 'o["action"] + " " + o["purpose"] + " " + str(o["version"])')"
check_not_contains "the note is not in the plain log" "what was filed first" \
	"$(cv dpo audit log --json 2>/dev/null)"

# --- the history verifies ---------------------------------------------------
expect_exit 0 cv dpo audit verify

finish
