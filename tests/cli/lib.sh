# shellcheck shell=bash
#
# tests/cli/lib.sh — helpers for the scenario tests (tests/cli/t_*.sh).
# Source it first thing:   . "$(dirname "$0")/lib.sh"
#
# Environment (set by ctest, see tests/CMakeLists.txt):
#   CASEVAULT_BIN  the casevault binary (default: build/casevault of this tree)
#   CASEVAULT_KDF  "test" for fast passphrase hashing (default here: test)
#   TESTS_DIR      the tests/ source directory
#
# What a test gets:
#   $T            a private temporary directory, removed on exit
#   $VAULT        "$T/vault", the vault the `cv` wrapper uses
#                 (files in $T named .* are scratch: "nothing changed" ignores them)
#   mkpass USER [PASSPHRASE]   write $T/USER.pass (mode 600)
#   cv USER ARGS...            casevault --vault $VAULT --user USER
#                                        --passphrase-file $T/USER.pass ARGS...
#   add_user ADMIN USER ROLE   ADMIN adds USER, who enrols at once with the
#                              code (through a file) and the passphrase of
#                              $T/USER.pass (mkpass USER first): the
#                              scripted provisioning. Two expect_exit
#                              checks; returns non-zero if either fails
#   cvbare ARGS...             casevault ARGS... (no options added)
#   expect_exit CODE CMD...    run CMD, stdout to $OUTF (and $OUT), stderr to
#                              $ERRF (and $ERR), exit code in $RC; check that
#                              it is CODE ('!0' = any non-zero). Returns 0 if so.
#   expect_err_hint [SUBSTR]   stderr of the last expect_exit is exactly
#                              "casevault: ..." (containing SUBSTR) + "hint: ..."
#                              (the "casevault: warning: CASEVAULT_KDF=test"
#                              line of the test KDF is not counted)
#   expect_no_stdout [DESC]    the last expect_exit printed nothing on stdout
#   fails_cleanly CODE SUBSTR CMD...
#                              CMD exits CODE with error + hint (SUBSTR in
#                              the error), prints nothing, changes nothing
#   check DESC CMD...          a check that CMD succeeds
#   check_eq DESC WANT GOT     a check that two strings are equal
#   check_match / check_contains / check_not_contains DESC PATTERN STRING
#   head_of [VAULTDIR]         print the current head commit of the history
#   snapshot / expect_unchanged DESC
#                              "nothing half-written": the head, the `ls`
#                              of the paths in $SNAP_LS (as $SNAP_USER), the
#                              files of $VAULT and of $T are the same as at
#                              the last snapshot (except $T/.* scratch files)
#   json_ok FILE [PYEXPR]      every line of FILE is a JSON object (and the
#                              python expression PYEXPR over `o` holds for each)
#   jfield FILE PYEXPR         print PYEXPR (over `o`) for each JSON line of FILE
#   finish                     print "N passed, M failed"; exit 1 if any failed
#                              (a test that stops before finish fails)
#   QUIET=1                    print failures only, not every passed check
#   skip REASON                exit 77 (ctest: skipped)
#   need_pty; at_tty USER ARGS...  casevault on a pseudo-terminal (pty_run.py)
#
# No `set -e`: the tests check every exit code themselves.

set -u
umask 077

_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${TESTS_DIR:=$(dirname "$_lib_dir")}"
: "${CASEVAULT_BIN:=$(dirname "$TESTS_DIR")/build/casevault}"
: "${CASEVAULT_KDF:=test}"
export CASEVAULT_KDF
# The caller's environment must not choose the vault, user or passphrase.
unset CASEVAULT_DIR CASEVAULT_USER CASEVAULT_PASSPHRASE_FILE
export LC_ALL=C

PASSED=0
FAILED=0
_finished=0
_skipping=0

T=$(mktemp -d "${TMPDIR:-/tmp}/casevault-test.XXXXXXXX") || { echo "cannot make a temporary directory" >&2; exit 1; }
VAULT=$T/vault
# Nor the developer's config file (~/.config/casevault/config): a test that
# wants one writes $XDG_CONFIG_HOME/casevault/config.
export XDG_CONFIG_HOME=$T/.config
OUTF=$T/.out
ERRF=$T/.err
OUT=
ERR=
RC=
SNAP_USER=
SNAP_LS=

