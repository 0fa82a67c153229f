#!/usr/bin/env bash
# The mount beside gocryptfs (a fresh filesystem) and a plain directory, in
# one run, on the same disk:
#   sequential write of a 512 MiB file (with fsync) and its cold read
#   (remount, drop caches); extracting a tarball of 5,000 files of 4 KiB in
#   50 folders; cold ls -lR of them; cold read of all 5,000; deleting them.
# Each as a rate and as a ratio to gocryptfs and to plain.
#
#   bash tests/bench/bench_mount.sh [BIG_MIB] [FILES] [DIR] [ROUNDS]
#
# Figures are medians over ROUNDS rounds (default 3); the disk and memory
# of a shared virtual machine swing by a factor of two from run to run.
#
# Needs root (to drop the page cache), /dev/fuse, gocryptfs.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
big=${1:-512}
files=${2:-5000}
base=${3:-/var/tmp}
rounds=${4:-3}
cv="$top/build/casevault"
[ -x "$cv" ] || { echo "build first: cmake -S . -B build && cmake --build build" >&2; exit 2; }
command -v gocryptfs >/dev/null || { echo "needs gocryptfs (apt-get install gocryptfs)" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "run as root: each step starts from a cold page cache" >&2; exit 2; }

work=$(mktemp -d "$base/cvbench.XXXXXX")
umask 077
cleanup() {
	fusermount3 -u -z "$work/cv" 2>/dev/null || true
	fusermount3 -u -z "$work/gc" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
printf 'granite meadow lantern\n' > "$work/pass"
chmod 600 "$work/pass"
export CASEVAULT_DIR="$work/vault" CASEVAULT_USER=cw CASEVAULT_PASSPHRASE_FILE="$work/pass"

# Every round starts from a fresh vault, a fresh gocryptfs and an empty
# plain folder: a vault keeps every version and every deleted file, so a
# reused one would grow from round to round.
fresh() {
	rm -rf "$work/vault" "$work/gc.cipher" "$work/plain"
	mkdir -p "$work/cv" "$work/gc" "$work/gc.cipher" "$work/plain"
	"$cv" init --admin bench >/dev/null 2>&1
	# Admins hold no case key: the caseworker cw has the case and mounts it.
	rm -f "$work/cw.code"
	"$cv" --user bench user add cw --role caseworker --code-file "$work/cw.code" >/dev/null 2>&1
	"$cv" --user cw enrol --code-file "$work/cw.code" --new-passphrase-file "$work/pass" >/dev/null 2>&1
	code=$("$cv" case create 2>/dev/null)
	gocryptfs -q -init -passfile "$work/pass" "$work/gc.cipher" >/dev/null
	mount_cv
	mount_gc
}
# The round's vault must verify; then both unmount.
done_round() {
	"$cv" audit verify >/dev/null 2>&1 || { echo "audit verify failed after round $1" >&2; exit 1; }
	"$cv" umount "$work/cv"
	fusermount3 -u "$work/gc"
}

mount_cv() { "$cv" mount "$work/cv" --purpose bench 2>/dev/null; }
mount_gc() { gocryptfs -q -passfile "$work/pass" "$work/gc.cipher" "$work/gc"; }
remount() {
	case $1 in
	cv) "$cv" umount "$work/cv"; mount_cv ;;
	gc) fusermount3 -u "$work/gc"; mount_gc ;;
	esac
}
target() {
	case $1 in
	cv) echo "$work/cv/$code" ;;
	gc) echo "$work/gc" ;;
	plain) echo "$work/plain" ;;
	esac
}
cold() { sync; echo 3 > /proc/sys/vm/drop_caches; }
now() { date +%s.%N; }

# The inputs: a 512 MiB file, and a tarball of FILES files of 4 KiB in 50 folders.
head -c "$((big << 20))" /dev/urandom > "$work/big.src"
mkdir "$work/tree"
for ((d = 0; d < 50; d++)); do mkdir "$work/tree/d$d"; done
for ((i = 0; i < files; i++)); do
	head -c 4096 /dev/urandom > "$work/tree/d$((i % 50))/f$i.bin"
done
tar -cf "$work/tree.tar" -C "$work/tree" .
rm -rf "$work/tree"

# Each round runs every step on each of the three, the order turning from
# round to round so that none always goes first (the first writer of a run
# meets a colder machine). Figures are medians over the rounds.
declare -A T
order=(cv gc plain)
for ((r = 0; r < rounds; r++)); do
	fresh
	for ((k = 0; k < 3; k++)); do
		fs=${order[$(((r + k) % 3))]}
		dir=$(target "$fs")
		cold; t0=$(now)
		dd if="$work/big.src" of="$dir/big.bin" bs=1M conv=fsync status=none
		T[$fs.write.$r]=$(echo "$(now) - $t0" | bc)

		remount "$fs"; cold; t0=$(now)
		cat "$dir/big.bin" > /dev/null
		T[$fs.read.$r]=$(echo "$(now) - $t0" | bc)
		rm -f "$dir/big.bin"

		mkdir "$dir/tree"
		cold; t0=$(now)
		tar -xf "$work/tree.tar" -C "$dir/tree"
		sync
		T[$fs.untar.$r]=$(echo "$(now) - $t0" | bc)

		remount "$fs"; cold; t0=$(now)
		ls -lR "$dir/tree" > /dev/null
		T[$fs.ls.$r]=$(echo "$(now) - $t0" | bc)

		remount "$fs"; cold; t0=$(now)
		find "$dir/tree" -type f -exec cat {} + > /dev/null
		T[$fs.readall.$r]=$(echo "$(now) - $t0" | bc)

		t0=$(now)
		rm -rf "$dir/tree"
		sync
		T[$fs.rm.$r]=$(echo "$(now) - $t0" | bc)
	done
	done_round "$r"
done

# The median of one figure's seconds over the rounds.
median() {
	local fs=$1 key=$2
	for ((r = 0; r < rounds; r++)); do echo "${T[$fs.$key.$r]}"; done |
		sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
mib=$big
echo "medians of $rounds rounds"
printf '%-28s %12s %12s %12s %10s %10s\n' figure casevault gocryptfs plain "x gocrypt" "x plain"
row() {
	local name=$1 key=$2 unit=$3 amount=$4
	local c g p
	c=$(median cv "$key"); g=$(median gc "$key"); p=$(median plain "$key")
	printf '%-28s %12.1f %12.1f %12.1f %10.2f %10.2f\n' "$name ($unit)" \
		"$(echo "$amount / $c" | bc -l)" "$(echo "$amount / $g" | bc -l)" "$(echo "$amount / $p" | bc -l)" \
		"$(echo "$g / $c" | bc -l)" "$(echo "$p / $c" | bc -l)"
}
row "seq write ${big} MiB+fsync" write MB/s "$mib * 1.048576"
row "cold seq read" read MB/s "$mib * 1.048576"
row "untar $files x 4 KiB" untar files/s "$files"
row "cold ls -lR" ls files/s "$files"
row "cold read all" readall files/s "$files"
row "delete all" rm files/s "$files"
echo
echo "x gocryptfs in each round"
for key in write read untar ls readall rm; do
	printf '%-10s' "$key"
	for ((r = 0; r < rounds; r++)); do
		printf ' %6.2f' "$(echo "${T[gc.$key.$r]} / ${T[cv.$key.$r]}" | bc -l)"
	done
	echo
done
