#!/usr/bin/env bash
# Every bad input fails cleanly: one "casevault: ..." line and one "hint:"
# line on stderr, the documented exit code (1 error, 2 usage, 3 integrity,
# 4 access denied, 5 authentication), nothing on stdout, and nothing
# half-written: the history head, the listings, the vault's files and the
# files of the test's directory are as before.
. "$(dirname "$0")/lib.sh"

for u in dpo noy som out aud gone; do
	mkpass "$u"
done

# --- a vault with a case, a read-only member, a non-member, an auditor ---
expect_exit 0 cv dpo init --admin dpo || finish
for u in noy som out gone; do
	add_user dpo "$u" caseworker
done
add_user dpo aud auditor
expect_exit 0 cv noy case create --label "errors case"
code=${OUT%$'\n'}
expect_exit 0 cv out case create --label "other case"
other=${OUT%$'\n'}
# Reads without a purpose: t_purpose.sh. Here reads give none.
expect_exit 0 cv dpo purpose require off
printf 'secret content %s\n' "$RANDOM$RANDOM" > "$T/doc.txt"
expect_exit 0 cv noy put "$code/doc.txt" "$T/doc.txt"
expect_exit 0 cv noy put "$code/doc.txt" "$T/doc.txt"     # version 2
expect_exit 0 cv noy mkdir "$code/sub"
expect_exit 0 cv noy put "$code/sub/inner.txt" "$T/doc.txt"
expect_exit 0 cv dpo case grant "$code" som --read-only
expect_exit 0 cv noy ls                          # delivers som's key
expect_exit 0 cv som get "$code/doc.txt"
expect_exit 0 cv dpo user disable gone

SNAP_USER=noy
SNAP_LS="$code $code/sub"

# An authentication failure may append one unsigned `unlock-failed` event
# (docs/history.md: "the only unsigned event is `unlock-failed`"), nothing
# else.
fails_auth() {
	local user=$1 before
	shift
	snapshot
	before=$(sed -n 's/^head //p' "$T/.state")
	expect_exit 5 "$@"
	expect_err_hint "$user"
	expect_no_stdout
	if [ "$(head_of)" = "$before" ]; then
		pass "no event recorded"
	else
		cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit log --json > "$T/.log.json"
		tail -n 2 "$T/.log.json" > "$T/.last2.json"
		check_eq "only one unlock-failed event recorded" "$before|unlock-failed $user" \
			"$(jfield "$T/.last2.json" 'o["commit"]' | sed -n 1p)|$(tail -n 1 "$T/.last2.json" > "$T/.last1.json"; jfield "$T/.last1.json" 'o["action"] + " " + str(o["target"] or o["actor"])')"
		sed -i "s/^head .*/head $(head_of)/" "$T/.state"
	fi
	expect_unchanged
}

# --- authentication (5) -----------------------------------------------------
mkpass wrong "not the passphrase of anyone"
fails_auth noy cvbare --vault "$VAULT" --user noy --passphrase-file "$T/wrong.pass" ls
fails_auth noy cvbare --vault "$VAULT" --user noy --passphrase-file "$T/wrong.pass" put "$code/doc.txt" "$T/doc.txt"
fails_auth noy cvbare --vault "$VAULT" --user noy --passphrase-file "$T/wrong.pass" get "$code/doc.txt"
fails_auth nobody cvbare --vault "$VAULT" --user nobody --passphrase-file "$T/wrong.pass" ls
fails_auth nobody cvbare --vault "$VAULT" --user nobody --passphrase-file "$T/noy.pass" ls
fails_auth gone cv gone ls
fails_auth gone cv gone case create --label "by a disabled user"
: > "$T/empty.pass"
chmod 600 "$T/empty.pass"
fails_auth noy cvbare --vault "$VAULT" --user noy --passphrase-file "$T/empty.pass" ls

# --- a passphrase file others can read, or someone else's (2) -----------------
cp "$T/noy.pass" "$T/open.pass"
chmod 644 "$T/open.pass"
fails_cleanly 2 "can be read or changed by others (mode 0644)" \
	cvbare --vault "$VAULT" --user noy --passphrase-file "$T/open.pass" ls
