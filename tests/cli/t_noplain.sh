#!/usr/bin/env bash
# No plaintext at rest: after documents are stored, no byte string of their
# content, file names, folder names or case labels (nor a passphrase), no
# user name, case code, purpose or setting (a witness's address) is
# anywhere in the vault's files, and no time of the run either (as a date,
# or as seconds or nanoseconds since 1970, binary or hex). And the process
# that holds the keys
# cannot be dumped: no core file, not dumpable (checked at run time on a
# process waiting for its input).
. "$(dirname "$0")/lib.sh"

# A private TMPDIR: plaintext must never go to a temporary file.
mkdir "$T/tmpdir"
export TMPDIR=$T/tmpdir

r=$(od -An -tx4 -N8 /dev/urandom | tr -d ' \n')
content="MARKER-CONTENT-$r"
content2="SECOND-VERSION-$r"
fname="secretname-$r.txt"
fname2="renamed-$r.pdf"
folder="folder-$r"
label="Label Somchai Phommachanh $r"
noy_pass="river lantern phrase $r"
# Distinctive user names and purpose: each must be absent as bytes.
adm="dpo-${r:0:12}"
noy="noy-${r:4:12}"
purp="purp-${r:2:12}"

witness="$T/witness-${r:3:12}.git"
witness2="$T/second-witness.git"
pend="pend-${r:5:10}"
t0=$(date +%s)

mkpass "$adm"
mkpass "$noy" "$noy_pass"
expect_exit 0 cv "$adm" init --admin "$adm"
add_user "$adm" "$noy" caseworker
expect_exit 0 cv "$adm" purpose add "$purp"
# Settings; the vault pushes its history to the witness after every
# event, and once by hand to another: what a push leaves in the vault's
# directory must be as unreadable as the rest.
git init -q --bare "$witness"
git init -q --bare "$witness2"
expect_exit 0 cv "$adm" settings set witness-every 1
expect_exit 0 cv "$adm" settings set witness "$witness"
expect_exit 0 cv "$adm" settings set work-hours 06:15-21:45
# A user added who has not enrolled (their code expires in 7 days), and a
# failed unlock (its time waits, sealed, for the next session to record it).
expect_exit 0 cv "$adm" user add "$pend" --role caseworker --code-file "$T/$pend.code"
mkpass wrong "not the right phrase $r"
expect_exit 5 cvbare --vault "$VAULT" --user "$noy" --passphrase-file "$T/wrong.pass" ls --purpose "$purp"
expect_exit 0 cv "$noy" case create --label "$label"
code=${OUT%$'\n'}
check_match "case created" '^C-[0-9A-Z]{8}$' "$code"

{ echo "$content"; head -c 150000 /dev/urandom | base64; echo "$content"; } > "$T/.doc1"
expect_exit 0 cv "$noy" mkdir "$code/$folder"
expect_exit 0 cv "$noy" put "$code/$folder/$fname" "$T/.doc1"
expect_exit 0 cv "$noy" put "$code/$fname" - < "$T/.doc1"
expect_exit 0 cv "$noy" put "$code/$folder/$fname" - <<< "$content2"
expect_exit 0 cv "$noy" put "$code/$folder/short-$r" - <<< "$content"
expect_exit 0 cv "$noy" mv "$code/$fname" "$code/$fname2"
expect_exit 0 cv "$noy" mkdir "$code/$folder/inner-$folder"
# Reads too (a read is an event: it must not record a name either).
expect_exit 0 cv "$noy" get "$code/$folder/$fname" --version 1 --purpose "$purp"
check "the stored document reads back" cmp -s "$OUTF" "$T/.doc1"
expect_exit 0 cv "$noy" get "$code/$fname2" --purpose "$purp"
expect_exit 0 cv "$noy" ls "$code/$folder" --purpose "$purp"
check_contains "ls shows the name (so it is stored)" "$fname" "$OUT"
expect_exit 0 cv "$noy" case list --purpose "$purp"
check_contains "case list shows the label (so it is stored)" "$label" "$OUT"
expect_exit 0 cvbare --vault "$VAULT" --user "$adm" --passphrase-file "$T/$adm.pass" audit verify
expect_exit 0 cv "$adm" audit push "$witness2"
check "the witness holds the history" git -C "$witness" rev-parse -q --verify audit
check "the second witness holds the history" git -C "$witness2" rev-parse -q --verify audit
# A second failed unlock, left unrecorded in the file.
expect_exit 5 cvbare --vault "$VAULT" --user "$adm" --passphrase-file "$T/wrong.pass" ls --purpose "$purp"
t1=$(date +%s)

