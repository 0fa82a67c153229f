#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every test
# under ctest, then the unit tests again under AddressSanitizer + UBSan.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/tests/deps.sh"
jobs=$(nproc)

cmake -S "$top" -B "$top/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCASEVAULT_TEST_KDF=ON >/dev/null
cmake --build "$top/build" -j "$jobs" >/dev/null
(cd "$top/build" && ctest --output-on-failure -j "$jobs")

cmake -S "$top" -B "$top/build-asan" -DCMAKE_BUILD_TYPE=Debug -DCASEVAULT_SANITIZE=ON -DCASEVAULT_TEST_KDF=ON >/dev/null
cmake --build "$top/build-asan" -j "$jobs" >/dev/null
(cd "$top/build-asan" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	ctest --output-on-failure -j "$jobs" -L unit)

# The mount under the sanitizers too: its daemon runs detached, so each
# process writes what a sanitizer finds to a log of its own, and any such
# report fails the run.
logs="$top/build-asan/sanitizer-logs"
rm -rf "$logs"
mkdir -p "$logs"
(cd "$top/build-asan" && ASAN_OPTIONS=detect_leaks=0:log_path="$logs/asan" \
	UBSAN_OPTIONS=print_stacktrace=1:log_path="$logs/ubsan" \
	ctest --output-on-failure -j "$jobs" -R 'cli/t_mount')
if grep -l -e "ERROR: AddressSanitizer" -e "runtime error" "$logs"/* 2> /dev/null; then
	echo "sanitizer reports from the mount tests:"
	cat "$logs"/*
	exit 1
fi
