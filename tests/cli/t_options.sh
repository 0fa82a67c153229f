#!/usr/bin/env bash
# The global options after the command (up to "--"), and the command's own
# options of the same name (`audit log --user NAME`); -q and -v; "did you
# mean" for a mistyped command, verb or option (exit 2).
. "$(dirname "$0")/lib.sh"

PTY_RUN=$TESTS_DIR/cli/pty_run.py

for u in dpo noy som aud; do
	mkpass "$u"
done
expect_exit 0 cv dpo init --admin dpo || finish
add_user dpo noy caseworker
add_user dpo som caseworker
add_user dpo aud auditor
expect_exit 0 cv dpo purpose require off
expect_exit 0 cv noy case create --label "options case"
code=${OUT%$'\n'}
printf 'hello\n' > "$T/doc.txt"
expect_exit 0 cv noy put "$code/doc.txt" "$T/doc.txt"
expect_exit 0 cv som case create --label "som's case"

# --- global options after the command ---------------------------------------
expect_exit 0 cvbare ls --vault "$VAULT" --user noy --passphrase-file "$T/noy.pass"
check_contains "ls --vault DIR --user NAME: noy's cases" "$code" "$OUT"
expect_exit 0 cvbare ls "$code" --vault="$VAULT" --user=noy --passphrase-file="$T/noy.pass"
check_contains "--name=VALUE after the command" "doc.txt" "$OUT"
expect_exit 0 cvbare --vault "$VAULT" get "$code/doc.txt" --user noy --passphrase-file "$T/noy.pass"
check_eq "get with --user after the path" "hello" "${OUT%$'\n'}"
# Between a command and its verb, and after the verb.
expect_exit 0 cvbare case --vault "$VAULT" list --user noy --passphrase-file "$T/noy.pass"
check_contains "case --vault DIR list --user NAME" "$code" "$OUT"
# `user add NAME --user ADMIN`: NAME is the new user, --user who adds.
expect_exit 0 cvbare user add eve --role caseworker --code-file "$T/.eve.code" \
	--vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass"
expect_exit 0 cv dpo user list
check_contains "user add NAME --user ADMIN: NAME added" "eve caseworker" "$OUT"
# A value missing after the command.
fails_cleanly 2 "option '--vault' needs a value" cv noy ls --vault
# "--" ends the options: what follows is an argument, even "-v" or "--user".
expect_exit 0 cv noy mkdir -- "$code/-v"
expect_exit 0 cv noy mkdir -- "$code/--user"
expect_exit 0 cv noy ls "$code"
check_contains "mkdir -- CODE/-v: a folder '-v'" "-v/" "$OUT"
check_contains "mkdir -- CODE/--user: a folder '--user'" "--user/" "$OUT"
check_not_contains "-v after -- is not verbose" "recorded:" "$ERR"

# --- a command's own option of a global's name is the command's -------------
# audit log --user NAME: the events of NAME, read as the user before the
# command (or of the environment).
expect_exit 0 cvbare --vault "$VAULT" --user aud --passphrase-file "$T/aud.pass" audit log --user som --json
json_ok "$OUTF" 'o["actor"] == "som"' || _dump
check_match "audit log --user som lists som's events" '"actor":"som"' "$OUT"
expect_exit 0 env CASEVAULT_USER=aud CASEVAULT_PASSPHRASE_FILE="$T/aud.pass" \
	"$CASEVAULT_BIN" audit log --vault "$VAULT" --user noy --json
json_ok "$OUTF" 'o["actor"] == "noy"' || _dump
check_match "audit log --vault DIR --user noy: noy's events" '"actor":"noy"' "$OUT"
# Without a reader, --user after `audit log` does not become one; the hint
# says where the reader's --user goes.
expect_exit 4 cvbare audit log --vault "$VAULT" --user noy
expect_err_hint "no user given to read it with"
check_contains "the hint: --user before the command" "before the command" "$ERR"
# audit report --user NAME: the report on NAME.
expect_exit 0 cvbare --vault "$VAULT" --user aud --passphrase-file "$T/aud.pass" audit report --user noy
expect_exit 0 cvbare --vault "$VAULT" --user aud --passphrase-file "$T/aud.pass" audit report --user noy
cp "$OUTF" "$T/.report1"
expect_exit 0 cvbare --vault "$VAULT" --user aud audit report --passphrase-file "$T/aud.pass" --user noy
check_eq "audit report --user: the same report, --passphrase-file taken anywhere" \
	"$(cat "$T/.report1")" "$(cat "$OUTF")"
