#!/usr/bin/env bash
# Commands run at a terminal (a pseudo-terminal driven by pty_run.py):
# `put` from a terminal says how to end the input and ends at one Ctrl-D at
# the start of a line; a caseworker's `user add` is refused before any new
# passphrase is asked for.
. "$(dirname "$0")/lib.sh"

need_pty

for u in dpo noy; do
	mkpass "$u"
done
expect_exit 0 cv dpo init --admin dpo || finish
add_user dpo noy caseworker
expect_exit 0 cv noy case create --label "typed at a terminal"
code=${OUT%$'\n'}

# --- put from a terminal ---------------------------------------------------------
expect_exit 0 at_tty --wait-for "Ctrl-D" --send 'first line\nsecond line\n\x04' noy put "$code/typed.txt"
check_contains "put says how to end the input" \
	"Reading '$code/typed.txt' from standard input: end with Ctrl-D at the start of a line." "$OUT"
expect_exit 0 cv noy get "$code/typed.txt" --purpose check
check_eq "what was typed is stored" $'first line\nsecond line\n' "$OUT"

# Typed ahead, before put reads: one Ctrl-D still ends it.
expect_exit 0 at_tty --send 'typed ahead\n\x04' noy put "$code/ahead.txt"
expect_exit 0 cv noy get "$code/ahead.txt" --purpose check
check_eq "what was typed ahead is stored" $'typed ahead\n' "$OUT"

# An empty file: Ctrl-D at once.
expect_exit 0 at_tty --wait-for "Ctrl-D" --send '\x04' noy put "$code/empty.txt"
expect_exit 0 cv noy get "$code/empty.txt" --purpose check
expect_no_stdout "the empty input is stored empty"

# Not a terminal: no such line.
expect_exit 0 cv noy put "$code/piped.txt" < /dev/null
check_not_contains "put from a file says nothing" "Ctrl-D" "$ERR"

# --- user add by a caseworker ----------------------------------------------------
# No passphrase file: at a terminal it would be asked for, twice. Refused first.
expect_exit 4 at_tty noy user add newbie --role caseworker
check_contains "user add: refused for the role" "user 'noy' is a caseworker, not an admin" "$OUT"
check_not_contains "user add: no passphrase asked for" "assphrase for" "$OUT"

# --- audit verify: a progress bar for the content, on a terminal only -------------
rand_file "$T/big" $((3 * 65536 + 100))
expect_exit 0 cv noy put "$code/big.bin" "$T/big"
expect_exit 0 at_tty noy audit verify
check_contains "verify at a terminal: the content's bar" "checking content [" "$OUT"
check_match "verify at a terminal: bytes of the total, percent, rate" \
	'100% [0-9.]+ of [0-9.]+ GB, [0-9.]+ GB/s' "$OUT"
check_contains "verify at a terminal: the result" "ok: " "$OUT"
expect_exit 0 at_tty noy audit verify --quick
check_not_contains "verify --quick at a terminal: no content to check" "checking content" "$OUT"
expect_exit 0 cv noy audit verify
check_eq "verify, stderr not a terminal: nothing on it" "" "$ERR"

finish
