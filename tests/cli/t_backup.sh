#!/usr/bin/env bash
# Backups and the restore drill through the CLI: refusals first; then a
# backup taken while a writer goes on, the live vault damaged, a vault
# restored from the backup, `backup verify` and `audit verify` on it, and
# every document acknowledged before the backup read back; then snapshots
# edited after the backup (a byte of the data file, the manifest, a
# manifest signed by a key that is no user's), which `backup verify` and
# `restore` refuse with exit 3.
. "$(dirname "$0")/lib.sh"

export XDG_STATE_HOME="$T/state"
mkpass dpo
mkpass aud
mkpass alice
expect_exit 0 cv dpo init --admin dpo
add_user dpo aud auditor
add_user dpo alice caseworker
# A witness: what the first session on a restored vault counts as lost.
git init -q --bare "$T/witness.git"
expect_exit 0 cv dpo settings set witness "$T/witness.git"
expect_exit 0 cv alice case create --label "Backup drill"
code=${OUT%$'\n'}
for i in 1 2 3; do
	head -c $((i * 70000)) /dev/urandom > "$T/.seed$i"
	expect_exit 0 cv alice put "$code/seed$i.bin" "$T/.seed$i"
done

# ---- refusals --------------------------------------------------------------

snapshot
fails_cleanly 4 "is a caseworker" cv alice backup "$T/.bk-alice"
check "a refused backup leaves no directory" test ! -e "$T/.bk-alice"
fails_cleanly 2 "" cv dpo backup
mkdir "$T/.full" && touch "$T/.full/manifest"
snapshot
fails_cleanly 1 "already holds a vault or a backup" cv dpo backup "$T/.full"
check_contains "its hint" "a backup never replaces another" "$ERR"
fails_cleanly 1 "already holds a vault or a backup" cv dpo backup "$VAULT"
mkdir "$T/.empty"
fails_cleanly 1 "is not a casevault backup" cvbare restore "$T/.empty" "$T/.r0"
check "a refused restore makes nothing" test ! -e "$T/.r0"
expect_exit 2 cvbare restore "$T/.full"
expect_err_hint "--version N"
expect_exit 4 cvbare backup verify "$T/.full"
expect_err_hint "no user given"
touch "$T/.file"
fails_cleanly 1 "exists and is not a directory" cv dpo backup "$T/.file"
fails_cleanly 1 "cannot create the backup directory" cv dpo backup "$T/.nodir/bk"
check_contains "its hint" "create the parent directory first" "$ERR"
# A snapshot that cannot be written whole (a file size limit here, the
# signal it raises ignored): the write's error is the one told, the copy
# stops and nothing is left behind.
fails_cleanly 1 "cannot write the snapshot: File too large" bash -c "trap '' XFSZ; ulimit -f 256; exec \"\$@\"" - \
	"$CASEVAULT_BIN" --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" backup "$T/.bk-big"
check "a backup that failed to write leaves no directory" test ! -e "$T/.bk-big"
fails_cleanly 1 "no vault at" cv aud backup verify "$T/.nothere"
check_contains "its hint" "check the backup's directory" "$ERR"
fails_cleanly 2 "needs a number from 1 to 64" cv aud backup verify "$T/.full" --threads 0
fails_cleanly 2 "" cv aud backup verify
fails_cleanly 2 "" cvbare restore a b c

# ---- a backup while a writer goes on ---------------------------------------

# The writer: each file it puts is acknowledged (listed) once put returns 0.
: > "$T/.acked"
(
	for i in $(seq 1 40); do
		head -c $((1000 + i * 997)) /dev/urandom > "$T/.w$i"
		if cv alice put "$code/w$i.bin" "$T/.w$i" > /dev/null 2>&1; then
			echo "$i" >> "$T/.acked"
		fi
	done
) &
writer=$!
# Once it has begun: what it acknowledged before the backup is in it.
for _ in $(seq 1 100); do
	[ "$(wc -l < "$T/.acked")" -ge 3 ] && break
	sleep 0.1
done
cp "$T/.acked" "$T/.before"
expect_exit 0 cv aud backup "$T/bk"
check_contains "backup prints its head and events" "events up to" "$OUT"
wait "$writer"
expect_exit 0 cv dpo audit push "$T/witness.git"
check "the writer kept writing" test "$(wc -l < "$T/.acked")" -eq 40
check_eq "the snapshot is private" 600 "$(stat -c %a "$T/bk/data.mdb")"
check_eq "its manifest too" 600 "$(stat -c %a "$T/bk/manifest")"
hash=$(sed -n 's/^blake2b //p' "$T/bk/manifest")
check_eq "the manifest's hash is b2sum -l 256 of the data file" "$hash" \
	"$(b2sum -l 256 "$T/bk/data.mdb" | cut -d' ' -f1)"
