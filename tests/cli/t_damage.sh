#!/usr/bin/env bash
# Random damage to the used pages of data.mdb (tests/cli/damage.py): no
# command dies of a signal or hangs, no read gives other bytes than were
# stored, no read fails while `audit verify` passes, and every command
# that fails on the damaged file exits 3.
#
#   CASEVAULT_DAMAGE_TRIALS=N        trials on the CLI (80; the full run: 1000)
#   CASEVAULT_DAMAGE_MOUNT_TRIALS=N  trials on the mount (20; 0: none)
#   CASEVAULT_DAMAGE_SEED=S          the seed (printed; random by default)
#   CASEVAULT_DAMAGE_TRIAL=K         replay trial K of seed S alone, verbose: the
#                                    same damage to a vault built the same way
#   CASEVAULT_DAMAGE_KEEP=DIR        keep each failing trial's damaged copy in DIR
#   CASEVAULT_DAMAGE_SAVE=DIR        save the vault built (and what it holds) in DIR
#   CASEVAULT_DAMAGE_FROM=DIR        run the trials on the vault saved in DIR: a
#                                    replay then damages the very same file
#   CASEVAULT_DAMAGE_SHAPE=many      a larger vault: many versions of a document,
#                                    and the history key rotated twice between them
#   CASEVAULT_DAMAGE_KIND=K          one class of damage only (damage.py --kind):
#                                    flip, swap, copy, random, cut; or copy:TO:FROM,
#                                    swap:TO:FROM, a page of sub-database TO
#                                    overwritten by (swapped with) one of FROM
#                                    (* any other), e.g. copy:git:blocks
. "$(dirname "$0")/lib.sh"

export XDG_STATE_HOME=$T/state
trials=${CASEVAULT_DAMAGE_TRIALS:-80}
mount_trials=${CASEVAULT_DAMAGE_MOUNT_TRIALS:-20}
seed=${CASEVAULT_DAMAGE_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
replay=()
[ -n "${CASEVAULT_DAMAGE_KIND:-}" ] && replay=(--kind "$CASEVAULT_DAMAGE_KIND")
if [ -n "${CASEVAULT_DAMAGE_TRIAL:-}" ]; then
	trials=1
	mount_trials=$([ "$mount_trials" = 0 ] && echo 0 || echo 1)
	replay+=(--first "$CASEVAULT_DAMAGE_TRIAL" --verbose)
fi

# The vault: an admin, two caseworkers, an auditor; two cases; documents
# with several versions, one over 64 KiB (several blocks), one in a folder;
# a few reads.
for u in dpo noy kim aud; do mkpass "$u"; done
expect_exit 0 cv dpo init --admin dpo
add_user dpo noy caseworker
add_user dpo kim caseworker
add_user dpo aud auditor
expect_exit 0 cv noy case create --label "Damage A"
a=${OUT%$'\n'}
expect_exit 0 cv kim case create --label "Damage B"
b=${OUT%$'\n'}
expect_exit 0 cv dpo case grant "$b" noy --read-only

mkdir "$T/orig"
docs=()
# put USER PATH VERSION: a new version of PATH, its bytes kept in $T/orig.
put() {
	local user=$1 path=$2 ver=$3 file
	file="$T/orig/$(printf '%s' "$path" | tr '/' '_').v$ver"
	case "$path" in
	*big*) head -c $((150000 + ver * 1000)) /dev/urandom > "$file" ;;
	*) printf '%s version %s\n%s\n' "$path" "$ver" "$RANDOM$RANDOM" > "$file" ;;
	esac
	expect_exit 0 cv "$user" put "$path" "$file"
	docs+=("$user $path $ver $file")
}
put noy "$a/intake.txt" 1
put noy "$a/intake.txt" 2
put noy "$a/intake.txt" 3
put noy "$a/big.bin" 1
put noy "$a/big.bin" 2
expect_exit 0 cv noy mkdir "$a/legal"
put noy "$a/legal/note.txt" 1
put kim "$b/form.txt" 1
put kim "$b/form.txt" 2
if [ "${CASEVAULT_DAMAGE_SHAPE:-}" = many ]; then
	for ver in $(seq 3 40); do
		put kim "$b/form.txt" "$ver"
		case $ver in 15|30) expect_exit 0 cv dpo history rotate-key ;; esac
	done
fi
expect_exit 0 cv noy get "$a/intake.txt" --purpose check -o /dev/null
expect_exit 0 cv kim get "$b/form.txt" --purpose check -o /dev/null
expect_exit 0 cv noy get "$b/form.txt" --purpose check -o /dev/null
expect_exit 0 cv aud audit verify
# Everyone has looked at the newest head (their checkpoints are the state
# each trial starts from).
for u in dpo noy kim; do expect_exit 0 cv "$u" ls --purpose check; done

