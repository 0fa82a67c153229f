#!/usr/bin/env bash
# A short stress-ng soak on the mount: file-system stressors that need no
# special features (no mmap shared-write, locks, fallocate, xattrs or direct
# I/O) run together in a case folder of the mount, with --verify. Then the
# mount must still work, the daemon still run, files written before the soak
# be intact, and the history verify. If the soak fails, each stressor runs
# again alone (a few seconds, on a fresh mount if the daemon died) to name
# the one that fails.
#
#   SOAK_TIMEOUT=S    how long the stressors run together (default 20s)
#
# Needs the Debian package stress-ng (tests/deps.sh does not install it):
# without it the test is skipped, or fails when CI=true.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mount_lib.sh"

require_fuse
if ! command -v stress-ng > /dev/null 2>&1; then
	if [ "${CI:-}" = true ]; then
		fail "stress-ng is needed in CI (Debian package stress-ng)"
		finish
	fi
	skip "stress-ng is missing (Debian package stress-ng)"
fi
stress-ng --version 2>&1 | head -n 1

SOAK_TIMEOUT=${SOAK_TIMEOUT:-20s}
# name: the stressor's options
STRESSORS=(
	"hdd:--hdd 2 --hdd-bytes 8M --hdd-opts wr-seq,rd-rnd"
	"dir:--dir 1 --dir-dirs 256"
	"rename:--rename 1"
	"seek:--seek 1 --seek-size 16M"
	"dentry:--dentry 1 --dentries 512"
	"chdir:--chdir 1 --chdir-dirs 64"
)

mount_setup noy "Soak test"
mount_vault noy || finish

# Files written before the soak, compared after it.
rand_file "$T/before.bin" 300000
check "a file is written through the mount before the soak" cp "$T/before.bin" "$CASEDIR/before.bin"
mkdir -p "$CASEDIR/keep/sub"
printf 'kept\n' > "$CASEDIR/keep/sub/note.txt"

# soak NAME SECONDS OPTIONS...: run stress-ng in a fresh folder of the case;
# a check on its exit status and its "fail:" lines. Its output: $T/.soak.
soak() {
	local name=$1 secs=$2 dir rc nfail
	shift 2

	dir="$CASEDIR/soak-$name"
	if ! mkdir -p "$dir" 2> "$ERRF"; then
		fail "soak $name: cannot make its folder: $(cat "$ERRF")"
		return 1
	fi
	timeout -k 10 $((${secs%s} + 40)) stress-ng "$@" --temp-path "$dir" --timeout "$secs" \
		--verify --metrics-brief > "$T/.soak" 2>&1
	rc=$?
	nfail=$(grep -c -E '(fail|error): ' "$T/.soak")
	case $rc in
	0)
		if [ "$nfail" -eq 0 ]; then
			pass "soak $name ($secs): stress-ng exit 0, no failure reported"
			return 0
		fi
		fail "soak $name ($secs): stress-ng exit 0, but $nfail 'fail:'/'error:' lines" ;;
	2) fail "soak $name ($secs): stress-ng exit 2: one or more stressors failed" ;;
	3) fail "soak $name ($secs): stress-ng exit 3: a stressor could not start (lack of resources, or a call the mount does not implement)" ;;
	4) fail "soak $name ($secs): stress-ng exit 4: a stressor is not implemented here" ;;
	5) fail "soak $name ($secs): stress-ng exit 5: a stressor was killed by a signal" ;;
	124|137) fail "soak $name ($secs): stress-ng did not finish in time (a hang?)" ;;
	*) fail "soak $name ($secs): stress-ng exit $rc" ;;
	esac
	grep -E '(fail|error): ' "$T/.soak" | sed "s|$T|\$T|g" | sort | uniq -c | sort -rn | head -n 8 | sed 's/^/    /'
	return 1
}

# The daemon runs; if not, say so and mount again (for what follows).
daemon_ok() {
	if check "the mount daemon runs after $1" alive "$(daemon_pid)"; then
		return 0
	fi
	fusermount3 -u -z "$MNT" 2> /dev/null
	mount_vault noy || finish
	return 1
}

# --- the soak: every stressor at once ----------------------------------------
opts=
for s in "${STRESSORS[@]}"; do
	opts="$opts ${s#*:}"
done
start=$SECONDS
# shellcheck disable=SC2086   # the options, word by word
soak all "$SOAK_TIMEOUT" $opts
soak_rc=$?
grep 'metrc:' "$T/.soak" | sed 's/^stress-ng: metrc: \[[0-9]*\] */    /' | head -n 9
echo "soak: $((SECONDS - start)) s"
daemon_ok "the soak"

# --- on a failure: each stressor alone, to name the one that fails -----------
if [ "$soak_rc" -ne 0 ]; then
	for s in "${STRESSORS[@]}"; do
		# shellcheck disable=SC2086
		soak "${s%%:*}" 4s ${s#*:}
		daemon_ok "stressor ${s%%:*} alone"
	done
fi

# --- afterwards: the mount works, nothing written before was touched ----------
check "the file written before the soak is intact" cmp -s "$T/before.bin" "$CASEDIR/before.bin"
check_eq "the note in a folder is intact" "kept" "$(cat "$CASEDIR/keep/sub/note.txt" 2>&1)"
rand_file "$T/after.bin" 150000
check "a new file can be written after the soak" cp "$T/after.bin" "$CASEDIR/after.bin"
check "and read back" cmp -s "$T/after.bin" "$CASEDIR/after.bin"
# shellcheck disable=SC2016
check "a folder can be made and removed" bash -c 'mkdir "$1/after-dir" && rmdir "$1/after-dir"' _ "$CASEDIR"
# shellcheck disable=SC2016
check "the case folder lists" bash -c 'ls "$1" > /dev/null' _ "$CASEDIR"
expect_exit 0 cv noy get "$CODE/after.bin" --purpose test -o "$T/after-cli.bin"
check "the CLI reads what the mount wrote" cmp -s "$T/after.bin" "$T/after-cli.bin"

MOUNT_PID=$(daemon_pid)
check "the mount daemon runs at the end" alive "$MOUNT_PID"
umount_vault
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit verify
finish
