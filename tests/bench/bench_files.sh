#!/usr/bin/env bash
# put and get of one large file through the CLI, beside cp of the same file
# on the same disk, in the same run: MB/s, ratio to cp, peak RSS.
#
#   bash tests/bench/bench_files.sh [SIZE_MIB] [DIR]
#
# SIZE_MIB defaults to 1024; DIR (on the disk to measure) to /var/tmp.
# As root, the page cache is dropped before each step, so every step starts
# cold; each writer's time includes its fsync.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
size=${1:-1024}
base=${2:-/var/tmp}
cv="$top/build/casevault"
[ -x "$cv" ] || { echo "build first: cmake -S . -B build && cmake --build build" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }

work=$(mktemp -d "$base/cvbench.XXXXXX")
trap 'rm -rf "$work"' EXIT
umask 077
printf 'granite meadow lantern\n' > "$work/pass"
chmod 600 "$work/pass"
export CASEVAULT_DIR="$work/vault" CASEVAULT_USER=cw CASEVAULT_PASSPHRASE_FILE="$work/pass"

cold() { sync; [ "$(id -u)" -ne 0 ] || echo 3 > /proc/sys/vm/drop_caches; }
# run LABEL CMD...: prints "LABEL seconds max_rss_kib"
measure() {
	local label=$1; shift
	cold
	/usr/bin/time -f "$label %e %M" -o "$work/t" "$@" 2>/dev/null >/dev/null
	cat "$work/t"
}

head -c "$((size << 20))" /dev/urandom > "$work/src.bin"
"$cv" init --admin bench >/dev/null 2>&1
# Admins hold no case key: the caseworker cw has the case.
rm -f "$work/cw.code"
"$cv" --user bench user add cw --role caseworker --code-file "$work/cw.code" >/dev/null 2>&1
"$cv" --user cw enrol --code-file "$work/cw.code" --new-passphrase-file "$work/pass" >/dev/null 2>&1
code=$("$cv" case create 2>/dev/null)

results=$(
	measure cp sh -c "cp '$work/src.bin' '$work/copy.bin' && sync '$work/copy.bin'"
	measure put "$cv" put "$code/big.bin" "$work/src.bin"
	measure get "$cv" get "$code/big.bin" --purpose bench -o "$work/out.bin"
)
cmp "$work/src.bin" "$work/out.bin" || { echo "get returned other bytes" >&2; exit 1; }

echo "$results" | awk -v mib="$size" '
	{ t[$1] = $2; rss[$1] = $3 }
	END {
		printf "%-5s %8s %10s %10s %12s\n", "step", "seconds", "MB/s", "x cp", "peak RSS MiB"
		for (i = 1; i <= 3; i++) {
			s = (i == 1 ? "cp" : i == 2 ? "put" : "get")
			mbs = mib * 1048576 / 1e6 / t[s]
			printf "%-5s %8.2f %10.0f %10.2f %12.1f\n", s, t[s], mbs, t["cp"] / t[s], rss[s] / 1024
		}
	}'