check_contains "the hint says how" "chmod 600 '$T/open.pass'" "$ERR"
chmod 620 "$T/open.pass"
fails_cleanly 2 "mode 0620" cvbare --vault "$VAULT" --user noy --passphrase-file "$T/open.pass" ls
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	chmod 600 "$T/open.pass"
	chown nobody "$T/open.pass"
	fails_cleanly 2 "belongs to another user" \
		cvbare --vault "$VAULT" --user noy --passphrase-file "$T/open.pass" ls
fi
# A pipe has no mode to check: a script may hand the passphrase that way.
expect_exit 0 cvbare --vault "$VAULT" --user noy --passphrase-file <(cat "$T/noy.pass") ls --purpose check

# --- usage (2) --------------------------------------------------------------
fails_cleanly 2 "user" cvbare --vault "$VAULT" --passphrase-file "$T/noy.pass" ls
fails_cleanly 2 "user" cvbare --vault "$VAULT" --passphrase-file "$T/noy.pass" put "$code/new.txt" "$T/doc.txt"
# A passphrase on argv is impossible: there is no such option.
fails_cleanly 2 "--passphrase" cvbare --vault "$VAULT" --user noy --passphrase "$(cat "$T/noy.pass")" ls
fails_cleanly 2 "--passphrase" cvbare --vault "$VAULT" --user noy "--passphrase=$(cat "$T/noy.pass")" ls
fails_cleanly 2 "--passphrase" cv noy ls "$code" --passphrase "$(cat "$T/noy.pass")"
fails_cleanly 2 "--passphrase" cv noy put "$code/new.txt" "$T/doc.txt" --passphrase x
check_not_contains "the rejected passphrase is not echoed" "$(cat "$T/noy.pass")" "$ERR"
fails_cleanly 2 "frobnicate" cv noy frobnicate
fails_cleanly 2 "--frob" cvbare --vault "$VAULT" --user noy --passphrase-file "$T/noy.pass" --frob ls
fails_cleanly 2 "--frob" cv noy ls --frob
fails_cleanly 2 "--frob" cv noy get "$code/doc.txt" --frob
fails_cleanly 2 "" cvbare --vault "$VAULT" --user noy --passphrase-file "$T/noy.pass"
fails_cleanly 2 "" cv noy case frobnicate
fails_cleanly 2 "" cv noy get
fails_cleanly 2 "" cv noy put
fails_cleanly 2 "" cv noy mkdir
fails_cleanly 2 "" cv noy rm
fails_cleanly 2 "" cv noy history
fails_cleanly 2 "" cv noy mv "$code/doc.txt"
fails_cleanly 2 "" cv noy restore "$code/doc.txt"
fails_cleanly 2 "" cv noy get "$code/doc.txt" --version
fails_cleanly 2 "" cv noy get "$code/doc.txt" -o
fails_cleanly 2 "" cv noy get "$code/doc.txt" "$code/sub/inner.txt"
fails_cleanly 2 "" cv dpo case grant "$code"
fails_cleanly 2 "" cv dpo user add newbie
fails_cleanly 2 "" cv dpo user add newbie --role king --code-file "$T/.newbie.code"
fails_cleanly 2 "" cvbare --user noy --passphrase-file "$T/noy.pass" ls
fails_cleanly 2 "" cv noy get "nocase/doc.txt"
fails_cleanly 2 "" cv noy mv "$code/doc.txt" "$other/doc.txt"

