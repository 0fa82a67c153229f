#!/usr/bin/env bash
# The batch commands against someone else who writes the local folders:
# put -r stores what its walk checked, or nothing of a file swapped since
# (a symbolic link to a secret, a folder moved aside for a link to
# another), so a file the caseworker never meant to store (a passphrase
# file, a key) cannot be slipped into a case; get -r writes into the
# folder it made, never through a link put in its place.
. "$(dirname "$0")/lib.sh"

mkpass dpo
mkpass noy
expect_exit 0 cv dpo init --admin dpo || finish
add_user dpo noy caseworker || finish
expect_exit 0 cv noy case create || finish
code=${OUT%$'\n'}

# The caseworker's secrets, outside the folder stored.
mkdir "$T/private"
printf 'SECRET-of-noy\n' > "$T/private/zz.txt"
printf 'SECRET-of-noy\n' > "$T/private/f.txt"

# tree DIR: a few files before the one swapped (put -r goes by name).
tree() {
	mkdir -p "$1/sub"
	for i in 00 01 02 03 04 05; do
		printf 'letter %s\n' "$i" > "$1/a$i.txt"
	done
	printf 'meant\n' > "$1/zz.txt"
	printf 'meant\n' > "$1/sub/f.txt"
}

# swapped WHAT SRC TARGET DEST: put -r SRC into DEST while WHAT (a file or
# folder of SRC) is replaced by a link to TARGET once the walk read it.
swapped() {
	local what=$1 src=$2 target=$3 dest=$4 ready pid

	coproc SWAP { python3 "$TESTS_DIR/cli/swap_after_read.py" "$src/$what" "$target"; }
	pid=$SWAP_PID
	read -r ready <&"${SWAP[0]}"
	check_eq "the swapper watches $what" ready "$ready"
	expect_exit 1 cv noy put -r "$src" "$dest"
	wait "$pid"
	check "the swapper swapped $what" test -L "$src/$what"
	check_contains "put -r refuses the swapped file" \
		"casevault: cannot store '$src/$what" "$ERR"
	check_contains "... as changed since it was read" "it changed since put -r read it" "$ERR"
	check_contains "... with a hint" "hint: nothing of it was stored" "$ERR"
	check_contains "... and says what was stored before it" "files were stored before it" "$ERR"
}

# --- a file swapped for a link to a secret --------------------------------------
tree "$T/src1"
swapped zz.txt "$T/src1" "$T/private/zz.txt" "$code/in1"
expect_exit 0 cv noy get "$code/in1/a05.txt" --purpose check
check_eq "the files before it are stored" "letter 05" "${OUT%$'\n'}"
expect_exit 1 cv noy get "$code/in1/zz.txt" --purpose check
check_not_contains "the secret is not stored" SECRET "$OUT"

# --- a folder moved aside for a link to another ---------------------------------
tree "$T/src2"
rm "$T/src2/zz.txt"
swapped sub "$T/src2" "$T/private" "$code/in2"
expect_exit 1 cv noy get "$code/in2/sub/f.txt" --purpose check
check_not_contains "the secret is not stored" SECRET "$OUT"

# --- get -r: its new folder swapped for a link to another -----------------------
# get -r makes DIR in a folder others write (a shared export folder); one
# of them moves DIR aside for a link to a folder of the caseworker's own
# (~/.ssh). The files go into the folder get -r made, or nowhere.
mkdir "$T/shared" "$T/victim"
coproc SWAP { python3 "$TESTS_DIR/cli/swap_after_read.py" "$T/shared/out" "$T/victim"; }
pid=$SWAP_PID
read -r ready <&"${SWAP[0]}"
check_eq "the swapper watches the new folder" ready "$ready"
cv noy get -r "$code/in1" -o "$T/shared/out" --purpose check > "$OUTF" 2> "$ERRF"
RC=$?
wait "$pid"
check "the swapper swapped the new folder" test -L "$T/shared/out"
check_eq "nothing was written into the folder the link leads to" "" "$(ls -A "$T/victim")"
if [ "$RC" = 0 ]; then
	check_eq "the files are in the folder get -r made" "letter 00" "$(cat "$T/shared/out.aside/a00.txt")"
else
	check_contains "get -r says why it stopped" "cannot create folder '$T/shared/out'" "$(cat "$ERRF")"
fi

