# shellcheck shell=bash
#
# tests/cli/mount_lib.sh — helpers for the tests that mount a vault
# (t_mount_*.sh). Source it after lib.sh:
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/mount_lib.sh"
#
#   require_fuse              exit 77 (skip) without /dev/fuse or fusermount3;
#                             with CI=true that is a failure instead
#   $MNT                      "$T/mnt", the mount point (absolute)
#   mount_setup USER LABEL    a vault (admin dpo), a caseworker USER and one
#                             case of USER labelled LABEL: sets $CODE
#   mount_vault USER [OPT...] `casevault mount --purpose test [OPT...] $MNT`
#                             as USER (a check; a new vault requires a
#                             purpose); sets
#                             $MOUNT_PID (the daemon) and $CASEDIR (the case
#                             folder on the mount)
#   umount_vault              `casevault umount $MNT` (a check), then waits
#                             for the daemon to exit (a check)
#   daemon_pid                print the pid of the daemon serving $MNT
#   alive PID                 PID runs (and is not a zombie)
#   is_mounted                $MNT is a mount point
#   not CMD...                CMD fails (for check)
#   verify_ok DESC            `audit verify` of $VAULT passes (a check, "DESC:
#                             audit verify passes"; verify's message if not)
#   next_vault                unmount $MNT if mounted, then point $VAULT at a
#                             new path ($T/vault2, $T/vault3, ...) for
#                             mount_setup: a history that does not verify stays
#                             so, and the checks after it need one that does
#
# An EXIT trap (chained before lib.sh's) unmounts $MNT (fusermount3 -u -z)
# and stops the daemon this test started if it does not exit by itself.

MNT=$T/mnt
CODE=
CASEDIR=
MOUNT_PID=
mkdir -p "$MNT"

require_fuse() {
	local why=

	if [ ! -e /dev/fuse ]; then
		why="/dev/fuse is missing"
	elif ! command -v fusermount3 > /dev/null 2>&1; then
		why="fusermount3 is missing (Debian package fuse3)"
	fi
	[ -z "$why" ] && return 0
	if [ "${CI:-}" = true ]; then
		fail "a FUSE mount is needed in CI: $why"
		finish
	fi
	skip "$why"
}

alive() {
	local st

	[ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] || return 1
	st=$(cat "/proc/$1/stat" 2> /dev/null) || return 1
	st=${st##*) }
	[ "${st%% *}" != Z ]
}

# The process whose command line is "... mount [OPTIONS] $MNT".
daemon_pid() {
	local d n
	local -a argv

	for d in /proc/[0-9]*; do
		{ mapfile -d '' argv < "$d/cmdline"; } 2> /dev/null || continue
		n=${#argv[@]}
		[ "$n" -ge 2 ] || continue
		[ "${argv[n-1]}" = "$MNT" ] || continue
		# `mount [OPTIONS] DIR`: the options (a purpose) come before DIR.
		if [[ " ${argv[*]:0:n-1} " == *" mount "* ]] && alive "${d#/proc/}"; then
			echo "${d#/proc/}"
			return 0
		fi
	done
	return 1
}

not() {
	! "$@"
}

is_mounted() {
	awk -v m="$MNT" '$2 == m { f = 1 } END { exit !f }' /proc/mounts
}

verify_ok() {
	local out rc

	out=$("$CASEVAULT_BIN" --vault "$VAULT" --user "$AUDIT_USER" --passphrase-file "$T/$AUDIT_USER.pass" audit verify 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ]; then
		pass "$1: audit verify passes"
		return 0
	fi
	fail "$1: audit verify exits $rc: $(printf '%s' "$out" | grep -v '^hint:' | head -n 3 | tr '\n' ' ')"
	return 1
}

NVAULTS=1
next_vault() {
	MOUNT_PID=$(daemon_pid)
	if [ -z "$MOUNT_PID" ]; then
		fusermount3 -u -z "$MNT" 2> /dev/null    # a daemon that died
	elif is_mounted; then
		umount_vault
	fi
	NVAULTS=$((NVAULTS + 1))
	VAULT=$T/vault$NVAULTS
}

mount_setup() {
	local user=$1 label=$2

	mkpass dpo
	mkpass "$user"
	expect_exit 0 cv dpo init --admin dpo || finish
	add_user dpo "$user" caseworker || finish
	expect_exit 0 cv "$user" case create --label "$label" || finish
	CODE=$(printf '%s' "$OUT" | head -n 1)
	check_match "case create prints a code" '^C-[0-9A-Z]+$' "$CODE" || finish
}

mount_vault() {
	local user=$1
	shift

	expect_exit 0 cv "$user" mount --purpose test "$@" "$MNT" || return 1
	for _ in $(seq 100); do
		CASEDIR=$(find "$MNT" -mindepth 1 -maxdepth 1 -name "$CODE*" 2> /dev/null | head -n 1)
		[ -n "$CASEDIR" ] && break
		sleep 0.05
	done
	check "the case folder is on the mount" test -d "$CASEDIR" || return 1
	MOUNT_PID=$(daemon_pid)
	check "the mount daemon runs" alive "$MOUNT_PID"
}

umount_vault() {
	local pid=$MOUNT_PID

	expect_exit 0 cvbare umount "$MNT" || return 1
	for _ in $(seq 150); do
		alive "$pid" || break
		sleep 0.1
	done
	check "the daemon exits after the unmount" not alive "$pid"
	check "the mount is gone after the unmount" not is_mounted
	MOUNT_PID=
}

_mount_exit() {
	local rc=$? pid

	pid=$(daemon_pid)
	if is_mounted; then
		fusermount3 -u -z "$MNT" 2> /dev/null
	fi
	if [ -n "$pid" ]; then
		for _ in $(seq 50); do
			alive "$pid" || break
			sleep 0.1
		done
		if alive "$pid"; then
			echo "note: the mount daemon $pid did not exit after the unmount: SIGKILL" >&2
			kill -KILL "$pid" 2> /dev/null
		fi
	fi
	(exit "$rc")
	_lib_exit
}
trap _mount_exit EXIT
