#!/usr/bin/env bash
# mount --idle DURATION: the mount unmounts itself after DURATION without
# activity, the daemon exits (its keys go with it) and an `idle-unmount`
# event is recorded. Activity (listing, reading, writing) keeps it; stat
# polling does not; a file open for reading or a shell's working folder
# does not hold it; an open file whose writes are not yet saved does, until
# it is closed (its version is then stored). Bad durations are usage
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

# --- activity keeps it; stat polling does not ---------------------------------
mount_vault noy --idle 2s || finish
# 6 s of reading and listing, twice the idle time and more.
for _ in $(seq 12); do
	cat "$CASEDIR/doc.txt" > /dev/null
	ls "$CASEDIR" > /dev/null
	sleep 0.5
done
check "reads and listings keep the mount (6 s, idle 2s)" is_mounted
check "... and its daemon" alive "$MOUNT_PID"
# A file manager's polling: stat and statfs only.
( while :; do stat "$CASEDIR" "$CASEDIR/doc.txt" > /dev/null 2>&1; df "$MNT" > /dev/null 2>&1; sleep 0.2; done ) &
poller=$!
check "with stat polling, it unmounts itself within 6 s" gone_within 6
echo "measured: idle 2s, stat polling: unmounted ${GONE_MS:-?} ms after the last read"
kill "$poller" 2> /dev/null
wait "$poller" 2> /dev/null
check "the daemon has exited (its keys wiped with it)" not alive "$MOUNT_PID"
check_eq "one idle-unmount event" 1 "$(idle_events)"
expect_exit 0 cv dpo audit log --action idle-unmount,unmount,mount
check_match "the idle-unmount is noy's" 'idle-unmount.*noy|noy.*idle-unmount' "$OUT"
check_not_contains "no plain unmount event besides it" " unmount " "$OUT"
verify_ok "after an idle unmount"

# --- a reader and a shell's folder do not hold it -----------------------------
mount_vault noy --idle 2s || finish
sleep 60 < "$CASEDIR/doc.txt" &
reader=$!
(cd "$CASEDIR" && exec sleep 60) &
in_dir=$!
check "a file open for reading and a working folder: unmounted within 6 s" gone_within 6
echo "measured: idle 2s, a reader and a working folder: unmounted in ${GONE_MS:-?} ms"
kill "$reader" "$in_dir" 2> /dev/null
wait "$reader" "$in_dir" 2> /dev/null
check_eq "a second idle-unmount event" 2 "$(idle_events)"
verify_ok "after an idle unmount with a file open"

# --- unsaved writes hold it until closed ---------------------------------------
mount_vault noy --idle 2s || finish
exec 3> "$CASEDIR/draft.txt"
printf 'unsaved work\n' >&3
sleep 5
check "a file with writes not yet saved holds the mount (5 s, idle 2s)" is_mounted
check "... and its daemon" alive "$MOUNT_PID"
exec 3>&-
check "closed, it unmounts itself within 6 s" gone_within 6
expect_exit 0 cv noy get --purpose test "$CODE/draft.txt" -o "$T/draft.out"
check_eq "the work written before is stored" "unsaved work" "$(cat "$T/draft.out")"
check_eq "a third idle-unmount event" 3 "$(idle_events)"

# --- without --idle, a mount stays ----------------------------------------------
mount_vault noy || finish
sleep 3
check "without --idle the mount stays" is_mounted
umount_vault
check_eq "a plain umount records no idle-unmount" 3 "$(idle_events)"
verify_ok "at the end"

finish
