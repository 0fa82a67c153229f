#!/usr/bin/env bash
# Batch and everyday commands, one unlock each: put -r, get -r, rm -r,
# mkdir -p, mv into a folder; get -o - and get's refusal to write binary
# content to a terminal; the question before user disable, case revoke and
# rm -r (pseudo-terminals driven by pty_run.py).
. "$(dirname "$0")/lib.sh"

need_pty

for u in dpo noy aud; do
	mkpass "$u"
done
expect_exit 0 cv dpo init --admin dpo || finish
add_user dpo noy caseworker
add_user dpo aud auditor
expect_exit 0 cv noy case create --label "batch work"
code=${OUT%$'\n'}
SNAP_USER=noy

# events ACTION: how many events of that kind the case has.
events() {
	cv dpo audit log --json --case "$code" --action "$1" | wc -l
}

# A tree to store: nested folders, a hidden file, an empty file, a
# symbolic link and a FIFO (both skipped).
src=$T/src
mkdir -p "$src/letters/2026" "$src/photos" "$src/empty"
printf 'first letter\n' > "$src/letters/2026/one.txt"
printf 'second letter\n' > "$src/letters/2026/two.txt"
printf 'notes\n' > "$src/.notes"
: > "$src/letters/blank.txt"
rand_file "$src/photos/scan.bin" $((2 * 65536 + 17))
ln -s /etc/passwd "$src/passwd-link"
mkfifo "$src/pipe"

# --- failures first ------------------------------------------------------------
SNAP_LS=$code
fails_cleanly 2 "put -r needs a folder and where to store it" cv noy put -r "$src"
fails_cleanly 2 "is not a folder" cv noy put -r "$src/.notes" "$code/in"
fails_cleanly 1 "cannot read folder '$T/nothing'" cv noy put -r "$T/nothing" "$code/in"
mkdir "$T/small"
printf 'small\n' > "$T/small/s.txt"
fails_cleanly 4 "" cv aud put -r "$T/small" "$code/in"
if [ "$(id -u)" != 0 ]; then
	# Checked before the first file is stored: nothing is.
	chmod 000 "$src/letters/2026/two.txt"
	fails_cleanly 1 "cannot open '$src/letters/2026/two.txt'" cv noy put -r "$src" "$code/in"
	chmod 600 "$src/letters/2026/two.txt"
fi
fails_cleanly 2 "give -o DIR" cv noy get -r "$code" --purpose check
fails_cleanly 2 "give -o DIR" cv noy get -r "$code" -o - --purpose check
fails_cleanly 2 "for one file" cv noy get -r "$code" -o "$T/out" --version 1 --purpose check
mkdir "$T/there"
fails_cleanly 1 "cannot create folder '$T/there'" cv noy get -r "$code" -o "$T/there" --purpose check
# A purpose is required: refused before anything is read, no folder left.
fails_cleanly 2 "" cv noy get -r "$code" -o "$T/out"
check "get -r refused: no folder left behind" test ! -e "$T/out"
fails_cleanly 2 "rm -r removes folders, not cases" cv noy rm -r --yes "$code"
fails_cleanly 1 "" cv noy rm -r --yes "$code/nothing"
fails_cleanly 2 "unknown option" cv noy mkdir -p "$code/a/b" --no-such-option

# --- put -r, get -r --------------------------------------------------------------
expect_exit 0 cv noy put -r "$src" "$code/in/box"
expect_no_stdout "put -r prints nothing"
check_contains "put -r: a symbolic link is skipped, with a warning" \
	"skipped '$src/passwd-link': a symbolic link" "$ERR"
check_contains "put -r: a FIFO is skipped, with a warning" "skipped '$src/pipe': not a file or a folder" "$ERR"
check_eq "put -r: one write event per file (hidden and empty ones too)" 5 "$(events write)"
expect_exit 0 cv noy get "$code/in/box/.notes" --purpose check
check_eq "put -r stores hidden files" $'notes\n' "$OUT"

