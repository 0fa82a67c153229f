#!/usr/bin/env bash
# Crash safety: SIGKILL the CLI at random points of a stream of puts.
#
# Each put stores 1 KiB..3 MiB of random bytes under one of a few names
# (so most make new versions). Most are killed after a random 0-40 ms
# (capped at the time the slowest complete put took); some run to the end. A put that exited 0 (even one we then tried to kill) was
# acknowledged. After every kill the vault must reopen; every 20 kills the
# history must verify. At the end:
#  - `audit verify` exits 0;
#  - for each name, the versions in `history` are, in order, a subsequence
#    of the puts made to that name that holds EVERY acknowledged put (killed
#    puts may or may not have committed), each version holds exactly the
#    bytes of its put (sha256) and the size `history` says;
#  - `get` of each name returns its newest version.
#
# Env: CRASH_KILLS (default 200), CRASH_SEED (default: from the time).
. "$(dirname "$0")/lib.sh"
QUIET=1

kills_wanted=${CRASH_KILLS:-200}
seed=${CRASH_SEED:-$(( $(date +%s%N) % 1000000007 ))}
RANDOM=$seed
echo "seed: $seed (rerun with CRASH_SEED=$seed CRASH_KILLS=$kills_wanted)"

NAMES=12
MAXSIZE=$((3 * 1024 * 1024))
MINSIZE=1024

mkpass dpo
mkpass noy
expect_exit 0 cv dpo init --admin dpo || finish
add_user dpo noy caseworker || finish
expect_exit 0 cv noy case create --label "crash test" || finish
code=${OUT%$'\n'}
expect_exit 0 cv noy mkdir "$code/d" || finish

puts=$T/.puts          # one line per put: NAME SEQ STATUS SHA256 SIZE
: > "$puts"
src=$T/.src
start=$(date +%s)
kills=0 seq=0 killed=0 acked_after_kill=0 completed=0 reopen_fail=0

now_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	echo $((t / 1000))
}
slowest=40      # the longest complete put so far, in ms

rand_size() {
	echo $(( MINSIZE + (((RANDOM << 15) | RANDOM) % (MAXSIZE - MINSIZE + 1)) ))
}

while [ "$kills" -lt "$kills_wanted" ]; do
	seq=$((seq + 1))
	name=d/f$((RANDOM % NAMES))
	size=$(rand_size)
	head -c "$size" /dev/urandom > "$src"
	sha=$(sha_of "$src")
	# From a file or from standard input.
	if [ $((RANDOM % 2)) = 0 ]; then
		set -- put "$code/$name" "$src"
	else
		set -- put "$code/$name" -
	fi

	if [ $((RANDOM % 5)) = 0 ]; then
		# A complete put: it must succeed.
		t0=$(now_ms)
		"$CASEVAULT_BIN" --vault "$VAULT" --user noy --passphrase-file "$T/noy.pass" "$@" \
			< "$src" > /dev/null 2> "$T/.put.err"
		rc=$?
		t1=$(now_ms)
		[ $((t1 - t0)) -gt "$slowest" ] && slowest=$((t1 - t0))
		if [ "$rc" = 0 ]; then
			pass "complete put $seq"
			completed=$((completed + 1))
			echo "$name $seq acked $sha $size" >> "$puts"
		else
			fail "complete put $seq ($name, $size bytes) exited $rc: $(head -c 300 "$T/.put.err")"
			echo "$name $seq failed $sha $size" >> "$puts"
		fi
		continue
	fi

	# Kill after 0-40 ms, and no later than the slowest complete put took
	# (so that most kills hit a running put).
	cap=$((slowest < 40 ? slowest : 40))
	"$CASEVAULT_BIN" --vault "$VAULT" --user noy --passphrase-file "$T/noy.pass" "$@" \
		< "$src" > /dev/null 2> "$T/.put.err" &
	pid=$!
	sleep "0.0$(printf '%02d' $((RANDOM % (cap + 1))))"
	kill -KILL "$pid" 2> /dev/null
	wait "$pid" 2> /dev/null
	rc=$?
	kills=$((kills + 1))
	case $rc in
	0)
		acked_after_kill=$((acked_after_kill + 1))
		echo "$name $seq acked $sha $size" >> "$puts" ;;
	137)
		killed=$((killed + 1))
		echo "$name $seq killed $sha $size" >> "$puts" ;;
	*)
		# Not killed, and not acknowledged: an error. Its write must
		# not have happened, but we cannot tell; count it as killed.
		fail "put $seq ($name, $size bytes) exited $rc: $(head -c 300 "$T/.put.err")"
		echo "$name $seq killed $sha $size" >> "$puts" ;;
	esac

	# The vault reopens: the next command works.
	if ! "$CASEVAULT_BIN" --vault "$VAULT" --user noy --passphrase-file "$T/noy.pass" \
		ls "$code/d" --purpose check > /dev/null 2> "$T/.ls.err"; then
		reopen_fail=$((reopen_fail + 1))
		fail "after kill $kills (put $seq), ls fails: $(head -c 300 "$T/.ls.err")"
	else
		pass "reopen after kill $kills"
	fi
	if [ $((kills % 20)) = 0 ]; then
		if "$CASEVAULT_BIN" --vault "$VAULT" --user "$AUDIT_USER" --passphrase-file "$T/$AUDIT_USER.pass" audit verify > "$T/.verify.out" 2>&1; then
			pass "audit verify after $kills kills"
		else
			fail "audit verify after $kills kills (put $seq): $(head -c 400 "$T/.verify.out")"
		fi
		echo "  $kills kills, $seq puts, $(( $(date +%s) - start )) s"
	fi
	if [ "$reopen_fail" -ge 5 ]; then
		fail "the vault does not reopen any more; stopping"
		break
	fi
