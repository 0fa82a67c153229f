#!/usr/bin/env bash
# A demo of the main job: a DPO sets up a vault and users, a caseworker keeps
# a case's documents in it, an auditor reads and verifies the history.
# Installs what is missing, builds, and works in a fresh temporary directory.
# CASEVAULT_DEMO_BIN=/usr/bin/casevault runs it with that binary instead (an
# installed one: tests/cli/t_install.sh), and builds nothing.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/tests/deps.sh"
if [ -n "${CASEVAULT_DEMO_BIN:-}" ]; then
	cv=$CASEVAULT_DEMO_BIN
else
	# A release build (no test profile of passphrase hashing), in a directory
	# of its own: build/ is the test build of tests/run.sh.
	cmake -S "$top" -B "$top/build-release" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCASEVAULT_TEST_KDF=OFF >/dev/null
	cmake --build "$top/build-release" -j "$(nproc)" --target casevault >/dev/null
	cv="$top/build-release/casevault"
fi
unset CASEVAULT_KDF

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 077
vault="$work/vault"
# Passphrases come from files (or the terminal), never from the command line.
# Each is several words chosen at random: 12 characters at least, not a
# common phrase, not the user's name.
umask 077                 # passphrase files must be private (mode 600)
printf 'lantern orbit velvet thistle\n' > "$work/dpo.pass"
printf 'mekong river at dawn\n'          > "$work/noy.pass"
printf 'plain of jars 1975\n'            > "$work/som.pass"
printf 'walnut ledger cobalt rain\n'     > "$work/aud.pass"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# Each command is shown as "USER$ casevault ARGS" (on stderr, so that
# output captured from a command stays clean).
as() {
	local u=$1; shift
	printf '%s$ casevault %s\n' "$u" "$*" >&2
	"$cv" --vault "$vault" --user "$u" --passphrase-file "$work/$u.pass" "$@"
}

say "The DPO creates the vault (the genesis commit is the trust anchor)"
as dpo init --admin dpo
# Each user makes their own key pair: the DPO hands out a one-time code
# (here through a file), and never knows their passphrase.
for u in noy:caseworker som:caseworker aud:auditor; do
	as dpo user add "${u%%:*}" --role "${u#*:}" --code-file "$work/${u%%:*}.code"
	printf '%s$ casevault enrol --code-file %s\n' "${u%%:*}" "${u%%:*}.code" >&2
	"$cv" --vault "$vault" --user "${u%%:*}" enrol --code-file "$work/${u%%:*}.code" \
		--new-passphrase-file "$work/${u%%:*}.pass"
	rm -f "$work/${u%%:*}.code"
done
as dpo purpose add intake
as dpo purpose add legal-aid
as dpo purpose list      # a new vault requires a purpose on every read and listing
as dpo user list

say "A caseworker opens a case and files documents"
code=$(as noy case create --label "Referral from Savannakhet shelter")
echo "$code"
printf 'Name: (withheld)\nArrived: 2026-11-02\nReferred by: partner shelter\n' > "$work/intake.txt"
as noy put "$code/intake.txt" "$work/intake.txt"
as noy mkdir "$code/legal"
head -c 300000 /dev/urandom > "$work/passport-scan.pdf"
as noy put "$code/legal/passport-scan.pdf" "$work/passport-scan.pdf"
printf 'Arrived: 2026-11-02\nNeeds: legal aid, medical check\n' | as noy put "$code/intake.txt" -
as noy ls "$code" --purpose intake
as noy history "$code/intake.txt"
as noy get "$code/intake.txt" || echo "(exit $?: a read needs a purpose; nothing was recorded)"
as noy get "$code/intake.txt" --version 1 --purpose intake

say "The DPO grants a colleague access; the admin holds no case key"
as dpo case grant "$code" som --read-only
as dpo get "$code/intake.txt" --purpose intake || echo "(exit $?: the DPO cannot read case content)"
as noy case list --purpose intake   # noy's session delivers the key to som (a signed rekey)
as som get "$code/intake.txt" --purpose "legal-aid:preparing the hearing"

say "On disk there is no plaintext: no content, no name, no label"
if grep -r -a -l -e "Savannakhet" -e "passport-scan" -e "Needs: legal aid" "$vault"; then
	echo "plaintext found"; exit 1
fi
echo "grep found none of them in $(ls "$vault" | tr '\n' ' ')"

say "The caseworker mounts the vault: her cases as plain folders"
mnt="$work/mnt"
mkdir "$mnt"
trap 'fusermount3 -u -z "$mnt" 2>/dev/null || true; rm -rf "$work"' EXIT
as noy mount "$mnt" --purpose intake
casedir=$(ls -d "$mnt"/C-*)
echo "\$ ls -l '$mnt'"; ls -l "$mnt"
echo "\$ ls -lR '$casedir'"; ls -lR "$casedir"
echo "\$ cat '$casedir/intake.txt'"; cat "$casedir/intake.txt"
# An editor's save: a temporary file, then renamed over the original.
printf 'Arrived: 2026-11-02\nNeeds: legal aid, medical check\nHearing: 2026-12-10\n' > "$casedir/.intake.txt.swp"
mv "$casedir/.intake.txt.swp" "$casedir/intake.txt"
# vim's own save: it writes, syncs and sets the mode the file already has.
echo "\$ vim -es -c 'normal GoFollow-up call: 2026-12-12' -c wq intake.txt"
vim -Nu NONE -n -es -c 'normal GoFollow-up call: 2026-12-12' -c wq "$casedir/intake.txt"
hist="$mnt/.history/$(basename "$casedir")/intake.txt"
echo "\$ ls -l '$hist'"; ls -l "$hist"
first=$(ls "$hist" | head -1)
echo "\$ cat '$hist/$first'"; cat "$hist/$first"
as noy umount "$mnt"

say "The auditor reads and verifies the signed history (no case key needed)"
as aud audit log
as aud audit verify
say "The auditor backs the vault up, and drills the restore"
as aud backup "$work/backup-1"
as aud backup verify "$work/backup-1"
as dpo restore "$work/backup-1" "$work/restored"
"$cv" --vault "$work/restored" --user noy --passphrase-file "$work/noy.pass" \
	get "$code/intake.txt" --purpose intake
say "The DPO answers: who saw this victim's file, when, and why"
as dpo audit report --case "$code" --notes
as aud audit report --anomalies
as aud audit export "$work/witness.git"
echo "\$ git -C witness.git log --show-signature -1 audit"
git -C "$work/witness.git" log --show-signature -1 audit