# The vault holds data, and grep finds a marker where there is one.
check "the vault has a data.mdb bigger than the document" \
	[ "$(stat -c %s "$VAULT/data.mdb")" -gt "$(stat -c %s "$T/.doc1")" ]
printf 'xx%syy\n' "$content" > "$T/.control"
check "grep finds a marker in a control file" grep -q -a -F -- "$content" "$T/.control"

# No plaintext in any file of the vault directory.
nfiles=$(find "$VAULT" -type f | wc -l)
check "the vault directory holds files" [ "$nfiles" -ge 1 ]
for what in "content:$content" "content of version 2:$content2" "file name:$fname" \
	"new file name:$fname2" "folder name:$folder" "label:$label" "label part:Somchai Phommachanh" \
	"passphrase:$noy_pass" "admin's name:$adm" "caseworker's name:$noy" "case code:$code" \
	"case code without its prefix:${code#C-}" "purpose:$purp" "witness:$witness" \
	"pending user's name:$pend" "working hours:06:15-21:45"; do
	desc=${what%%:*}
	needle=${what#*:}
	found=$(grep -r -a -l -F -- "$needle" "$VAULT")
	check_eq "no $desc in the vault files" "" "$found"
done
# The random part alone (any of the names or the content, in any form
# that keeps it as text).
check_eq "no marker text at all in the vault files" "" "$(grep -r -a -l -F -- "$r" "$VAULT")"

# No time of the run: a date (2026-12-06), or a time between the first
# command and the last (or up to 8 days later: an enrolment code's expiry)
# as seconds or nanoseconds since 1970, 8 bytes big- or little-endian, or
# as 16 hex digits or as decimal text. (Nanoseconds only within the run: random bytes fall
# in an 8-day window of nanoseconds too often.)
times_in() {
	python3 - "$t0" "$t1" "$@" <<-'EOF'
	import datetime, re, struct, sys
	t0, t1 = int(sys.argv[1]) - 2, int(sys.argv[2]) + 2
	later = t1 + 8 * 86400
	dates = set()
	for t in (t0, t1, later):
	    d = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
	    dates.add(d.strftime("%Y-%m-%d").encode())
	def when(x):
	    if t0 <= x <= later:
	        return "seconds"
	    if t0 * 10**9 <= x <= t1 * 10**9:
	        return "nanoseconds"
	    return None
	found = []
	for path in sys.argv[3:]:
	    data = open(path, "rb").read()
	    for d in sorted(dates):
	        if d in data:
	            found.append("%s: the date %s" % (path, d.decode()))
	    for i in range(len(data) - 7):
	        for order in (">Q", "<Q"):
	            w = when(struct.unpack_from(order, data, i)[0])
	            if w:
	                found.append("%s: %s at byte %d (%s)" % (path, w, i, order))
	    for m in re.finditer(rb"[0-9a-f]{16}", data):
	        w = when(int(m.group(0), 16))
	        if w:
	            found.append("%s: %s in hex at byte %d" % (path, w, m.start()))
	    for m in re.finditer(rb"(?<![0-9])([0-9]{10}|[0-9]{19})(?![0-9])", data):
	        w = when(int(m.group(1)))
	        if w:
	            found.append("%s: %s in decimal at byte %d" % (path, w, m.start()))
	print("\n".join(found[:20]))
	EOF
}
check_eq "no time of the run in the vault files" "" "$(times_in $(find "$VAULT" -type f))"

# The user's state directory (on their own machine, outside the vault) is
# named by the vault id and the user's name; what it holds names no case
# and no purpose.
state=$XDG_STATE_HOME/casevault
if [ -d "$state" ]; then
	for needle in "$code" "$purp" "$label"; do
		check_eq "no case code, purpose or label in the state files" "" \
			"$(grep -r -a -l -F -- "$needle" "$state")"
	done
fi

# The audit log (which auditors and admins read) holds no name or label.
expect_exit 0 cvbare --vault "$VAULT" --user "$adm" --passphrase-file "$T/$adm.pass" audit log --json
check_not_contains "no marker in audit log --json" "$r" "$OUT"
expect_exit 0 cvbare --vault "$VAULT" --user "$adm" --passphrase-file "$T/$adm.pass" audit log
check_not_contains "no marker in audit log" "$r" "$OUT"
# An admin sees the case but not its label.
expect_exit 0 cv "$adm" case list --json
check_not_contains "no label in the admin's case list" "$r" "$OUT"

check_eq "no temporary file was left" "" "$(ls -A "$TMPDIR")"

# --- the process that holds keys is not dumpable --------------------------
# Its core size limit is 0 (observable by anyone).
# wait_comm PID NAME: until process PID runs NAME (at most 5 s).
wait_comm() {
	local waited=0
	while [ "$(cat "/proc/$1/comm" 2>/dev/null)" != "$2" ] && [ "$waited" -lt 100 ]; do
		sleep 0.05
		waited=$((waited + 1))
	done
}
# wait_reading PID: until casevault PID waits in read(0, ...) for its input,
# i.e. is unlocked and well past the start of main (at most 10 s).
wait_reading() {
	local waited=0
	wait_comm "$1" casevault
	while [ "$(cut -d' ' -f1,2 "/proc/$1/syscall" 2>/dev/null)" != "0 0x0" ] && [ "$waited" -lt 200 ]; do
		sleep 0.05
		waited=$((waited + 1))
	done
}
# The soft core limit of the process that holds keys (the shell's is raised
# first, so that only casevault can have set it to 0).
soft_core() {
	awk '/^Max core file size/ { print $5 }' "/proc/$1/limits" 2>&1
}
fifo=$T/.fifo
mkfifo "$fifo"
( ulimit -S -c unlimited 2> /dev/null || ulimit -S -c "$(ulimit -H -c)"
  exec "$CASEVAULT_BIN" --vault "$VAULT" --user "$noy" --passphrase-file "$T/$noy.pass" \
	put "$code/from-fifo.txt" - < "$fifo" > "$T/.fifo.out" 2> "$T/.fifo.err" ) &
pid=$!
exec 7> "$fifo"
wait_reading "$pid"
check_eq "the process waiting for input is casevault, in read(0, ...)" "casevault 0 0x0" \
	"$(cat "/proc/$pid/comm" 2>&1) $(cut -d' ' -f1,2 "/proc/$pid/syscall" 2>&1)"
check_eq "a running casevault has core dumps off (soft RLIMIT_CORE 0)" "0" "$(soft_core "$pid")"
printf 'via a fifo %s\n' "$r" >&7
exec 7>&-
wait "$pid"
check_eq "the put through the fifo succeeds" 0 "$?"

# Dumpable: /proc/PID files of a non-dumpable process belong to root, which
# only shows if the process runs as another user. Run one as nobody.
nobody_uid=65534
dump_skipped=0
if [ "$(id -u)" != 0 ] || ! command -v setpriv > /dev/null 2>&1; then
	dump_skipped=1
else
	as_nobody() {
		setpriv --reuid="$nobody_uid" --regid="$nobody_uid" --clear-groups -- "$@"
	}
	# nobody must reach $T/nobody: let others traverse $T (its files stay 600).
	chmod 711 "$T"
	nd=$T/nobody
	mkdir "$nd"
	chown "$nobody_uid:$nobody_uid" "$nd"
	chmod 700 "$nd"
	bin=$CASEVAULT_BIN
	if ! as_nobody test -x "$bin"; then
		cp "$CASEVAULT_BIN" "$nd/casevault"
		chown "$nobody_uid:$nobody_uid" "$nd/casevault"
		bin=$nd/casevault
	fi
	printf 'quiet harbour phrase %s\n' "$r" > "$nd/p.pass"
	chown "$nobody_uid:$nobody_uid" "$nd/p.pass"
	chmod 600 "$nd/p.pass"
	nbv() {
		as_nobody "$bin" --vault "$nd/vault" --user nob --passphrase-file "$nd/p.pass" "$@"
	}
	expect_exit 0 nbv init --admin nob
	expect_exit 0 as_nobody "$bin" --vault "$nd/vault" --user nob --passphrase-file "$nd/p.pass" \
		user add cw --role caseworker --code-file "$nd/cw.code"
	expect_exit 0 as_nobody "$bin" --vault "$nd/vault" --user cw enrol --code-file "$nd/cw.code" \
		--new-passphrase-file "$nd/p.pass"
	expect_exit 0 as_nobody "$bin" --vault "$nd/vault" --user cw --passphrase-file "$nd/p.pass" case create
	ncode=${OUT%$'\n'}

	# Control: a process of nobody that did not ask is dumpable, and its
	# /proc files belong to nobody.
	setpriv --reuid="$nobody_uid" --regid="$nobody_uid" --clear-groups -- sleep 5 &
	spid=$!
	wait_comm "$spid" sleep
	check_eq "control: an ordinary process of nobody owns its /proc files" \
		"$nobody_uid" "$(stat -c %u "/proc/$spid/status" 2>&1)"
	kill "$spid" 2> /dev/null
	wait "$spid" 2> /dev/null

	nfifo=$nd/fifo
	mkfifo "$nfifo"
	chown "$nobody_uid:$nobody_uid" "$nfifo"
	( ulimit -S -c unlimited 2> /dev/null || ulimit -S -c "$(ulimit -H -c)"
	  exec setpriv --reuid="$nobody_uid" --regid="$nobody_uid" --clear-groups -- \
		"$bin" --vault "$nd/vault" --user cw --passphrase-file "$nd/p.pass" \
		put "$ncode/x.txt" - < "$nfifo" > "$T/.nfifo.out" 2> "$T/.nfifo.err" ) &
	npid=$!
	exec 8> "$nfifo"
	wait_reading "$npid"
	check_eq "the process waiting for input is casevault, in read(0, ...)" "casevault 0 0x0" \
		"$(cat "/proc/$npid/comm" 2>&1) $(cut -d' ' -f1,2 "/proc/$npid/syscall" 2>&1)"
	check_eq "casevault (as nobody) runs as nobody" "$nobody_uid" \
		"$(awk '/^Uid:/ { print $2 }' "/proc/$npid/status" 2>&1)"
	check_eq "casevault (as nobody) is not dumpable: its /proc files belong to root" \
		0 "$(stat -c %u "/proc/$npid/status" 2>&1)"
	check_eq "casevault (as nobody) has core dumps off" 0 "$(soft_core "$npid")"
	printf 'as nobody\n' >&8
	exec 8>&-
	wait "$npid"
	check_eq "the put as nobody succeeds" 0 "$?"
	expect_exit 0 as_nobody "$bin" --vault "$nd/vault" --user cw --passphrase-file "$nd/p.pass" get "$ncode/x.txt" --purpose check
	check_eq "and reads back" "as nobody" "${OUT%$'\n'}"
fi

if [ "$dump_skipped" = 1 ] && [ "$FAILED" -eq 0 ]; then
	echo "$PASSED passed, $FAILED failed"
	skip "the dumpable check needs root and setpriv (to run casevault as another user)"
fi
finish