_lib_exit() {
	local rc=$?

	chmod -R u+rwX "$T" 2>/dev/null
	rm -rf "$T"
	if [ "$_skipping" = 1 ]; then
		exit 77
	fi
	if [ "$_finished" = 0 ]; then
		# The script stopped before its end: that is a failure.
		FAILED=$((FAILED + 1))
		echo "FAIL: the test stopped before its end (exit $rc)" >&2
		echo "$PASSED passed, $FAILED failed"
		exit 1
	fi
	exit "$rc"
}
trap _lib_exit EXIT

# Shorten the temporary paths in messages; control characters show as '?'.
_show() {
	local s="$*"

	s=${s//$T/\$T}
	printf '%s' "${s//[[:cntrl:]]/?}"
}

QUIET=${QUIET:-0}     # 1: print failures only (for tests with many checks)
pass() {
	PASSED=$((PASSED + 1))
	[ "$QUIET" = 1 ] || echo "ok: $(_show "$*")"
}

fail() {
	FAILED=$((FAILED + 1))
	echo "FAIL: $(_show "$*")"
}

skip() {
	echo "SKIP: $*"
	_skipping=1
	exit 77
}

finish() {
	echo "$PASSED passed, $FAILED failed"
	_finished=1
	[ "$FAILED" -eq 0 ] && exit 0
	exit 1
}

if ! command -v python3 > /dev/null 2>&1 || ! python3 -c 'import json' 2> /dev/null; then
	skip "python3 is needed to check the JSON output"
fi

if [ ! -x "$CASEVAULT_BIN" ]; then
	echo "FAIL: casevault binary not found: $CASEVAULT_BIN" >&2
	_finished=1
	echo "0 passed, 1 failed"
	exit 1
fi
# Run a private copy: a rebuild of the tree while a test runs must not pull
# the binary away in the middle (the original if the copy does not run).
mkdir "$T/.bin"
if cp "$CASEVAULT_BIN" "$T/.bin/casevault" 2> /dev/null &&
   "$T/.bin/casevault" --version > /dev/null 2>&1; then
	CASEVAULT_BIN=$T/.bin/casevault
fi

# Print the last command's output (for a failed check).
_dump() {
	echo "  exit: $RC"
	if [ -s "$ERRF" ]; then
		echo "  stderr:"
		sed -n '1,10s/^/    /p' "$ERRF"
	fi
	if [ -s "$OUTF" ]; then
		echo "  stdout:"
		head -c 2000 "$OUTF" | LC_ALL=C tr -c '[:print:]\n\t' '?' | sed -n '1,10s/^/    /p'
	fi
}

# Random words: new passphrases must have 12 characters, not be common, and
# hold neither the user's name nor the vault id.
mkpass() {
	local words=(amber birch cobalt delta ember fjord garnet harbor indigo juniper kettle
		lantern meadow nutmeg orbit pepper quartz raven saffron thistle umber velvet willow)
	local user=$1 pass=${2:-"${words[RANDOM % 23]} ${words[RANDOM % 23]} ${words[RANDOM % 23]} $RANDOM$RANDOM"}

	(umask 077 && printf '%s\n' "$pass" > "$T/$user.pass")
	chmod 600 "$T/$user.pass"
}

cvbare() {
	"$CASEVAULT_BIN" "$@"
}

cv() {
	local user=$1
	shift
	"$CASEVAULT_BIN" --vault "$VAULT" --user "$user" --passphrase-file "$T/$user.pass" "$@"
}

add_user() {
	local admin=$1 user=$2 role=$3 code="$T/.$2.code" rc

	rm -f "$code"
	expect_exit 0 cv "$admin" user add "$user" --role "$role" --code-file "$code" &&
		expect_exit 0 cvbare --vault "$VAULT" --user "$user" enrol \
			--code-file "$code" --new-passphrase-file "$T/$user.pass"
	rc=$?
	rm -f "$code"
	return "$rc"
}

# expect_exit CODE CMD...   (CODE: a number, or '!0' for any non-zero)
expect_exit() {
	local want=$1 ok=0
	shift
	"$@" > "$OUTF" 2> "$ERRF"
	RC=$?
	OUT=$(tr -d '\000' < "$OUTF"; printf x)   # keep trailing newlines (NULs dropped)
	OUT=${OUT%x}
	ERR=$(cat "$ERRF")
	if [ "$want" = '!0' ]; then
		[ "$RC" -ne 0 ] && ok=1
	else
		[ "$RC" -eq "$want" ] && ok=1
	fi
	if [ "$ok" = 1 ]; then
		pass "exit $want: $*"
		return 0
	fi
	fail "exit $want expected, got $RC: $*"
	_dump
	return 1
}

fails_cleanly() {
	local want=$1 sub=$2
	shift 2
	snapshot
	expect_exit "$want" "$@"
	expect_err_hint "$sub"
	expect_no_stdout
	expect_unchanged
}

# The lines of the last stderr that are not the warning CASEVAULT_KDF=test
# prints (a test-suite artefact: weak passphrase hashing, never in use).
_err_lines() {
	grep -v '^casevault: warning: CASEVAULT_KDF=test: ' "$ERRF"
}

# expect_err_hint [SUBSTR]: stderr is exactly two lines, "casevault: ..."
# (containing SUBSTR) then "hint: ...".
expect_err_hint() {
	local sub=${1:-} n l1 l2 why=

	n=$(_err_lines | wc -l)
	l1=$(_err_lines | sed -n 1p)
	l2=$(_err_lines | sed -n 2p)
	if [ "$n" -ne 2 ]; then
		why="stderr has $n lines, not 2"
	elif [ "${l1#casevault: }" = "$l1" ] || [ -z "${l1#casevault: }" ]; then
		why="first line does not start with 'casevault: '"
	elif [ -n "$sub" ] && [[ "$l1" != *"$sub"* ]]; then
		why="first line does not contain '$sub'"
	elif [ "${l2#hint: }" = "$l2" ] || [ -z "${l2#hint: }" ]; then
		why="second line does not start with 'hint: '"
	fi
	if [ -z "$why" ]; then
		pass "error + hint${sub:+ ('$sub')}"
		return 0
	fi
	fail "error + hint${sub:+ ('$sub')}: $why"
	_dump
	return 1
}

# The last command printed nothing on stdout.
expect_no_stdout() {
	if [ -s "$OUTF" ]; then
		fail "nothing on stdout${1:+ ($1)}: got $(wc -c < "$OUTF") bytes"
		_dump
		return 1
	fi
	pass "nothing on stdout${1:+ ($1)}"
}

check() {
	local desc=$1
	shift
	if "$@"; then
		pass "$desc"
		return 0
	fi
	fail "$desc"
	return 1
}

check_eq() {
	if [ "$2" = "$3" ]; then
		pass "$1"
		return 0
	fi
	fail "$1: expected '$(_show "$2")', got '$(_show "$3")'"
	return 1
}

# check_match DESC REGEX STRING  (bash ERE)
check_match() {
	if [[ "$3" =~ $2 ]]; then
		pass "$1"
		return 0
	fi
	fail "$1: '$(_show "$3")' does not match /$2/"
	return 1
}

check_contains() {
	if [[ "$3" == *"$2"* ]]; then
		pass "$1"
		return 0
	fi
	fail "$1: '$2' not found in: $(_show "$3" | head -c 600)"
	return 1
}

check_not_contains() {
	if [[ "$3" != *"$2"* ]]; then
		pass "$1"
		return 0
	fi
	fail "$1: '$2' found in: $(_show "$3" | head -c 600)"
	return 1
}

# head_of [VAULTDIR]: the head commit of the history, from the last event of
# `audit log --json` (falling back to `audit verify`'s "head OID"). Prints
# "unreadable-head-N" (never equal to another) if it cannot be read.
# The history is encrypted: the helpers below read it as this user (the
# admin every test makes first).
AUDIT_USER=${AUDIT_USER:-dpo}

_unreadable=0
head_of() {
	local dir=${1:-$VAULT} h

	h=$("$CASEVAULT_BIN" --vault "$dir" --user "$AUDIT_USER" --passphrase-file "$T/$AUDIT_USER.pass" audit log --json 2>/dev/null | tail -n 1 |
		python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["commit"])' 2>/dev/null)
	if ! [[ "$h" =~ ^[0-9a-f]{40}$ ]]; then
		h=$("$CASEVAULT_BIN" --vault "$dir" --user "$AUDIT_USER" --passphrase-file "$T/$AUDIT_USER.pass" audit verify 2>/dev/null |
			sed -n 's/.* head \([0-9a-f]\{40\}\)$/\1/p')
	fi
	if ! [[ "$h" =~ ^[0-9a-f]{40}$ ]]; then
		_unreadable=$((_unreadable + 1))
		h="unreadable-head-$_unreadable"
	fi
	printf '%s\n' "$h"
}

# The state "nothing half-written" compares: the head, the listings of
# $SNAP_LS as $SNAP_USER, the files in $VAULT and in $T.
_state() {
	local p

	echo "head $(head_of)"
	if [ -n "$SNAP_USER" ]; then
		for p in $SNAP_LS; do
			echo "ls $p:"
			cv "$SNAP_USER" ls "$p" --json 2>&1
			echo "rc $?"
		done
	fi
	echo "vault files:"
	(cd "$VAULT" 2>/dev/null && find . -printf '%p %m %y\n' | sort)
	echo "work files:"
	(cd "$T" && find . -mindepth 1 \( -path ./vault -o -path './.*' \) -prune \
		-o -type d -printf '%p %m d\n' -o -printf '%p %m %y %s\n' | sort)
}

snapshot() {
	_state > "$T/.state"
	# Each listing is a `list` event: the head to compare with is the one
	# after the snapshot's own listings (_state reads the head first).
	sed -i "1s/.*/head $(head_of)/" "$T/.state"
}

expect_unchanged() {
	local now

	now=$(_state)
	if [ "$now" = "$(cat "$T/.state")" ]; then
		pass "nothing changed${1:+ ($1)}"
		return 0
	fi
	fail "nothing changed${1:+ ($1)}:"
	diff <(cat "$T/.state") <(printf '%s\n' "$now") | sed -n '1,20s/^/    /p'
	return 1
}

# json_ok FILE [PYEXPR]: FILE holds one JSON object per line (at least one),
# and PYEXPR (over `o`, the object) is true for every line.
json_ok() {
	python3 - "$1" "${2:-True}" <<-'EOF'
	import json, sys
	lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
	if not lines:
	    print("  no JSON lines"); sys.exit(1)
	for i, line in enumerate(lines, 1):
	    try:
	        o = json.loads(line)
	    except ValueError as e:
	        print("  line %d is not JSON: %s: %r" % (i, e, line[:200])); sys.exit(1)
	    if not isinstance(o, dict):
	        print("  line %d is not an object" % i); sys.exit(1)
	    try:
	        ok = eval("(" + sys.argv[2] + "\n)", {}, {"o": o})
	    except Exception as e:
	        print("  line %d: %s: %r" % (i, e, line[:200])); sys.exit(1)
	    if not ok:
	        print("  line %d fails %s: %r" % (i, sys.argv[2], line[:300])); sys.exit(1)
	EOF
}

# jfield FILE PYEXPR: print PYEXPR (over `o`) for each JSON line of FILE.
jfield() {
	python3 - "$1" "$2" <<-'EOF'
	import json, sys
	try:
	    for line in open(sys.argv[1], encoding="utf-8").read().splitlines():
	        v = eval("(" + sys.argv[2] + "\n)", {}, {"o": json.loads(line)})
	        print("null" if v is None else v, flush=True)
	except BrokenPipeError:
	    import os
	    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
	EOF
}

# Random bytes: rand_file FILE BYTES
rand_file() {
	head -c "$2" /dev/urandom > "$1"
}

sha_of() {
	sha256sum < "$1" | cut -d' ' -f1
}

# need_pty: skip unless pty_run.py can drive a pseudo-terminal.
need_pty() {
	if ! python3 -c 'import pty, os; os.waitstatus_to_exitcode' 2> /dev/null; then
		skip "python3 with pty and os.waitstatus_to_exitcode (3.9) is needed"
	fi
}

# at_tty [--wait-for TEXT --send TEXT]... USER ARGS...: casevault as USER
# on a pseudo-terminal (pty_run.py); what it wrote is on stdout.
at_tty() {
	local -a pty_opts=()

	while [ "${1:-}" = --wait-for ] || [ "${1:-}" = --send ]; do
		pty_opts+=("$1" "$2")
		shift 2
	done
	local user=$1
	shift
	python3 "$TESTS_DIR/cli/pty_run.py" "${pty_opts[@]}" --timeout 10 -- "$CASEVAULT_BIN" \
		--vault "$VAULT" --user "$user" --passphrase-file "$T/$user.pass" "$@"
}
