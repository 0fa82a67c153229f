#!/usr/bin/env bash
# `casevault backup` of a large vault beside `cp` of its data file on the
# same disk, with a mount writing meanwhile.
#
#   bash tests/bench/bench_backup.sh [VAULT] [WORK] [ROUNDS]
#
# VAULT: a vault bench_blocks made (admin dpo, caseworker w, passphrase
# "bench-pass"); /var/tmp/cvb-10g by default, built with `bench_blocks
# VAULT 10 0` when missing (10 GiB). WORK (default /var/tmp/cvb-work) holds
# the copies, and is removed at the end; the vault is kept (delete it
# yourself). Each round, the page cache dropped first (as root):
#   1. cp of data.mdb and sync: seconds, MB/s; then casevault backup alone;
#   2. the mount's writer alone for 20 s: 64 KiB files written and closed
#      (each a version, a signed event), per second;
#   3. casevault backup while the writer goes on: seconds, MB/s of the
#      vault file, ratio to cp's speed, the writer's files per second
#      meanwhile; then backup verify --quick of the snapshot.
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

size=$(stat -c %s "$vault/data.mdb")
echo "vault $vault: data.mdb $(echo "$size / 1000000000" | bc -l | xargs printf '%.2f') GB"
for r in $(seq 1 "$rounds"); do
	cold
	t0=$(now)
	cp "$vault/data.mdb" "$work/cp.mdb" && sync
	tcp=$(echo "$(now) - $t0" | bc -l)
	rm -f "$work/cp.mdb"

	cold
	t0=$(now)
	as dpo backup "$work/alone$r" > /dev/null || exit 1
	talone=$(echo "$(now) - $t0" | bc -l)
	rm -rf "$work/alone$r"

	rm -f "$work/stop"; : > "$work/writes"
	writer "alone$r" &
	sleep 20
	touch "$work/stop"; wait
	alone=$(echo "$(count) / 20" | bc -l)

	cold
	rm -f "$work/stop"; : > "$work/writes"
	writer "during$r" &
	sleep 1
	n0=$(count)
	t0=$(now)
	as dpo backup "$work/bk$r" > /dev/null || exit 1
	tbk=$(echo "$(now) - $t0" | bc -l)
	n1=$(count)
	touch "$work/stop"; wait
	during=$(echo "($n1 - $n0) / $tbk" | bc -l)
	snap=$(stat -c %s "$work/bk$r/data.mdb")
	as dpo backup verify "$work/bk$r" --quick > /dev/null || { echo "bench_backup: the snapshot does not verify" >&2; exit 1; }
	rm -rf "$work/bk$r"

	printf 'round %d: cp %.1f s (%.0f MB/s); backup alone %.1f s (%.2f of cp'"'"'s speed); backup with the writer %.1f s (%.0f MB/s of the vault file, %.2f of cp'"'"'s speed; snapshot %.2f GB); writer %.1f files/s alone, %.1f during the backup (%.2f)\n' \
		"$r" "$tcp" "$(echo "$size / $tcp / 1000000" | bc -l)" "$talone" "$(echo "$tcp / $talone" | bc -l)" "$tbk" \
		"$(echo "$size / $tbk / 1000000" | bc -l)" "$(echo "$tcp / $tbk" | bc -l)" \
		"$(echo "$snap / 1000000000" | bc -l)" "$alone" "$during" "$(echo "$during / $alone" | bc -l)"
done
"$cv" umount "$work/mnt"
as dpo audit verify --quick > /dev/null && echo "the vault verifies (--quick)"