check "the manifest's signature is an SSH signature" grep -q "BEGIN SSH SIGNATURE" "$T/bk/manifest"
events=$(sed -n 's/^events //p' "$T/bk/manifest")
expect_exit 0 cv dpo audit log --action backup
check_contains "the backup is an event" "aud backup" "$OUT"
expect_exit 0 cv dpo audit verify

# The drill's check, by the auditor (no case key), against the live vault.
expect_exit 0 cv aud backup verify "$T/bk"
check_contains "backup verify reports the events" "$events events up to" "$OUT"
check_contains "and who signed" "signed by aud" "$OUT"
check_match "and how far behind the live vault it is" "holds [0-9]+ events? after it" "$OUT"
check_contains "the backup event is among them" "its backup event among them" "$OUT"
check "backup verify leaves no lock file" test ! -e "$T/bk/lock.mdb"
check_eq "nor changes the snapshot" "$hash" "$(b2sum -l 256 "$T/bk/data.mdb" | cut -d' ' -f1)"
check_eq "nor adds anything to it" "data.mdb manifest" "$(ls "$T/bk" | tr '\n' ' ' | sed 's/ $//')"
expect_exit 0 cvbare --user aud --passphrase-file "$T/aud.pass" backup verify "$T/bk" --json
json_ok "$OUTF" "o['ok'] and o['events'] == $events and o['signer'] == 'aud' and 'behind' not in o"
# A member reads back every version of their documents from it.
mkdir "$T/.tmp"
expect_exit 0 env TMPDIR="$T/.tmp" "$CASEVAULT_BIN" --user alice --passphrase-file "$T/alice.pass" \
	backup verify "$T/bk" --read --purpose care
nbefore=$(wc -l < "$T/.before")
ndocs=$(sed -n 's/^read back: \([0-9]*\) documents, \([0-9]*\) versions.*/\1 \2/p' "$OUTF")
check "--read reads every document acknowledged before the backup" test "${ndocs% *}" -ge $((3 + nbefore))
check_eq "and each one's version" "${ndocs% *}" "${ndocs#* }"
check_eq "its private copy is removed" "" "$(ls -A "$T/.tmp")"
check "--read records nothing in the snapshot" test ! -e "$T/bk/lock.mdb"
expect_exit 2 cvbare --user alice --passphrase-file "$T/alice.pass" backup verify "$T/bk" --purpose care
expect_err_hint "'--purpose' is for the reads of '--read'"
expect_exit 2 cvbare --user alice --passphrase-file "$T/alice.pass" backup verify "$T/bk" --read
expect_err_hint "purpose"
check_eq "a refused --read leaves no copy" "" "$(ls -A "$T/.tmp")"

# ---- the live vault is damaged -----------------------------------------------