# --- not found (1) ---------------------------------------------------------
fails_cleanly 1 "C-ZZZZZZZZ" cv noy get "C-ZZZZZZZZ/doc.txt"
fails_cleanly 1 "C-ZZZZZZZZ" cv noy put "C-ZZZZZZZZ/doc.txt" "$T/doc.txt"
fails_cleanly 1 "C-ZZZZZZZZ" cv noy ls "C-ZZZZZZZZ"
fails_cleanly 1 "C-ZZZZZZZZ" cv dpo case grant C-ZZZZZZZZ som
fails_cleanly 1 "nothere.txt" cv noy get "$code/nothere.txt"
fails_cleanly 1 "nothere.txt" cv noy history "$code/nothere.txt"
fails_cleanly 1 "nothere.txt" cv noy rm "$code/nothere.txt"
fails_cleanly 1 "nodir" cv noy put "$code/nodir/new.txt" "$T/doc.txt"
# The error names the folder that is missing, not the path asked for.
fails_cleanly 1 "folder '$code/medical' does not exist" cv noy put "$code/medical/report.pdf" "$T/doc.txt"
check_not_contains "put: the file is not called missing" "'$code/medical/report.pdf' does not exist" "$ERR"
fails_cleanly 1 "folder '$code/a' does not exist" cv noy mkdir "$code/a/b/c"
fails_cleanly 1 "folder '$code/sub/b' does not exist" cv noy mkdir "$code/sub/b/c"
check_not_contains "mkdir: the new folder is not called missing" "'$code/sub/b/c' does not exist" "$ERR"
fails_cleanly 1 "/nonexistent" cv noy put "$code/new.txt" "$T/nonexistent"
fails_cleanly 1 "sub" cv noy mkdir "$code/sub"
fails_cleanly 1 "99" cv noy get "$code/doc.txt" --version 99
fails_cleanly 1 "99" cv noy restore "$code/doc.txt" --version 99
fails_cleanly 1 "nobody" cv dpo case grant "$code" nobody
fails_cleanly 1 "noy" cv dpo user add noy --role caseworker --code-file "$T/.newbie.code"

# --- versions: usage errors (2) --------------------------------------------
fails_cleanly 2 "version" cv noy restore "$code/doc.txt" --version 0
fails_cleanly 2 "version" cv noy get "$code/doc.txt" --version 0
fails_cleanly 2 "version" cv noy get "$code/doc.txt" --version -1
fails_cleanly 2 "version" cv noy get "$code/doc.txt" --version abc
fails_cleanly 2 "version" cv noy get "$code/doc.txt" --version 1x

# --- access denied (4) -----------------------------------------------------
# A non-member learns nothing: the same refusal for a file that exists and
# one that does not, and never any content.
fails_cleanly 4 "$code" cv out get "$code/doc.txt"
fails_cleanly 4 "$code" cv out get "$code/nothere.txt"
fails_cleanly 4 "$code" cv out get "$code/sub/inner.txt" -o "$T/leak.txt"
check "a refused get -o leaves no file" [ ! -e "$T/leak.txt" ]
fails_cleanly 4 "$code" cv out ls "$code"
fails_cleanly 4 "$code" cv out history "$code/doc.txt"
fails_cleanly 4 "$code" cv out put "$code/doc.txt" "$T/doc.txt"
fails_cleanly 4 "$code" cv out rm "$code/doc.txt"
fails_cleanly 4 "$code" cv out mkdir "$code/x"
fails_cleanly 4 "$code" cv out restore "$code/doc.txt" --version 1
fails_cleanly 4 "$code" cv out mv "$code/doc.txt" "$code/moved.txt"
# read-only member
fails_cleanly 4 "" cv som put "$code/doc.txt" "$T/doc.txt"
fails_cleanly 4 "" cv som put "$code/new.txt" - < "$T/doc.txt"
fails_cleanly 4 "" cv som mkdir "$code/x"
fails_cleanly 4 "" cv som rm "$code/doc.txt"
fails_cleanly 4 "" cv som mv "$code/doc.txt" "$code/moved.txt"
fails_cleanly 4 "" cv som restore "$code/doc.txt" --version 1
# auditor, admin (not members)
fails_cleanly 4 "" cv aud get "$code/doc.txt"
fails_cleanly 4 "" cv aud put "$code/doc.txt" "$T/doc.txt"
fails_cleanly 4 "" cv dpo get "$code/doc.txt"
fails_cleanly 4 "" cv dpo put "$code/doc.txt" "$T/doc.txt"
# roles
fails_cleanly 4 "" cv noy user add newbie --role admin --code-file "$T/.newbie.code"
fails_cleanly 4 "" cv noy user disable som
fails_cleanly 4 "" cv noy case grant "$code" out
fails_cleanly 4 "" cv aud case create --label "by an auditor"
fails_cleanly 4 "" cv noy purpose add snooping

