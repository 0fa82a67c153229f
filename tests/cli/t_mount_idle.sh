#!/usr/bin/env bash
# mount --idle DURATION: the mount unmounts itself after DURATION without
# activity, the daemon exits (its keys go with it) and an `idle-unmount`
# event is recorded. Activity (listing, reading, writing) keeps it; stat
# polling does not; a file open for reading or a shell's working folder
# does not hold it; an open file whose writes are not yet saved does, until
# it is closed (its version is then stored), while one whose changes are
# stored (fsynced) does not. Bad durations are usage
# errors. Needs /dev/fuse and fusermount3 (skipped without them, failed
# under CI=true).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mount_lib.sh"
require_fuse

mount_setup noy "idle"
printf 'a document\n' > "$T/doc.txt"
expect_exit 0 cv noy put "$CODE/doc.txt" "$T/doc.txt"

# --- bad durations ------------------------------------------------------------
for bad in abc 10 -5s 2x 1h30 s 0s 367d 99999999999999999999s; do
	expect_exit 2 cv noy mount --purpose test --idle "$bad" "$MNT"
	expect_err_hint "--idle '$bad'"
	check "nothing is mounted after --idle '$bad'" not is_mounted
done

# now_ms: the time in milliseconds.
now_ms() {
	local t

	t=$(date +%s%N)
	echo $((t / 1000000))
}

# gone_within SECS: $MNT is unmounted and its daemon has exited within
# SECS seconds; sets GONE_MS to the milliseconds it took.
gone_within() {
	local start end

	start=$(now_ms)
	end=$((start + $1 * 1000))
	while [ "$(now_ms)" -lt "$end" ]; do
		if ! is_mounted && ! alive "$MOUNT_PID"; then
			GONE_MS=$(($(now_ms) - start))
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# idle_events: how many idle-unmount events the history holds.
idle_events() {
	cv dpo audit log --action idle-unmount 2> /dev/null | grep -c 'idle-unmount'
}

# Where the mount must stay, the idle time is 4 s: mounting and finding the
# daemon take a second or more on a loaded machine, idle time for the mount.

# --- activity keeps it; stat polling does not ---------------------------------
mount_vault noy --idle 4s || finish
# 10 s of reading and listing, twice the idle time and more.
for _ in $(seq 20); do
	cat "$CASEDIR/doc.txt" > /dev/null
	ls "$CASEDIR" > /dev/null
	sleep 0.5
done
check "reads and listings keep the mount (10 s, idle 4s)" is_mounted
check "... and its daemon" alive "$MOUNT_PID"
# A file manager's polling: stat and statfs only.
( while :; do stat "$CASEDIR" "$CASEDIR/doc.txt" > /dev/null 2>&1; df "$MNT" > /dev/null 2>&1; sleep 0.2; done ) &
poller=$!
check "with stat polling, it unmounts itself within 8 s" gone_within 8
echo "measured: idle 4s, stat polling: unmounted ${GONE_MS:-?} ms after the last read"
kill "$poller" 2> /dev/null
wait "$poller" 2> /dev/null
check "the daemon has exited (its keys wiped with it)" not alive "$MOUNT_PID"
check_eq "one idle-unmount event" 1 "$(idle_events)"
expect_exit 0 cv dpo audit log --action idle-unmount,unmount,mount
check_match "the idle-unmount is noy's" 'idle-unmount.*noy|noy.*idle-unmount' "$OUT"
check_not_contains "no plain unmount event besides it" " unmount " "$OUT"
verify_ok "after an idle unmount"

# --- a reader and a shell's folder do not hold it -----------------------------
mount_vault noy --idle 4s || finish
sleep 60 < "$CASEDIR/doc.txt" &
reader=$!
(cd "$CASEDIR" && exec sleep 60) &
in_dir=$!
sleep 0.3
check_contains "the reader holds the file" "$MNT" "$(readlink "/proc/$reader/fd/0")"
check_contains "the shell works in the case folder" "$MNT" "$(readlink "/proc/$in_dir/cwd")"
check "a file open for reading and a working folder: unmounted within 8 s" gone_within 8
echo "measured: idle 4s, a reader and a working folder: unmounted in ${GONE_MS:-?} ms"
kill "$reader" "$in_dir" 2> /dev/null
wait "$reader" "$in_dir" 2> /dev/null
check_eq "a second idle-unmount event" 2 "$(idle_events)"
verify_ok "after an idle unmount with a file open"

# --- unsaved writes hold it until closed ---------------------------------------
# writer FILE TEXT [fsync]: a program that writes TEXT to FILE on the mount
# (one write, no copy of the descriptor closed: a shell's `>&3` would
# close one, and so store the version), fsyncs it if asked, and keeps the
# file open until killed (its exit closes it). The mount is kept busy
# until it has written (python starts slowly on a loaded machine).
writer() {
	rm -f "$T/.written"
	python3 -c 'import os, sys, time
fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, sys.argv[3].encode())
if len(sys.argv) > 4:
    os.fsync(fd)
open(sys.argv[1], "w").close()
time.sleep(120)' "$T/.written" "$@" &
	WRITER=$!
	for _ in $(seq 300); do
		[ -e "$T/.written" ] && break
		ls "$CASEDIR" > /dev/null
		sleep 0.1
	done
	check "the writer has written" test -e "$T/.written"
}

mount_vault noy --idle 4s || finish
writer "$CASEDIR/draft.txt" 'unsaved work'
sleep 9
check "a file with writes not yet saved holds the mount (9 s, idle 4s)" is_mounted
check "... and its daemon" alive "$MOUNT_PID"
kill "$WRITER"
wait "$WRITER" 2> /dev/null
check "closed, it unmounts itself within 8 s" gone_within 8
expect_exit 0 cv noy get --purpose test "$CODE/draft.txt" -o "$T/draft.out"
check_eq "the work written before is stored" "unsaved work" "$(cat "$T/draft.out")"
check_eq "a third idle-unmount event" 3 "$(idle_events)"

# A writer whose changes are stored (fsync) does not hold it.
mount_vault noy --idle 4s || finish
writer "$CASEDIR/saved.txt" 'saved work' fsync
check_contains "the writer holds the file open" "$MNT/" "$(ls -l "/proc/$WRITER/fd/")"
check "a writer whose changes are stored: unmounted within 8 s" gone_within 8
kill "$WRITER"
wait "$WRITER" 2> /dev/null
expect_exit 0 cv noy get --purpose test "$CODE/saved.txt" -o "$T/saved.out"
check_eq "its fsynced work is stored" "saved work" "$(cat "$T/saved.out")"
check_eq "a fourth idle-unmount event" 4 "$(idle_events)"

# --- without --idle, a mount stays ----------------------------------------------
mount_vault noy || finish
sleep 3
check "without --idle the mount stays" is_mounted
umount_vault
check_eq "a plain umount records no idle-unmount" 4 "$(idle_events)"
verify_ok "at the end"

finish
