#!/usr/bin/env bash
# Names that miss, through the mount: N files of 4 KiB copied into one new
# folder (each create looks its name up first, and misses), then a stat of
# N names that do not exist. Each miss checks that the folder's entries are
# whole (vault_docs__entries_whole). Prints seconds for each.
#
#   bash tests/bench/bench_misses.sh [CASEVAULT_BIN] [N] [DIR]
#
# To compare two builds, alternate them: run this once per build, twice.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cv=${1:-$top/build/casevault}
n=${2:-1000}
base=${3:-/var/tmp}
[ -x "$cv" ] || { echo "build first: cmake -S . -B build && cmake --build build" >&2; exit 2; }

work=$(mktemp -d "$base/cvmiss.XXXXXX")
trap 'fusermount3 -u -z "$work/mnt" 2>/dev/null || true; rm -rf "$work"' EXIT
umask 077
printf 'granite meadow lantern\n' > "$work/pass"
export CASEVAULT_DIR="$work/vault" CASEVAULT_USER=cw CASEVAULT_PASSPHRASE_FILE="$work/pass"
"$cv" init --admin bench >/dev/null 2>&1
"$cv" --user bench user add cw --role caseworker --code-file "$work/cw.code" >/dev/null 2>&1
"$cv" --user cw enrol --code-file "$work/cw.code" --new-passphrase-file "$work/pass" >/dev/null 2>&1
code=$("$cv" case create 2>/dev/null)
mkdir -p "$work/src" "$work/mnt"
for i in $(seq 1 "$n"); do head -c 4096 /dev/urandom > "$work/src/f$i"; done
"$cv" mount "$work/mnt" --purpose bench 2>/dev/null

t0=$(date +%s.%N)
cp -r "$work/src" "$work/mnt/$code/dir"
t1=$(date +%s.%N)
for i in $(seq 1 "$n"); do stat "$work/mnt/$code/dir/absent$i" > /dev/null 2>&1 || true; done
t2=$(date +%s.%N)
"$cv" umount "$work/mnt"
printf '%d files: cp -r %.2f s; %d stats of absent names %.2f s\n' "$n" \
	"$(echo "$t1 - $t0" | bc)" "$n" "$(echo "$t2 - $t1" | bc)"