# The manifest: every version of every document, who reads it, where it
# is on the mount (the newest versions of noy's own case).
# Paths in it are relative to $T, so that a saved copy replays as it is.
python3 - "$T" "$a" "${docs[@]}" > "$T/manifest.json" << 'EOF'
import json, os, sys
t, a, docs = sys.argv[1], sys.argv[2], sys.argv[3:]
latest = {}
rows = []
for d in docs:
    user, path, ver, file = d.split(" ", 3)
    rows.append({"user": user, "path": path, "version": int(ver), "file": os.path.relpath(file, t)})
    latest[path] = int(ver)
for r in rows:
    r["latest"] = r["version"] == latest[r["path"]] and r["path"].startswith(a + "/")
    r["mount_path"] = "%s Damage A/%s" % (a, r["path"][len(a) + 1:])
print(json.dumps({"vault": "vault", "state": "state", "docs": rows,
                  "auditor": "aud", "mount_user": "noy",
                  "pass": {u: "%s.pass" % u for u in ("dpo", "noy", "kim", "aud")}}))
EOF
if [ -n "${CASEVAULT_DAMAGE_SAVE:-}" ]; then
	mkdir -p "$CASEVAULT_DAMAGE_SAVE"
	cp -r "$VAULT" "$T/state" "$T/orig" "$T"/*.pass "$T/manifest.json" "$CASEVAULT_DAMAGE_SAVE/"
fi
manifest=$T/manifest.json
if [ -n "${CASEVAULT_DAMAGE_FROM:-}" ]; then
	manifest=$CASEVAULT_DAMAGE_FROM/manifest.json
fi

# A file cut short is refused at open (exit 3), whatever the command.
cp -r "$VAULT" "$T/whole"
used=$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import damage
print(damage.used_size(sys.argv[2]))' "$TESTS_DIR/cli" "$VAULT/data.mdb")
truncate -s $((used - 4096)) "$VAULT/data.mdb"
fails_cleanly 3 "the vault file is damaged" cv noy get "$a/intake.txt" --purpose check
check_contains "the hint says to restore" "hint: restore the vault from a backup" "$ERR"
fails_cleanly 3 "cut short" cv aud audit verify
rm -rf "$VAULT" && mv "$T/whole" "$VAULT"


timeout=30
[ "${CASEVAULT_SANITIZED:-0}" = 1 ] && timeout=120
check "damage trials on the CLI" python3 "$TESTS_DIR/cli/damage.py" --bin "$CASEVAULT_BIN" \
	--manifest "$manifest" --work "$T/.work" --trials "$trials" --seed "$seed" \
	--timeout "$timeout" --strict-exit "${replay[@]}"
if [ "$mount_trials" -gt 0 ] && [ -e /dev/fuse ] && command -v fusermount3 > /dev/null 2>&1; then
	check "damage trials on the mount" python3 "$TESTS_DIR/cli/damage.py" --bin "$CASEVAULT_BIN" \
		--manifest "$manifest" --work "$T/.work" --trials "$mount_trials" \
		--seed "$seed" --timeout "$timeout" --mount --strict-exit "${replay[@]}"
fi
# Damage that looks like something else is exit 3 too (docs/decisions.md,
# "Damage is told from what it looks like"); what it looks like, on the
# whole file, keeps its own code. After the trials: these commands move
# the users' checkpoints, which the trials copy.
rawrec() {  # COMMAND ARGS...: an edit of $VAULT as damage makes it
	"$RAWREC_BIN" "$VAULT" dpo "$T/dpo.pass" "$@"
}
printf 'not the passphrase of noy\n' > "$T/wrong.pass"
chmod 600 "$T/wrong.pass"
expect_exit 5 cvbare --vault "$VAULT" --user noy --passphrase-file "$T/wrong.pass" ls --purpose check
check_contains "a wrong passphrase is exit 5" "wrong passphrase" "$ERR"
fails_cleanly 1 "does not exist" cv noy get "$a/legal/absent.txt" --purpose check
expect_exit 0 cv noy ls "$a" --purpose check --json
legal=$(printf '%s' "$OUT" | python3 -c 'import json, sys
for l in sys.stdin:
    e = json.loads(l)
    if e["name"] == "legal": print(e["node"])')
cp -r "$VAULT" "$T/whole"
# A byte of noy's wrapped key (offset 100 of 227), as a bad disk changes it.
check "noy's record damaged" rawrec damage users noy 100
fails_cleanly 3 "the record of user 'noy' fails its checksum" cv noy ls --purpose check
check_contains "the hint says to restore" "restore the vault from a backup" "$ERR"
rm -rf "$VAULT" && cp -r "$T/whole" "$VAULT"
# The entry of legal/note.txt lost: not a name that does not exist.
check "legal/note.txt's entry lost" rawrec drop-entry dirents "$legal"
fails_cleanly 3 "an entry was lost" cv noy get "$a/legal/note.txt" --purpose check
# (a listing records its event first: the file changes)
expect_exit 3 cv noy ls "$a/legal" --purpose check
check_contains "ls says so" "an entry was lost" "$ERR"
fails_cleanly 3 "the vault file is damaged" cv aud audit verify
rm -rf "$VAULT" && mv "$T/whole" "$VAULT"
expect_exit 0 cv aud audit verify
finish