# --- errors true for the case at hand ----------------------------------------
# Admins and auditors hold no case keys by design: their hints say so, and
# do not send them to ask an admin.
fails_cleanly 4 "$code" cv dpo get "$code/doc.txt"
check_contains "admin: admins hold no key" "admins hold no key of a case" "$ERR"
check_contains "admin: an admin may grant a caseworker" "casevault case grant $code USER" "$ERR"
check_not_contains "admin: not told to ask an admin" "ask an admin" "$ERR"
fails_cleanly 4 "$code" cv aud get "$code/doc.txt"
check_contains "auditor: auditors hold no case keys" "auditors hold no case keys" "$ERR"
check_not_contains "auditor: not told to ask an admin" "ask an admin" "$ERR"
# Admins and auditors are never case members (they hold no case keys),
# disabled users get no access: each grant refused, with what to do.
fails_cleanly 4 "is an admin" cv dpo case create --label "by an admin"
check_contains "case create by an admin: who does it" "a caseworker creates the case" "$ERR"
check_not_contains "case create by an admin: not told to ask an admin" "ask an admin" "$ERR"
fails_cleanly 4 "an admin and cannot be a case member" cv dpo case grant "$code" dpo
check_contains "grant to an admin: why, and what to do" "so they are never members: grant a caseworker" "$ERR"
fails_cleanly 4 "an auditor and cannot be a case member" cv dpo case grant "$code" aud
check_not_contains "grant to an auditor: not told to ask an admin" "ask an admin" "$ERR"
fails_cleanly 1 "is disabled" cv dpo case grant "$code" gone
check_contains "grant to a disabled user: what to do" "grant an active caseworker" "$ERR"
fails_cleanly 4 "$code" cv aud ls "$code"
check_contains "auditor, ls: auditors hold no case keys" "auditors hold no case keys" "$ERR"
fails_cleanly 4 "$code" cv out get "$code/doc.txt"
check_contains "a caseworker who is no member asks for access" "ask an admin (DPO) to grant you access to case $code" "$ERR"
fails_cleanly 4 "read-only" cv som put "$code/doc.txt" "$T/doc.txt"
check_contains "a read-only member asks for read-write access" "read-write access" "$ERR"
fails_cleanly 4 "auditor" cv aud case create --label "by an auditor"
check_not_contains "auditor: case create not sent to an admin" "ask an admin" "$ERR"

# An unknown case: the hint shows one's cases, not that case.
fails_cleanly 1 "case 'C-ZZZZZZZZ' does not exist" cv noy get "C-ZZZZZZZZ/doc.txt"
check_not_contains "unknown case: not sent to list it" "ls C-ZZZZZZZZ" "$ERR"
check_contains "unknown case: sent to the list of cases" "'casevault ls'" "$ERR"
fails_cleanly 1 "case 'C-ZZZZZZZZ' does not exist" cv dpo get "C-ZZZZZZZZ/doc.txt"
check_contains "unknown case, admin: sent to case list" "'casevault case list'" "$ERR"

# A message says what failed once.
fails_cleanly 4 "not an admin" cv noy user add newbie --role caseworker --code-file "$T/.newbie.code"
check_not_contains "user add: said once" "add user:" "$ERR"
fails_cleanly 4 "not an admin" cv noy case grant "$code" out
check_not_contains "case grant: said once" "grant access:" "$ERR"
fails_cleanly 4 "auditor" cv aud case create --label "by an auditor"
check_not_contains "case create: said once" "create case:" "$ERR"

# A user add that fails leaves no code file behind (a caseworker's is
# refused before the file is made).
check "a refused user add writes no code file" [ ! -e "$T/.newbie.code" ]

# Disabling a disabled user: nothing to do, and no new name to choose.
fails_cleanly 1 "already disabled" cv dpo user disable gone
check_not_contains "disable: not told to choose another name" "choose another name" "$ERR"