# --- get -o: a FIFO of another user in the way ----------------------------------
# -o FILE writes to a FIFO or device as the shell's '>' would (/dev/null, a
# pipe of one's own). Someone else who writes FILE's folder (/tmp) could
# put their own FIFO, or a link to it, at the name the caseworker is about
# to use, and read the plaintext out of it: refused, nothing written.
if [ "$(id -u)" = 0 ]; then
	for how in fifo link; do
		mkfifo "$T/shared/theirs.$how"
		chown 65534 "$T/shared/theirs.$how"
		out=$T/shared/theirs.$how
		if [ "$how" = link ]; then
			ln -s "$T/shared/theirs.$how" "$T/shared/out.txt"
			out=$T/shared/out.txt
		fi
		cat "$T/shared/theirs.$how" > "$T/.stolen" &
		reader=$!
		fails_cleanly 1 "cannot write '$out': a FIFO or device of another user (uid 65534)" \
			cv noy get "$code/in1/a00.txt" -o "$out" --purpose check
		exec 4<> "$T/shared/theirs.$how"   # let the reader go, if it waits
		exec 4>&-
		wait "$reader"
		check_eq "nothing was written to their FIFO ($how)" "" "$(cat "$T/.stolen")"
		rm -f "$T/shared/theirs.$how" "$T/shared/out.txt"
	done
	expect_exit 0 cv noy get "$code/in1/a00.txt" -o /dev/null --purpose check
fi

# --- a new passphrase from another user's FIFO -----------------------------------
# A passphrase file may be a pipe (/dev/fd/3, systemd's answer); another
# user's FIFO where the caseworker meant a file of their own (in /tmp)
# would let them choose the new passphrase, and so unlock a copy of the
# vault as the caseworker: refused, the passphrase stays.
if [ "$(id -u)" = 0 ]; then
	mkfifo "$T/shared/new.pass"
	chown 65534 "$T/shared/new.pass"
	printf 'chosen by someone else 42\n' > "$T/shared/new.pass" &
	writer=$!
	fails_cleanly 2 "passphrase file '$T/shared/new.pass' is a FIFO or device of another user (uid 65534)" \
		cv noy user passwd --new-passphrase-file "$T/shared/new.pass"
	exec 4<> "$T/shared/new.pass"   # let the writer go, if it waits
	exec 4>&-
	wait "$writer"
	expect_exit 0 cv noy case list
fi

# --- names the vault cannot store: refused before anything is stored ------------
# A folder from elsewhere (an unpacked archive) names its files as it
# likes: a name that is not UTF-8, two spellings of one name (NFC and NFD:
# the second would be stored over the first as its new version), a
# control character. Each stops put -r before the first file is stored,
# with one line naming it.
SNAP_LS=$code
src=$T/names
mkdir "$src"
printf 'a\n' > "$src/a.txt"
printf 'b\n' > "$src/b-$(printf '\377').txt"
fails_cleanly 2 "cannot store '$src/b-?.txt': its name is not UTF-8" cv noy put -r "$src" "$code/names"
rm "$src/b-"*
nfc=$(printf 'caf\303\251.txt') nfd=$(printf 'cafe\314\201.txt')
printf 'first\n' > "$src/$nfc"
printf 'second\n' > "$src/$nfd"
fails_cleanly 2 "is one name in the vault" cv noy put -r "$src" "$code/names"
rm "$src/$nfd"
mkdir "$src/sub"
printf 'c\n' > "$src/sub/tab$(printf '\t')name"
fails_cleanly 2 "cannot store '$src/sub/tab?name': its name holds a control character" \
	cv noy put -r "$src" "$code/names"
rm "$src/sub/tab"*
expect_exit 0 cv noy put -r "$src" "$code/names"
expect_exit 0 cv noy get "$code/names/$nfd" --purpose check
check_eq "the NFC name is found by its NFD spelling" first "${OUT%$'\n'}"

# --- a tree deeper than a case holds ------------------------------------------
# A case holds 64 names in a path below its code: a deeper tree stops
# put -r before anything is stored, and a very deep one (a folder in
# a folder, thousands of times: an archive made to hurt) does not crash it.
deep() {
	python3 -c 'import os, sys
os.chdir(sys.argv[1])
for i in range(int(sys.argv[2])):
    os.mkdir("d")
    os.chdir("d")
open("f.txt", "w").write("deep\n")' "$1" "$2"
}
mkdir "$T/deep63" "$T/deep64" "$T/deep3000"
deep "$T/deep63" 62
deep "$T/deep64" 63
deep "$T/deep3000" 3000
fails_cleanly 2 "cannot store '$T/deep64/d/d/" cv noy put -r "$T/deep64" "$code/deep"
check_contains "... as too deep" "more than 64 names deep in the case" "$ERR"
fails_cleanly 2 "more than 64 names deep in the case" cv noy put -r "$T/deep3000" "$code/deep"
expect_exit 0 cv noy put -r "$T/deep63" "$code/deep"

# --- a name that would drive the terminal, in a warning -------------------------
src=$T/loud
mkdir "$src"
printf 'x\n' > "$src/x.txt"
ln -s x.txt "$src/$(printf 'link\033]0;owned\007\nfake')"
expect_exit 0 cv noy put -r "$src" "$code/loud"
check_eq "the warning is one line, its control characters shown as '?'" \
	"casevault: warning: skipped '$src/link?]0;owned??fake': a symbolic link (put -r stores files and folders only)" \
	"$(grep -v CASEVAULT_KDF "$ERRF")"

expect_exit 0 cv dpo audit verify
finish
