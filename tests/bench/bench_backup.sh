#!/usr/bin/env bash
# `casevault backup` of a large vault beside `cp` of its data file on the
# same disk, alone and with a mount writing meanwhile.
#
#   bash tests/bench/bench_backup.sh [VAULT] [WORK] [ROUNDS]
#
# VAULT: a vault bench_blocks made (admin dpo, caseworker w, passphrase
# "bench-pass"); /var/tmp/cvb-10g by default, built with `bench_blocks
# VAULT 10 0` when missing (10 GiB). WORK (default /var/tmp/cvb-work) holds
# the copies, and is removed at the end; the vault is kept (delete it
# yourself). Each round, the page cache dropped before each step (as
# root), the load average printed first:
#   1. cp of data.mdb and sync: seconds, MB/s; then casevault backup alone;
#   2. the mount's writer alone for 20 s: 64 KiB files written and closed
#      (each a version, a signed event), per second;
#   3. cp of data.mdb and sync while the writer goes on (the peer of 4,
#      under the same conditions): seconds, the writer's files per second;
#   4. casevault backup while the writer goes on: seconds, MB/s of the
#      vault file, its speed as a ratio to cp's alone (1) and to cp's with
#      the writer (3), the writer's files per second meanwhile; then backup
#      verify --quick of the snapshot.
# BASELINE=/path/to/casevault also runs 1's and 4's backups with that
# build, alternating with this one (old and new in the same round).
# CASEVAULT_KDF=test: the vault's users were made with the test profile.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cv=$root/build/casevault
vault=${1:-/var/tmp/cvb-10g}
work=${2:-/var/tmp/cvb-work}
rounds=${3:-1}
export CASEVAULT_KDF=test XDG_STATE_HOME=$work/state

[ -d "$vault" ] || "$root/build/bench_blocks" "$vault" 10 0 || exit 1
[ -e "$work" ] && { echo "bench_backup: $work exists; remove it first" >&2; exit 1; }
mkdir -p "$work/mnt"
printf 'bench-pass\n' > "$work/pass"
chmod 600 "$work/pass"

now() { date +%s.%N; }
cold() {
	sync
	[ "$(id -u)" = 0 ] && echo 3 > /proc/sys/vm/drop_caches
}
as() { "$cv" --vault "$vault" --user "$1" --passphrase-file "$work/pass" "${@:2}"; }

cleanup() {
	touch "$work/stop"
	wait 2> /dev/null
	"$cv" umount "$work/mnt" 2> /dev/null
	rm -rf "$work"
}
trap cleanup EXIT

as w mount "$work/mnt" --purpose bench || exit 1
casedir=$(find "$work/mnt" -mindepth 1 -maxdepth 1 -name 'C-*' | head -n 1)
[ -n "$casedir" ] || { echo "bench_backup: no case on the mount" >&2; exit 1; }
mkdir -p "$casedir/bench-writes"
head -c 65536 /dev/urandom > "$work/chunk"

# The writer: one 64 KiB file after another, each closed (a version).
writer() {
	local i=0

	while [ ! -e "$work/stop" ]; do
		cp "$work/chunk" "$casedir/bench-writes/$1-$i.bin" && echo "$i" >> "$work/writes"
		i=$((i + 1))
	done
}
count() { wc -l < "$work/writes"; }

# with_writer NAME CMD...: CMD, caches dropped first, while the writer
# runs; T its seconds, F the writer's files per second meanwhile.
with_writer() {
	local name=$1 n0 n1 t0
	shift
	cold
	rm -f "$work/stop"; : > "$work/writes"
	writer "$name" &
	sleep 1
	n0=$(count)
	t0=$(now)
	"$@" || return 1
	T=$(echo "$(now) - $t0" | bc -l)
	n1=$(count)
	touch "$work/stop"; wait
	F=$(echo "($n1 - $n0) / $T" | bc -l)
}
timed() {
	local t0
	cold
	t0=$(now)
	"$@" || return 1
	T=$(echo "$(now) - $t0" | bc -l)
}
cp_sync() { cp "$vault/data.mdb" "$work/cp.mdb" && sync; }
backup_with() { "$1" --vault "$vault" --user dpo --passphrase-file "$work/pass" backup "$2" > /dev/null; }
checked() {
	as dpo backup verify "$1" --quick > /dev/null || { echo "bench_backup: the snapshot does not verify" >&2; return 1; }
	SNAP=$(stat -c %s "$1/data.mdb")
	rm -rf "$1"
}
r2() { echo "$1 / $2" | bc -l | xargs printf '%.2f'; }
r1() { echo "$1" | bc -l | xargs printf '%.1f'; }
mbs() { echo "$size / $1 / 1000000" | bc -l | xargs printf '%.0f'; }

size=$(stat -c %s "$vault/data.mdb")
echo "vault $vault: data.mdb $(echo "$size / 1000000000" | bc -l | xargs printf '%.2f') GB"
builds=$cv
[ -n "${BASELINE:-}" ] && builds="$BASELINE $cv"
for r in $(seq 1 "$rounds"); do
	echo "round $r: load average $(cut -d' ' -f1-3 /proc/loadavg)"
	timed cp_sync || exit 1
	tcp=$T
	rm -f "$work/cp.mdb"
	echo "  cp + sync alone: $(r1 "$tcp") s ($(mbs "$tcp") MB/s)"
	for b in $builds; do
		timed backup_with "$b" "$work/alone$r" || exit 1
		checked "$work/alone$r" || exit 1
		echo "  backup alone ($b): $(r1 "$T") s ($(mbs "$T") MB/s, $(r2 "$tcp" "$T") of cp's speed alone)"
	done

	rm -f "$work/stop"; : > "$work/writes"
	writer "alone$r" &
	sleep 20
	touch "$work/stop"; wait
	alone=$(echo "$(count) / 20" | bc -l)
	echo "  writer alone: $(r1 "$alone") files/s"

	with_writer "cp$r" cp_sync || exit 1
	tcpw=$T
	rm -f "$work/cp.mdb"
	echo "  cp + sync with the writer: $(r1 "$tcpw") s ($(mbs "$tcpw") MB/s); writer $(r1 "$F") files/s ($(r2 "$F" "$alone") of alone)"
	k=0
	for b in $builds; do
		k=$((k + 1))
		with_writer "bk$r-$k" backup_with "$b" "$work/bk$r" || exit 1
		checked "$work/bk$r" || exit 1
		echo "  backup with the writer ($b): $(r1 "$T") s ($(mbs "$T") MB/s; $(r2 "$tcp" "$T") of cp's speed alone, $(r2 "$tcpw" "$T") of cp's with the writer; snapshot $(echo "$SNAP / 1000000000" | bc -l | xargs printf '%.2f') GB); writer $(r1 "$F") files/s ($(r2 "$F" "$alone") of alone)"
	done
	echo "  load average after the round: $(cut -d' ' -f1-3 /proc/loadavg)"
done
"$cv" umount "$work/mnt"
as dpo audit verify --quick > /dev/null && echo "the vault verifies (--quick)"