# The vault's rules refuse to leave a case with no member or the vault with
# no active admin: an error (1), not a usage error, and the hint says how.
fails_cleanly 1 "last member" cv dpo case revoke "$other" out
check_contains "revoke: grant another member first" "casevault case grant $other USER" "$ERR"
fails_cleanly 1 "last active admin" cv dpo user disable dpo
check_contains "disable: add another admin first" "--role admin" "$ERR"

# --- bad names (2) ---------------------------------------------------------
long=$(head -c 300 /dev/zero | tr '\0' n)
for name in '..' '.' 'x/../doc.txt' '../x' './doc.txt' 'a//b' "$long" $'ctl\001name' $'tab\tname' $'del\177name' 'new.txt/'; do
	shown=$(printf '%q' "$name" | cut -c1-40)
	fails_cleanly 2 "" cv noy put "$code/$name" "$T/doc.txt"
	[ "$RC" = 2 ] || echo "  (name: $shown)"
done
# An error about a bad name does not copy its control characters to the
# terminal (a newline would break the one-line error; ESC drives the terminal).
for name in $'ctl\001name' $'new\nline' $'esc\033[2Jname' $'cr\rname'; do
	shown=$(printf '%q' "$name")
	fails_cleanly 2 "" cv noy put "$code/$name" "$T/doc.txt"
	check "the error for $shown holds no control characters" \
		bash -c '! LC_ALL=C grep -q "[[:cntrl:]]" < <(tr -d "\n" < "$1")' _ "$ERRF"
done
for name in '..' '.' 'a//b' "$long" $'ctl\001name' 'sub/..'; do
	fails_cleanly 2 "" cv noy mkdir "$code/$name"
	fails_cleanly 2 "" cv noy mv "$code/doc.txt" "$code/$name"
done
# escaping the case, or reaching into another case through a path
fails_cleanly 2 "" cv noy get "$code/../$other/x"
fails_cleanly 2 "" cv out get "$other/../$code/doc.txt"
fails_cleanly 2 "" cv noy put "$code/sub/../../$other/x" "$T/doc.txt"

# --- bad vaults --------------------------------------------------------------
# An empty directory: no vault there (1), and it stays empty.
mkdir "$T/emptydir"
fails_cleanly 1 "" cvbare --vault "$T/emptydir" --user noy --passphrase-file "$T/noy.pass" ls
check_eq "the empty directory stays empty" "" "$(ls -A "$T/emptydir")"
fails_cleanly 1 "" cvbare --vault "$T/emptydir" --user dpo --passphrase-file "$T/dpo.pass" audit verify
check_eq "the empty directory stays empty (audit)" "" "$(ls -A "$T/emptydir")"
fails_cleanly 1 "" cvbare --vault "$T/no-such-dir" --user noy --passphrase-file "$T/noy.pass" ls
check "no directory is created" [ ! -e "$T/no-such-dir" ]

# A regular file (3), unchanged.
printf 'just a file\n' > "$T/plainfile"
sum=$(sha_of "$T/plainfile")
fails_cleanly 3 "" cvbare --vault "$T/plainfile" --user noy --passphrase-file "$T/noy.pass" ls
check_eq "the regular file is unchanged" "$sum" "$(sha_of "$T/plainfile")"

# A foreign data.mdb (3): unchanged, and no file added beside it.
mkdir "$T/foreign"
rand_file "$T/foreign/data.mdb" 65536
chmod 600 "$T/foreign/data.mdb"
sum=$(sha_of "$T/foreign/data.mdb")
fails_cleanly 3 "" cvbare --vault "$T/foreign" --user noy --passphrase-file "$T/noy.pass" ls
check_eq "the foreign data.mdb is unchanged" "$sum" "$(sha_of "$T/foreign/data.mdb")"
check_eq "nothing is added to the foreign directory" "data.mdb" "$(ls -A "$T/foreign" | paste -sd' ' -)"
fails_cleanly 3 "" cvbare --vault "$T/foreign" --user dpo --passphrase-file "$T/dpo.pass" audit verify
check_eq "the foreign data.mdb is unchanged (audit)" "$sum" "$(sha_of "$T/foreign/data.mdb")"