# Before the verb, --user is the global one (audit verify as aud).
expect_exit 0 cvbare --vault "$VAULT" audit --user aud --passphrase-file "$T/aud.pass" verify
check_contains "audit --user NAME verify" "ok:" "$OUT"

# --- -q and -v ---------------------------------------------------------------
expect_exit 0 cv noy -v put "$code/doc2.txt" "$T/doc.txt"
check_contains "-v: the vault and where it comes from" "casevault: vault $VAULT (option), user noy (option)" "$ERR"
check_contains "-v: the config" "casevault: config $XDG_CONFIG_HOME/casevault/config (none)" "$ERR"
head=$(head_of)
check_contains "-v: the event's commit" "casevault: recorded: the history's head is now $head" "$ERR"
expect_exit 0 cv noy get "$code/doc.txt" --verbose
check_contains "--verbose after the command; a read is an event" \
	"recorded: the history's head is now $(head_of)" "$ERR"
expect_exit 0 cv noy -q ls
check_not_contains "-q: no note" "casevault: vault" "$ERR"
check_contains "-q: the listing stays" "$code" "$OUT"
fails_cleanly 2 "-q and -v together" cv noy -q ls -v
# On a terminal, audit verify draws a progress bar; not under -q.
if [ -c /dev/ptmx ]; then
	out=$(python3 "$PTY_RUN" --timeout 30 -- "$CASEVAULT_BIN" --vault "$VAULT" --user dpo \
		--passphrase-file "$T/dpo.pass" audit verify 2>&1)
	check_contains "a terminal: the progress bar" "verifying [" "$out"
	out=$(python3 "$PTY_RUN" --timeout 30 -- "$CASEVAULT_BIN" --vault "$VAULT" --user dpo \
		--passphrase-file "$T/dpo.pass" audit verify -q 2>&1)
	check_not_contains "-q: no progress bar" "verifying [" "$out"
	check_contains "-q: the result stays" "ok:" "$out"
fi

# --- did you mean ------------------------------------------------------------
fails_cleanly 2 "unknown command 'lss'" cv noy lss
check_contains "lss: did you mean 'ls'" "hint: did you mean 'ls'?" "$ERR"
fails_cleanly 2 "unknown command 'sl'" cv noy sl
check_contains "a swap is one edit: sl -> ls" "hint: did you mean 'ls'?" "$ERR"
fails_cleanly 2 "unknown command 'histroy'" cv noy histroy "$code/doc.txt"
check_contains "histroy: did you mean 'history'" "hint: did you mean 'history'?" "$ERR"
fails_cleanly 2 "unknown command 'xyzzy'" cv noy xyzzy
check_contains "nothing near: the usage hint" "hint: run 'casevault --help' for usage" "$ERR"
fails_cleanly 2 "unknown command 'lss'" cvbare help lss
check_contains "help lss: did you mean 'ls'" "hint: did you mean 'ls'?" "$ERR"
fails_cleanly 2 "unknown option '--purpse'" cv noy get "$code/doc.txt" --purpse casework
check_contains "--purpse: did you mean '--purpose'" "hint: did you mean '--purpose'?" "$ERR"
fails_cleanly 2 "unknown option '--vaul'" cv noy ls --vaul "$VAULT"
check_contains "a global mistyped after the command" "hint: did you mean '--vault'?" "$ERR"
fails_cleanly 2 "unknown option '--usr'" cvbare --usr noy ls
check_contains "a global mistyped before the command" "hint: did you mean '--user'?" "$ERR"
fails_cleanly 2 "unknown option '--jsno'" cv aud audit log --jsno
check_contains "--jsno: did you mean '--json'" "hint: did you mean '--json'?" "$ERR"
fails_cleanly 2 "unknown subcommand 'lsit'" cv noy case lsit
check_contains "case lsit: did you mean 'list'" "hint: did you mean 'list'?" "$ERR"
fails_cleanly 2 "unknown option '--frobnicate'" cv noy ls --frobnicate
check_contains "nothing near: the command's usage" "hint: run 'casevault ls --help' for usage" "$ERR"

# Honest use still verifies.
expect_exit 0 cv dpo audit verify
finish