reads=$(events read)
expect_exit 0 cv noy get -r "$code/in/box" -o "$T/out" --purpose check
expect_no_stdout "get -r prints nothing"
rm "$src/passwd-link" "$src/pipe"
check "get -r gives back the tree put -r stored" diff -r "$src" "$T/out"
check_eq "get -r: one read event per file" $((reads + 5)) "$(events read)"
check_eq "get -r: the files are yours only" "600" "$(stat -c %a "$T/out/letters/2026/one.txt")"
check_eq "get -r: the folders are yours only" "700" "$(stat -c %a "$T/out/letters")"

# Again: each file gets a new version.
printf 'first letter, again\n' > "$src/letters/2026/one.txt"
expect_exit 0 cv noy put -r "$src" "$code/in/box"
expect_exit 0 cv noy get "$code/in/box/letters/2026/one.txt" --purpose check
check_eq "put -r again: the new content" $'first letter, again\n' "$OUT"
expect_exit 0 cv noy history "$code/in/box/letters/2026/one.txt"
check_eq "put -r again: a second version" 2 "$(grep -c '^v' "$OUTF")"

# Half-way: a name that is a folder in the vault. The files before it are
# stored, each complete; the command says how many.
mkdir "$T/half"
printf 'a\n' > "$T/half/a.txt"
printf 'b\n' > "$T/half/b.txt"
printf 'c\n' > "$T/half/c.txt"
expect_exit 0 cv noy mkdir -p "$code/half/b.txt"
expect_exit 2 cv noy put -r "$T/half" "$code/half"
check_contains "put -r half-way: the failing file is named" "cannot store '$code/half/b.txt'" "$ERR"
check_contains "put -r half-way: what was done" "1 of 3 files were stored before it" "$ERR"
expect_exit 0 cv noy get "$code/half/a.txt" --purpose check
check_eq "put -r half-way: the file before it is stored" $'a\n' "$OUT"
expect_exit 1 cv noy get "$code/half/c.txt" --purpose check

# --- mkdir -p --------------------------------------------------------------------
expect_exit 0 cv noy mkdir -p "$code/deep/er/est/"
expect_exit 0 cv noy mkdir -p "$code/deep/er/est"
expect_no_stdout "mkdir -p of a folder that exists: no error"
fails_cleanly 1 "cannot create folder '$code/half/a.txt': a file has that name" \
	cv noy mkdir -p "$code/half/a.txt/x"
fails_cleanly 1 "" cv noy mkdir "$code/deep/er"

# --- mv into a folder ------------------------------------------------------------
expect_exit 0 cv noy mkdir "$code/filed"
fails_cleanly 1 "it is not a folder" cv noy mv "$code/half/a.txt" "$code/in" "$code/nowhere"
fails_cleanly 1 "it is not a folder" cv noy mv "$code/half/a.txt" "$code/in" "$code/half/a.txt"
expect_exit 0 cv noy mv "$code/half/a.txt" "$code/deep" "$code/filed/"
expect_exit 0 cv noy ls "$code/filed" --purpose check
check_eq "mv A B FOLDER moves each into it" $'a.txt\ndeep/' "$(printf '%s' "$OUT" | awk '{print $NF}')"
expect_exit 0 cv noy mv "$code/half/b.txt" "$code/filed"
expect_exit 0 cv noy ls "$code/filed" --purpose check
check_contains "mv A FOLDER moves it into the folder" "b.txt" "$OUT"
# mv A B with B a file: a rename over a file is refused, as before.
expect_exit 0 cv noy put "$code/x.txt" <<< "x"
expect_exit 0 cv noy put "$code/y.txt" <<< "y"
expect_exit 1 cv noy mv "$code/x.txt" "$code/y.txt"
# Half-way: the second one's name is taken in the folder.
expect_exit 0 cv noy put "$code/filed/y.txt" <<< "other y"
expect_exit 1 cv noy mv "$code/x.txt" "$code/y.txt" "$code/filed"
check_contains "mv half-way: what was done" "1 of 2 were moved into '$code/filed' before it" "$ERR"
expect_exit 0 cv noy get "$code/filed/x.txt" --purpose check
check_eq "mv half-way: the first one moved" $'x\n' "$OUT"
expect_exit 0 cv noy get "$code/y.txt" --purpose check
check_eq "mv half-way: the second stayed" $'y\n' "$OUT"

