#!/usr/bin/env bash
# docs/operations.md as a DPO would follow it: every `sh` block of the
# page, section by section, on a real vault with a local restic
# repository. The page's commands are run as written; only passphrases
# come from files (a `casevault` function adds --passphrase-file for the
# user each command names).
. "$(dirname "$0")/lib.sh"

DOC="$(dirname "$0")/../../docs/operations.md"

if ! command -v restic > /dev/null 2>&1; then
	[ "${CI:-}" = true ] && { fail "restic is missing (tests/deps.sh installs it)"; finish; }
	skip "restic is not installed"
fi

# The page's variables.
export CASEVAULT_DIR=$VAULT
backups=$T/backups
newvault=$T/newvault
export RESTIC_REPOSITORY=$T/offsite RESTIC_PASSWORD_FILE=$T/.restic.pass RESTIC_CACHE_DIR=$T/.restic-cache
export XDG_STATE_HOME=$T/state
(umask 077 && head -c 32 /dev/urandom | base64 > "$RESTIC_PASSWORD_FILE")
mkdir -p "$backups"

# `casevault ... --user U ...` as the page writes it, with U's passphrase
# from its file; `user passwd` takes the new one from U.new, which then
# becomes U's.
casevault() {
	local user= prev= a new=() all="$*"

	# The global --user (the first), not a report's --user NAME.
	for a in "$@"; do
		[ "$prev" = --user ] && [ -z "$user" ] && user=$a
		prev=$a
	done
	if [ "$all" != "${all/user passwd/}" ]; then
		mkpass "$user.new"
		new=(--new-passphrase-file "$T/$user.new.pass")
	fi
	"$CASEVAULT_BIN" ${user:+--passphrase-file "$T/$user.pass"} "$@" "${new[@]}" || return
	[ ${#new[@]} -eq 0 ] || mv "$T/$user.new.pass" "$T/$user.pass"
}

# The lines of the `sh` blocks of section TITLE, each a whole command.
section_lines() {
	awk -v want="## $1" '
		/^## / { inside = ($0 == want) }
		inside && /^ *```sh$/ { code = 1; next }
		inside && /^ *```$/ { code = 0; next }
		inside && code { sub(/^ +/, ""); print }
	' "$DOC"
}

# Run section TITLE's commands in this shell (its variables stay set);
# each must succeed.
run_section() {
	local title=$1 line n=0

	while IFS= read -r line; do
		n=$((n + 1))
		if eval "$line" > "$OUTF" 2> "$ERRF"; then
			pass "$title: $line"
		else
			fail "$title: '$line' exited $?: $(head -c 400 "$ERRF")"
		fi
		OUT=$(cat "$OUTF")
	done < <(section_lines "$title")
	[ "$n" -gt 0 ] || fail "docs/operations.md has no commands under '## $title'"
}

# The vault the page starts from: a DPO, an auditor, two caseworkers, and
# a case whose only member is noy.
mkpass dpo
mkpass aud
mkpass noy
mkpass som
expect_exit 0 cv dpo init --admin dpo
add_user dpo aud auditor
add_user dpo noy caseworker
add_user dpo som caseworker
expect_exit 0 cv dpo purpose add intake
expect_exit 0 cv dpo purpose add legal-aid
expect_exit 0 cv noy case create --label "Operations"
code=${OUT%$'\n'}
printf 'Intake: arrived 2026-11-02\n' > "$T/.intake"
head -c 200000 /dev/urandom > "$T/.scan"
expect_exit 0 cv noy put "$code/intake.txt" "$T/.intake"
expect_exit 0 cv noy put "$code/id-scan.bin" "$T/.scan"

run_section "Before anything goes wrong: custodians"
check_contains "status names the case not yet split" "$code" "$OUT"
# The next session of the case's member splits its key.
expect_exit 0 cv noy ls "$code" --purpose intake
expect_exit 0 cv dpo recovery status
check_contains "after noy's session the case is covered" "0 cases not covered" "$OUT"

run_section "Daily backup"
check "restic holds the day's snapshot" python3 -c '
import json, subprocess
assert len(json.loads(subprocess.check_output(["restic", "snapshots", "--json"]))) == 1'

run_section "Monthly restore drill"

# A new laptop has no state of its own.
XDG_STATE_HOME=$T/new-laptop-state run_section "A laptop is lost or seized"
check_contains "the restored vault verifies after passwd and rotation" "ok:" "$OUT"
expect_exit 0 cvbare --vault "$newvault" --user noy --passphrase-file "$T/noy.pass" \
	get "$code/intake.txt" --purpose intake -o "$T/.got"
check "noy reads the restored document with the new passphrase" cmp -s "$T/.got" "$T/.intake"

# The original vault, where noy is still enrolled with the old passphrase
# (the laptop section changed it in the restored one only).
mv "$T/noy.pass" "$T/noy.restored.pass"
run_section "The only member of a case is gone"
check_contains "verify accepts the recovery" "ok:" "$OUT"
expect_exit 0 cv aud audit report --recoveries
check_contains "the report shows the grant" "recovery-grant" "$OUT"
expect_exit 0 cv som get "$code/id-scan.bin" --purpose legal-aid -o "$T/.got2"
check "som reads what only noy could read" cmp -s "$T/.got2" "$T/.scan"
expect_exit 0 cv aud audit verify
finish