done
rm -f "$src"
echo "puts: $seq; SIGKILLs: $kills, of which $killed killed a running put and $acked_after_kill came after its exit 0; complete puts: $completed"
check "some kills hit a running put" [ "$killed" -ge $((kills_wanted / 10)) ]

# --- the end state ------------------------------------------------------------
QUIET=0
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit verify
echo "  $OUT"

# Every version of every name: its sha256 and the size history reports.
versions=$T/.versions   # NAME VERSION SHA256 SIZE
: > "$versions"
current=$T/.current     # NAME SHA256-of-get (or "missing RC")
: > "$current"
for n in $(cut -d' ' -f1 "$puts" | sort -u); do
	cv noy history "$code/$n" --json > "$T/.hist" 2> "$T/.hist.err"
	rc=$?
	if [ "$rc" != 0 ]; then
		echo "$n missing $rc $(head -c 200 "$T/.hist.err" | tr '\n' ' ')" >> "$current"
		continue
	fi
	while read -r v hsize; do
		if cv noy get "$code/$n" --version "$v" --purpose check > "$T/.got" 2> "$T/.get.err"; then
			echo "$n $v $(sha_of "$T/.got") $hsize" >> "$versions"
		else
			echo "$n $v get-failed-$(head -c 200 "$T/.get.err" | tr ' \n' '__') $hsize" >> "$versions"
		fi
	done < <(jfield "$T/.hist" 'str(o["version"]) + " " + str(o["size"])')
	if cv noy get "$code/$n" --purpose check > "$T/.got" 2> "$T/.get.err"; then
		echo "$n $(sha_of "$T/.got")" >> "$current"
	else
		echo "$n get-failed $(head -c 200 "$T/.get.err" | tr '\n' ' ')" >> "$current"
	fi
done

# Match versions to puts (content is random: each put's sha256 is unique).
python3 - "$puts" "$versions" "$current" > "$T/.match" <<-'EOF'
	import sys
	from collections import defaultdict
	puts = defaultdict(list)
	for line in open(sys.argv[1]):
	    name, seq, status, sha, size = line.split()
	    puts[name].append((int(seq), status, sha, int(size)))
	versions = defaultdict(list)
	for line in open(sys.argv[2]):
	    name, v, sha, size = line.split()
	    versions[name].append((int(v), sha, int(size)))
	current = {}
	for line in open(sys.argv[3]):
	    name, rest = line.rstrip("\n").split(" ", 1)
	    current[name] = rest
	bad = 0
	def problem(msg):
	    global bad
	    bad += 1
	    print("FAIL:", msg)
	nacked = nversions = 0
	for name in sorted(puts):
	    ps, vs = puts[name], versions.get(name, [])
	    nacked += sum(1 for p in ps if p[1] == "acked")
	    nversions += len(vs)
	    if [v for v, _, _ in vs] != list(range(1, len(vs) + 1)):
	        problem("%s: versions are not 1..%d: %s" % (name, len(vs), [v for v, _, _ in vs]))
	    i = 0
	    for v, sha, size in vs:
	        # The next put that committed: skip killed (uncommitted) ones only.
	        j = i
	        while j < len(ps) and ps[j][2] != sha:
	            j += 1
	        if j == len(ps):
	            problem("%s v%d: its content (sha256 %s, %d bytes) is no put made after the previous version"
	                    % (name, v, sha[:16], size))
	            continue
	        for p in ps[i:j]:
	            if p[1] == "acked":
	                problem("%s: acknowledged put %d (%d bytes) is missing before v%d" % (name, p[0], p[3], v))
	        if ps[j][3] != size:
	            problem("%s v%d: history says %d bytes, put %d stored %d" % (name, v, size, ps[j][0], ps[j][3]))
	        i = j + 1
	    for p in ps[i:]:
	        if p[1] == "acked":
	            problem("%s: acknowledged put %d (%d bytes) is not in the history" % (name, p[0], p[3]))
	    cur = current.get(name, "")
	    if vs:
	        if cur != vs[-1][1]:
	            problem("%s: get returns %s, the newest version v%d is %s" % (name, cur[:40], vs[-1][0], vs[-1][1][:16]))
	    elif not cur.startswith("missing 1"):
	        problem("%s: no version, but history/get says %s" % (name, cur[:80]))
	print("checked: %d names, %d puts, %d acknowledged, %d versions" % (len(puts), sum(map(len, puts.values())), nacked, nversions))
	sys.exit(1 if bad else 0)
EOF
rc=$?
cat "$T/.match"
check_eq "every acknowledged put is a version with its exact bytes; every version is a put" 0 "$rc"
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit verify
echo "runtime: $(( $(date +%s) - start )) s"

finish