# --- rm -r -----------------------------------------------------------------------
SNAP_LS="$code $code/in/box"
fails_cleanly 2 "without a confirmation: no terminal to ask on" cv noy rm -r "$code/in"
snapshot
expect_exit 1 at_tty --wait-for "[y/N]" --send 'n\n' noy rm -r "$code/in"
check_contains "rm -r at a terminal asks, with the count" \
	"remove '$code/in' and the 5 files and 5 folders in it? [y/N]" "$OUT"
check_contains "rm -r: no is no" "not confirmed" "$OUT"
expect_unchanged "rm -r answered no: nothing removed"
deletes=$(events delete)
expect_exit 0 at_tty --wait-for "[y/N]" --send 'y\n' noy rm -r "$code/in"
check_eq "rm -r: one delete event per file and folder" $((deletes + 11)) "$(events delete)"
expect_exit 1 cv noy ls "$code/in" --purpose check
expect_exit 0 cv noy rm -r --yes "$code/filed/deep"
expect_exit 0 cv noy rm -r "$code/filed/x.txt"
expect_no_stdout "rm -r of a file: removed without a question"

# --- get -o -, and binary content on a terminal ------------------------------------
expect_exit 0 cv noy put "$code/text.txt" <<< "plain text, ສະບາຍດີ"
rand_file "$T/bin" 1000
expect_exit 0 cv noy put "$code/data.bin" "$T/bin"
expect_exit 0 cv noy get "$code/data.bin" -o - --purpose check
check "get -o - writes to standard output" cmp -s "$T/bin" "$OUTF"
expect_exit 0 cv noy get "$code/data.bin" --purpose check
check "not a terminal: binary content is written" cmp -s "$T/bin" "$OUTF"
expect_exit 2 at_tty noy get "$code/data.bin" --purpose check
check_contains "binary to a terminal: refused" \
	"will not write '$code/data.bin' to the terminal: it looks binary" "$OUT"
check_contains "binary to a terminal: the hint" "hint: write it to a file with -o FILE" "$OUT"
expect_exit 2 at_tty noy get "$code/data.bin" -o - --purpose check
expect_exit 0 at_tty noy get "$code/data.bin" --force --purpose check
check_not_contains "--force: written" "looks binary" "$OUT"
expect_exit 0 at_tty noy get "$code/text.txt" --purpose check
check_contains "text to a terminal: written" "plain text" "$OUT"
printf 'caf\xe9 latin-1\n' > "$T/latin1"
expect_exit 0 cv noy put "$code/latin1.txt" "$T/latin1"
expect_exit 2 at_tty noy get "$code/latin1.txt" --purpose check

# --- the question before user disable and case revoke -------------------------------
mkpass ola
add_user dpo ola caseworker
mkpass pim
add_user dpo pim caseworker
expect_exit 0 cv dpo case grant "$code" ola
expect_exit 1 at_tty --wait-for "[y/N]" --send 'n\n' dpo case revoke "$code" ola
check_contains "case revoke at a terminal asks" "revoke the access of 'ola' to case '$code'? [y/N]" "$OUT"
expect_exit 0 at_tty --wait-for "[y/N]" --send 'y\n' dpo case revoke "$code" ola
expect_exit 0 at_tty dpo case grant "$code" ola
expect_exit 0 at_tty dpo case revoke "$code" ola --yes
check_not_contains "case revoke --yes: no question" "[y/N]" "$OUT"
expect_exit 1 at_tty --wait-for "[y/N]" --send '\n' dpo user disable pim
check_contains "user disable at a terminal asks" "disable user 'pim'? [y/N]" "$OUT"
expect_exit 0 cv pim case list
expect_exit 0 at_tty --wait-for "[y/N]" --send 'yes\n' dpo user disable pim
expect_exit 5 cv pim case list
expect_exit 0 cv dpo user disable ola
check_not_contains "user disable without a terminal: no question (scripts)" "[y/N]" "$ERR"

expect_exit 0 cv noy audit verify
expect_exit 0 cv aud audit verify
finish
