#!/usr/bin/env bash
# Storing many small files, three ways in one run: one `put -r` (one
# unlock), one `put` per file (an unlock each), and `cp -r` into the mount.
# Real Argon2id (the vault's default parameters), whatever build is named.
#
#   bash tests/bench/bench_batch.sh [FILES] [BYTES] [DIR]
#
# FILES defaults to 300, BYTES (each file's size) to 2048, DIR (on the disk
# to measure) to /var/tmp. Each way gets a fresh case of the same vault;
# the vault must verify at the end.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
files=${1:-300}
bytes=${2:-2048}
base=${3:-/var/tmp}
cv="$top/build/casevault"
[ -x "$cv" ] || { echo "build first: cmake -S . -B build && cmake --build build" >&2; exit 2; }
command -v fusermount3 >/dev/null || { echo "needs fusermount3 (apt-get install fuse3)" >&2; exit 2; }

work=$(mktemp -d "$base/cvbench.XXXXXX")
cleanup() {
	fusermount3 -u -z "$work/mnt" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
umask 077
# A private copy: a rebuild during the run must not change the binary.
cp "$cv" "$work/casevault"
cv=$work/casevault
unset CASEVAULT_KDF   # real Argon2id
printf 'granite meadow lantern\n' > "$work/pass"
chmod 600 "$work/pass"
export CASEVAULT_DIR="$work/vault" CASEVAULT_USER=cw CASEVAULT_PASSPHRASE_FILE="$work/pass"

mkdir "$work/src" "$work/mnt"
for ((i = 0; i < files; i++)); do
	head -c "$bytes" /dev/urandom > "$work/src/f$i.txt"
done
"$cv" init --admin bench >/dev/null 2>&1
# Admins hold no case key: the caseworker cw has the cases.
"$cv" --user bench user add cw --role caseworker --code-file "$work/cw.code" >/dev/null 2>&1
"$cv" --user cw enrol --code-file "$work/cw.code" --new-passphrase-file "$work/pass" >/dev/null 2>&1
c1=$("$cv" case create 2>/dev/null)
c2=$("$cv" case create 2>/dev/null)
c3=$("$cv" case create 2>/dev/null)
"$cv" mkdir "$c2/in"

now() { date +%s.%N; }
secs() { echo "$(now) - $1" | bc; }

sync; t0=$(now)
"$cv" put -r "$work/src" "$c1/in"
t_batch=$(secs "$t0")

sync; t0=$(now)
for f in "$work/src"/*; do
	"$cv" put "$c2/in/${f##*/}" "$f"
done
t_single=$(secs "$t0")

"$cv" mount "$work/mnt" --purpose bench 2>/dev/null
sync; t0=$(now)
cp -r "$work/src" "$work/mnt/$c3/in"
sync
t_mount=$(secs "$t0")
"$cv" umount "$work/mnt"

"$cv" get -r "$c1/in" -o "$work/back" --purpose bench
diff -r "$work/src" "$work/back" || { echo "get -r returned other files" >&2; exit 1; }
"$cv" audit verify >/dev/null 2>&1 || { echo "audit verify failed" >&2; exit 1; }

printf '%-14s %8s %10s\n' "way" "seconds" "files/s"
for w in "put -r:$t_batch" "$files x put:$t_single" "cp -r (mount):$t_mount"; do
	printf '%-14s %8.2f %10.1f\n' "${w%:*}" "${w##*:}" "$(echo "$files / ${w##*:}" | bc -l)"
done