python3 - "$VAULT/data.mdb" <<'EOF'
import os, sys
size = os.path.getsize(sys.argv[1])
with open(sys.argv[1], "r+b") as f:
    f.truncate(size // 3)
EOF
expect_exit 3 cv alice ls "$code" --purpose care
expect_exit 3 cv aud backup verify "$T/bk"
check_contains "the live vault's damage is named" "damaged" "$ERR"

# ---- restore ------------------------------------------------------------------

expect_exit 0 cvbare restore "$T/bk" "$T/restored"
check_contains "restore names the event" "$events events" "$OUT"
check_eq "the restored vault is private" 700 "$(stat -c %a "$T/restored")"
snapshot
fails_cleanly 1 "already holds a vault or a backup" cvbare restore "$T/bk" "$T/restored"
fails_cleanly 1 "cannot create the vault directory" cvbare restore "$T/bk" "$T/.nodir/v"
check_contains "its hint" "create the parent directory first" "$ERR"
fails_cleanly 1 "is not a casevault backup" cvbare restore "$T/.nothere" "$T/.r2"
VAULT=$T/restored
expect_exit 0 cv aud audit verify
expect_exit 0 cvbare --vault "$VAULT" --user aud --passphrase-file "$T/aud.pass" backup verify "$T/bk"
check_contains "the restored vault holds nothing after the snapshot" "holds 0 events after it" "$OUT"
# alice saw later events: she must say the restore was on purpose.
expect_exit 3 cv alice ls "$code" --purpose care
check_contains "the refusal says the vault was restored" "made by 'casevault restore' from a backup at event $events" "$ERR"
expect_exit 0 cvbare --vault "$VAULT" --user alice --passphrase-file "$T/alice.pass" --restored ls "$code" --purpose care
check_contains "the first session says what was lost" "restored from a backup at event $events" "$ERR"
check_match "and how much" "had seen [0-9]+ events: the [0-9]+ later ones are lost" "$ERR"
check_match "and what the witness holds beyond it" "the witness holds [1-9][0-9]* later events" "$ERR"
check "the witness's copy beside the vault is removed" test -z "$(find "$VAULT" -name '.witness*')"
for i in 1 2 3; do
	expect_exit 0 cv alice get "$code/seed$i.bin" -o "$T/.got" --force --purpose care
	check "seed$i reads back" cmp -s "$T/.got" "$T/.seed$i"
done
while read -r i; do
	expect_exit 0 cv alice get "$code/w$i.bin" -o "$T/.got" --force --purpose care
	check "w$i, acknowledged before the backup, reads back" cmp -s "$T/.got" "$T/.w$i"
done < "$T/.before"
# The session after is quiet, and the restore was recorded.
expect_exit 0 cv aud --restored audit log --action rollback-accepted
check_contains "the restore is recorded" "rollback-accepted" "$OUT"
expect_exit 0 cv alice ls "$code" --purpose care
check_not_contains "the next session is quiet" "restored from" "$ERR"
expect_exit 0 cv aud audit verify

# ---- snapshots edited after the backup ---------------------------------------------

edited() {
	rm -rf "$T/.bad" && cp -a "$T/bk" "$T/.bad"
}
# A byte of the data file flipped, in the middle.
edited
python3 - "$T/.bad/data.mdb" <<'EOF'
import os, sys
p = sys.argv[1]
with open(p, "r+b") as f:
    f.seek(os.path.getsize(p) // 2)
    b = f.read(1)
    f.seek(-1, 1)
    f.write(bytes([b[0] ^ 0x01]))
EOF
expect_exit 3 cv aud backup verify "$T/.bad"
expect_err_hint "does not match its manifest"
check_contains "its hint" "do not restore from this backup" "$ERR"
expect_exit 3 cvbare restore "$T/.bad" "$T/.r1"
expect_err_hint "does not match its manifest"
check "a refused restore leaves nothing" test ! -e "$T/.r1"
# The manifest edited: a larger count of events.
edited
sed -i "s/^events .*/events $((events + 5))/" "$T/.bad/manifest"
expect_exit 3 cv aud backup verify "$T/.bad"
expect_err_hint "not signed by an admin or auditor"
# The manifest's hash and size made to fit a changed data file: the
# signature no longer fits.
edited
printf 'x' >> "$T/.bad/data.mdb"
sed -i -e "s/^size .*/size $(stat -c %s "$T/.bad/data.mdb")/" \
	-e "s/^blake2b .*/blake2b $(b2sum -l 256 "$T/.bad/data.mdb" | cut -d' ' -f1)/" "$T/.bad/manifest"
expect_exit 3 cv aud backup verify "$T/.bad"
expect_err_hint "not signed by an admin or auditor"
# A manifest signed by a key that is no user's.
edited
ssh-keygen -q -t ed25519 -N '' -f "$T/.k" > /dev/null
sed -n '1,/^event /p' "$T/bk/manifest" > "$T/.body"
ssh-keygen -q -Y sign -f "$T/.k" -n git "$T/.body" 2> /dev/null
cat "$T/.body" "$T/.body.sig" > "$T/.bad/manifest"
expect_exit 3 cv aud backup verify "$T/.bad"
expect_err_hint "not signed by an admin or auditor"
# The manifest signed by the admin's key: it verifies again.
expect_exit 0 cv aud backup verify "$T/bk"
# No manifest at all.
edited
rm "$T/.bad/manifest"
expect_exit 1 cv aud backup verify "$T/.bad"
expect_err_hint "cannot read its manifest"
# A manifest that is not one.
edited
printf 'casevault-backup 1\nvault x\n' > "$T/.bad/manifest"
expect_exit 3 cv aud backup verify "$T/.bad"
expect_err_hint "is damaged: it is not signed"

expect_exit 0 cv aud audit verify
finish
