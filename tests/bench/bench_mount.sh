#!/usr/bin/env bash
# The mount beside gocryptfs (a fresh filesystem) and a plain directory, in
# one run, on the same disk:
#   sequential write of a 512 MiB file (with fsync) and its cold read
#   (remount, drop caches); extracting a tarball of 5,000 files of 4 KiB in
#   50 folders; cold ls -lR of them; cold read of all 5,000; deleting them.
# Each as a rate and as a ratio to gocryptfs and to plain.
#
#   bash tests/bench/bench_mount.sh [BIG_MIB] [FILES] [DIR]
#
# Needs root (to drop the page cache), /dev/fuse, gocryptfs.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
big=${1:-512}
files=${2:-5000}
base=${3:-/var/tmp}
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
printf 'benchmark passphrase\n' > "$work/pass"
export CASEVAULT_DIR="$work/vault" CASEVAULT_USER=bench CASEVAULT_PASSPHRASE_FILE="$work/pass"
mkdir -p "$work/cv" "$work/gc" "$work/gc.cipher" "$work/plain"

"$cv" init --admin bench >/dev/null 2>&1
code=$("$cv" case create 2>/dev/null)
gocryptfs -q -init -passfile "$work/pass" "$work/gc.cipher" >/dev/null

mount_cv() { "$cv" mount "$work/cv" 2>/dev/null; }
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

mount_cv
mount_gc
declare -A T
for fs in cv gc plain; do
	dir=$(target "$fs")
	cold; t0=$(now)
	dd if="$work/big.src" of="$dir/big.bin" bs=1M conv=fsync status=none
	T[$fs.write]=$(echo "$(now) - $t0" | bc)

	remount "$fs"; cold; t0=$(now)
	cat "$dir/big.bin" > /dev/null
	T[$fs.read]=$(echo "$(now) - $t0" | bc)
	rm -f "$dir/big.bin"

	mkdir "$dir/tree"
	cold; t0=$(now)
	tar -xf "$work/tree.tar" -C "$dir/tree"
	sync
	T[$fs.untar]=$(echo "$(now) - $t0" | bc)

	remount "$fs"; cold; t0=$(now)
	ls -lR "$dir/tree" > /dev/null
	T[$fs.ls]=$(echo "$(now) - $t0" | bc)

	remount "$fs"; cold; t0=$(now)
	find "$dir/tree" -type f -exec cat {} + > /dev/null
	T[$fs.readall]=$(echo "$(now) - $t0" | bc)

	t0=$(now)
	rm -rf "$dir/tree"
	sync
	T[$fs.rm]=$(echo "$(now) - $t0" | bc)
done
"$cv" audit verify >/dev/null 2>&1 || { echo "audit verify failed after the benchmark" >&2; exit 1; }

mib=$big
printf '%-28s %12s %12s %12s %10s %10s\n' figure casevault gocryptfs plain "x gocrypt" "x plain"
row() {
	local name=$1 key=$2 unit=$3 amount=$4
	local c=${T[cv.$key]} g=${T[gc.$key]} p=${T[plain.$key]}
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
