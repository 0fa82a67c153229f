#!/usr/bin/env bash
# Two caseworkers on one case at once: noy on the mount, som through the
# CLI (put, get, mkdir, mv, rm, ls), both rw members. In random batches,
# both work at the same time, each on names of its own (mount_two.py says
# how); after every batch, once the mount's attribute cache has expired,
# the mount and the CLI must both show what the model says (the last write
# wins), and `audit verify` must pass.
#
#   TWO_SEED=N      replay a run (the seed is the first line printed)
#   TWO_BATCHES=N   batches (default 30)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mount_lib.sh"

require_fuse
mkpass som
mount_setup noy "Two caseworkers"
add_user dpo som caseworker || finish
expect_exit 0 cv dpo case grant "$CODE" som || finish
# The CLI user's gets and listings (mount_two.py) give no purpose.
expect_exit 0 cv dpo purpose require off
expect_exit 0 cv noy ls "$CODE"        # noy's session seals the case key to som
expect_exit 0 cv som ls "$CODE" || finish
mount_vault noy || finish

to_json() {
	python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@"
}
CLI=$(to_json "$CASEVAULT_BIN" --vault "$VAULT" --user som --passphrase-file "$T/som.pass")
VERIFY=$(to_json "$CASEVAULT_BIN" --vault "$VAULT" --user "$AUDIT_USER" --passphrase-file "$T/$AUDIT_USER.pass" audit verify)

start=$SECONDS
python3 "$(dirname "$0")/mount_two.py" --mount "$CASEDIR" --code "$CODE" --cli "$CLI" --verify "$VERIFY" \
	${TWO_SEED:+--seed "$TWO_SEED"}
rc=$?
echo "mount_two: $((SECONDS - start)) s"
check_eq "two users: the driver ran to its end (exit status bits 1, 2, 4 only)" 0 $((rc & ~7))
check_eq "two users: the mount and the CLI show what the model says after every batch" 0 $((rc & 1))
check_eq "two users: audit verify passes after every batch" 0 $((rc & 2))
check_eq "two users: every operation had the expected outcome" 0 $((rc & 4))

check "the mount daemon still runs" alive "$(daemon_pid)"
MOUNT_PID=$(daemon_pid)
umount_vault
verify_ok "after the unmount"
finish
