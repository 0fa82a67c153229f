#!/usr/bin/env bash
# The mount against a model: the same random operations on a case folder of
# the mount and on a plain directory, in lockstep, compared after every step
# (names, types, sizes, contents; results and errnos), with remounts; then
# the CLI reads the same content, and the history verifies. mount_model.py
# says what is generated. Its fixed scenarios (known divergences from POSIX,
# and things that must keep working) run first, each in its own folder; the
# random run does not generate the class of operations of a scenario that
# failed (the failure is counted already), so it can look for other bugs.
# `audit verify` runs after every scenario (a check of its own), and every
# 250 steps of the random run and after its last. A history that does not
# verify stays so: the next scenario, and the random run, then start on a
# fresh vault, so each verify failure is the first one's own.
#
#   MODEL_SEED=N      replay a run (the seed is the first line printed)
#   MODEL_STEPS=N     steps (default 3000)
#   MODEL_STRICT=1    generate every class, even those of failed scenarios
#   MODEL_AVOID=a,b   do not generate these classes (mount_model.py CLASSES: held,
#                     helddir, trunc, longname, chmod, samemode, utime, sametime, ...)
#   MODEL_REPLAY=F    run the operations in F (JSON lines) instead
#   MODEL_SHRINK_SECS=S  time to search a shorter failing sequence (90)
#   MODEL_VERIFY_EVERY=N  audit verify every N steps (250; 1 finds the step
#                     that a verify failure of a seed comes from)
seed=${MODEL_SEED:-$(( (RANDOM << 15 | RANDOM) + 1 ))}
echo "seed $seed"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mount_lib.sh"

require_fuse
MODEL=$(cd "$(dirname "$0")" && pwd)/mount_model.py
REF=$T/ref
mkdir -p "$REF"

to_json() {
	python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@"
}
UMOUNT_CMD=$(to_json "$CASEVAULT_BIN" umount "$MNT")

# new_vault: a fresh vault ($T/vault, $T/vault2, ...), mounted.
new_vault() {
	[ -n "$CODE" ] && next_vault
	mount_setup noy "Model test"
	mount_vault noy || finish
	MOUNT_CMD=$(to_json "$CASEVAULT_BIN" --vault "$VAULT" --user noy --passphrase-file "$T/noy.pass" mount --purpose test "$MNT")
	VERIFY_CMD=$(to_json "$CASEVAULT_BIN" --vault "$VAULT" --user "$AUDIT_USER" --passphrase-file "$T/$AUDIT_USER.pass" audit verify)
}
new_vault

# shellcheck disable=SC2317   # called through check
model() {
	python3 "$MODEL" --mount "$CASEDIR" --ref "$REF" --mountpoint "$MNT" \
		--mount-cmd "$MOUNT_CMD" --umount-cmd "$UMOUNT_CMD" "$@"
}

# A daemon that died is reported, then the vault is mounted again.
daemon_check() {
	check "the mount daemon runs after $1" alive "$(daemon_pid)" && return 0
	fusermount3 -u -z "$MNT" 2> /dev/null
	mount_vault noy || finish
}

# --- fixed scenarios ----------------------------------------------------------
failed=
if [ -z "${MODEL_REPLAY:-}" ]; then
	for s in $(python3 "$MODEL" --list-scenarios); do
		bad=0
		check "scenario $s: the mount and a plain directory agree" model --scenario "$s" || bad=1
		daemon_check "scenario $s"
		if ! verify_ok "scenario $s"; then
			bad=1
			new_vault
		fi
		[ "$bad" = 1 ] && failed=$failed${failed:+,}$s
	done
fi

# --- the random model -----------------------------------------------------------
start=$SECONDS
if [ -n "${MODEL_REPLAY:-}" ]; then
	check "replay of $MODEL_REPLAY: the mount and a plain directory agree" model --replay "$MODEL_REPLAY" \
		--verify-cmd "$VERIFY_CMD"
else
	check "model (seed $seed, ${MODEL_STEPS:-3000} steps): the mount and a plain directory agree at every step, and audit verify passes every ${MODEL_VERIFY_EVERY:-250} steps" \
		model --seed "$seed" --failed-scenarios "$failed" --verify-cmd "$VERIFY_CMD"
fi
echo "model: $((SECONDS - start)) s"

# --- afterwards -------------------------------------------------------------------
daemon_check "the model"
MOUNT_PID=$(daemon_pid)     # the model mounted again: umount_vault waits for this one
check "the mount still lists the case" test -d "$CASEDIR"

# The CLI sees what the mount wrote: every file of the model's folder.
if [ -d "$REF/run" ]; then
	bad=0 n=0
	while IFS= read -r -d '' f; do
		rel=${f#"$REF/"}
		n=$((n + 1))
		rm -f "$T/.got"
		if ! cv noy get "$CODE/$rel" --purpose test -o "$T/.got" > /dev/null 2> "$ERRF" ||
		   ! cmp -s "$f" "$T/.got"; then
			bad=$((bad + 1))
			[ "$bad" -le 5 ] && echo "  differs through the CLI: $rel ($(head -c 200 "$ERRF" | tr '\n' ' '))"
		fi
	done < <(find "$REF/run" -type f -print0)
	rm -f "$T/.got"
	check_eq "the CLI reads the same content as the model's $n files" 0 "$bad"
fi

umount_vault
verify_ok "after the model and the unmount"
echo "vaults used: $NVAULTS (a fresh one after each history that did not verify)"
finish