# A vault whose data.mdb others may read: refused, with the reason.
snapshot
cp -a "$VAULT" "$T/v644"
chmod 644 "$T/v644/data.mdb"
sum=$(sha_of "$T/v644/data.mdb")
expect_exit '!0' cvbare --vault "$T/v644" --user noy --passphrase-file "$T/noy.pass" ls
expect_err_hint "readable"
check_contains "the message says others may read it" "others" "$ERR"
expect_no_stdout
expect_exit '!0' cvbare --vault "$T/v644" --user noy --passphrase-file "$T/noy.pass" put "$code/doc.txt" "$T/doc.txt"
expect_err_hint "readable"
check_eq "the readable data.mdb is unchanged" "$sum" "$(sha_of "$T/v644/data.mdb")"
check_eq "its mode is left as it was" 644 "$(stat -c %a "$T/v644/data.mdb")"
rm -rf "$T/v644"
expect_unchanged

# --- new passphrases -----------------------------------------------------------
mkpass short "seven77"
fails_cleanly 2 "" cv noy user passwd --new-passphrase-file "$T/short.pass"
expect_exit 0 cv noy ls        # the old passphrase still works
fails_cleanly 1 "" cv noy user passwd --new-passphrase-file "$T/no-such.pass"
expect_exit 0 cv noy ls

# --- get -o: no plaintext left behind on failure ---------------------------------
fails_cleanly 1 "" cv noy get "$code/doc.txt" -o "$T/no-such-dir/x.txt"
fails_cleanly 1 "99" cv noy get "$code/doc.txt" -o "$T/x.txt" --version 99
check "a failed get -o leaves no file" [ ! -e "$T/x.txt" ]

# --- get -o onto what is there already --------------------------------------------
# A device or a FIFO is written to; a folder is named as such; a file is
# kept unless --force, which replaces it whole or not at all.
expect_exit 0 cv noy get "$code/doc.txt" -o /dev/null
expect_no_stdout "get -o /dev/null"
mkfifo "$T/.fifo"
timeout 20 cat "$T/.fifo" > "$T/.fifo.out" &
reader=$!
expect_exit 0 cv noy get "$code/doc.txt" -o "$T/.fifo"
wait "$reader"
check "get -o FIFO: the reader gets the document" cmp -s "$T/.fifo.out" "$T/doc.txt"
mkdir "$T/outdir"
fails_cleanly 1 "'$T/outdir': it is a folder" cv noy get "$code/doc.txt" -o "$T/outdir"
check_not_contains "the hint for a folder is not to remove it" "remove it" "$ERR"
printf 'keep me\n' > "$T/existing.txt"
fails_cleanly 1 "already exists" cv noy get "$code/doc.txt" -o "$T/existing.txt"
check_contains "the hint names --force" "--force" "$ERR"
fails_cleanly 1 "99" cv noy get "$code/doc.txt" -o "$T/existing.txt" --force --version 99
check_eq "a failed get --force leaves the file as it was" "keep me" "$(cat "$T/existing.txt")"
check_eq "a failed get --force leaves no temporary file" "" "$(ls -A "$T" | grep casevault-get)"
# Without -o, --force lets binary content reach a terminal (t_batch.sh):
# not a terminal here, so the content is written as it would be without it.
expect_exit 0 cv noy get "$code/doc.txt" --force
check "get --force without -o: standard output" cmp -s "$OUTF" "$T/doc.txt"
chmod 644 "$T/existing.txt"
expect_exit 0 cv noy get "$code/doc.txt" -o "$T/existing.txt" --force
check "get --force replaces the file" cmp -s "$T/existing.txt" "$T/doc.txt"
check_eq "the new file is readable by its owner only" 600 "$(stat -c %a "$T/existing.txt")"
check_eq "get --force leaves no temporary file" "" "$(ls -A "$T" | grep casevault-get)"

# --- the history still verifies -------------------------------------------------
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit verify
expect_exit 0 cv noy get "$code/doc.txt"
check "the document is intact" cmp -s "$OUTF" "$T/doc.txt"

finish
