#!/usr/bin/env bash
# The vault's map grows on its own. A vault made with a 1 MiB map
# (CASEVAULT_MAP_SIZE, for this test) takes 80 MiB through the CLI while the
# mount reads a document in a loop, then 80 MiB through the mount while the
# CLI reads in a loop: the map grows several times, each process adopting
# what the other grew it to (MDB_MAP_RESIZED); every read gives the right
# content, every document reads back, `audit verify` passes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mount_lib.sh"

require_fuse
export CASEVAULT_MAP_SIZE=1M
mount_setup noy "Growth"
unset CASEVAULT_MAP_SIZE

map_size() {
	mdb_stat -e "$VAULT" | awk '/Map size:/ { print $3 }'
}

BLOCKS=10   # MiB per document
DOCS=8

head -c 200000 /dev/urandom > "$T/seed.bin"
expect_exit 0 cv noy put "$CODE/seed.bin" "$T/seed.bin" || finish
first=$(map_size)
check "the map is small at first (${first} bytes)" test "$first" -le $((100 << 20))
mount_vault noy || finish

# $1: the command that reads seed.bin to standard output, run until
# $T/.stop exists; a wrong or failed read is noted in $T/.bad.
reader() {
	local n=0

	while [ ! -e "$T/.stop" ]; do
		if ! "$@" > "$T/.read" 2> "$T/.read.err" || ! cmp -s "$T/.read" "$T/seed.bin"; then
			echo "read $n: $(head -n 1 "$T/.read.err")" >> "$T/.bad"
		fi
		n=$((n + 1))
		echo "$n" > "$T/.reads"
		sleep 0.1
	done
}

# Part 1: the CLI writes, the mount reads.
rm -f "$T/.stop" "$T/.bad" "$T/.reads"
reader cat "$CASEDIR/seed.bin" &
rpid=$!
for i in $(seq $DOCS); do
	head -c $((BLOCKS << 20)) /dev/urandom > "$T/cli$i.bin"
	expect_exit 0 cv noy put "$CODE/cli$i.bin" "$T/cli$i.bin"
done
touch "$T/.stop"
wait "$rpid"
mid=$(map_size)
check "the CLI grew the map ($first -> $mid bytes)" test "$mid" -gt $((2 * first))
check "the mount read while the CLI grew the map ($(cat "$T/.reads" 2> /dev/null) reads)" \
	test "$(cat "$T/.reads" 2> /dev/null || echo 0)" -gt 0
check "every read on the mount gave the document: $(head -n 3 "$T/.bad" 2> /dev/null | tr '\n' ' ')" \
	test ! -e "$T/.bad"
for i in $(seq $DOCS); do
	check "the mount reads cli$i.bin, written past its map" cmp -s "$CASEDIR/cli$i.bin" "$T/cli$i.bin"
done

# Part 2: the mount writes, the CLI reads.
rm -f "$T/.stop" "$T/.bad" "$T/.reads"
reader cv noy get --purpose test "$CODE/seed.bin" &
rpid=$!
for i in $(seq $DOCS); do
	head -c $((BLOCKS << 20)) /dev/urandom > "$T/mnt$i.bin"
	check "the mount takes mnt$i.bin" cp "$T/mnt$i.bin" "$CASEDIR/mnt$i.bin"
done
sync "$CASEDIR" 2> /dev/null
touch "$T/.stop"
wait "$rpid"
last=$(map_size)
check "the mount grew the map ($mid -> $last bytes)" test "$last" -gt "$mid"
check "the CLI read while the mount grew the map ($(cat "$T/.reads" 2> /dev/null) reads)" \
	test "$(cat "$T/.reads" 2> /dev/null || echo 0)" -gt 0
check "every read through the CLI gave the document: $(head -n 3 "$T/.bad" 2> /dev/null | tr '\n' ' ')" \
	test ! -e "$T/.bad"

umount_vault
for i in $(seq $DOCS); do
	expect_exit 0 cv noy get --purpose test "$CODE/cli$i.bin" -o "$T/.got" --force
	check "cli$i.bin reads back" cmp -s "$T/.got" "$T/cli$i.bin"
	expect_exit 0 cv noy get --purpose test "$CODE/mnt$i.bin" -o "$T/.got" --force
	check "mnt$i.bin reads back" cmp -s "$T/.got" "$T/mnt$i.bin"
done
verify_ok "after the map grew"
finish
