#!/usr/bin/env bash
# Unicode names are kept in NFC: the NFC and NFD spellings of "café.txt"
# (macOS and some tools write NFD) are one file, through the CLI and
# through the mount; a name that is not UTF-8 is refused (exit 2, EINVAL
# on the mount) and changes nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mount_lib.sh"

nfc=$(printf 'caf\xc3\xa9.txt')        # é: U+00E9
nfd=$(printf 'cafe\xcc\x81.txt')       # e + U+0301 COMBINING ACUTE ACCENT
dir_nfd=$(printf 'Tr\xc3\xa1mite\xcc\x81s')        # half NFC, half NFD
dir_nfc=$(printf 'Tr\xc3\xa1mit\xc3\xa9s')
check "the two spellings differ as bytes" [ "$nfc" != "$nfd" ]

mount_setup noy "Names"
expect_exit 0 cv dpo purpose require off
printf 'first\n' > "$T/one"
printf 'second\n' > "$T/two"

# --- the CLI ------------------------------------------------------------------
expect_exit 0 cv noy put "$CODE/$nfd" "$T/one"
expect_exit 0 cv noy get "$CODE/$nfc" -o "$T/out1"
check "put NFD, get NFC: the same file" cmp -s "$T/one" "$T/out1"
expect_exit 0 cv noy put "$CODE/$nfc" "$T/two"
expect_exit 0 cv noy ls "$CODE" --json
check_eq "ls: one file, its name in NFC, version 2" "$nfc 2" \
	"$(jfield "$OUTF" 'o["name"] + " " + str(o["version"])')"
expect_exit 0 cv noy get "$CODE/$nfd" -o "$T/out2"
check "get NFD: the second version" cmp -s "$T/two" "$T/out2"
expect_exit 0 cv noy history "$CODE/$nfd" --json
check_eq "history NFD: both versions" 2 "$(grep -c . "$OUTF")"
expect_exit 0 cv noy mkdir "$CODE/$dir_nfd"
fails_cleanly 1 "exists" cv noy mkdir "$CODE/$dir_nfc"
expect_exit 0 cv noy mv "$CODE/$nfc" "$CODE/$dir_nfd/$nfd"
expect_exit 0 cv noy ls "$CODE/$dir_nfc" --json
check_eq "mv into an NFD path: stored in NFC" "$nfc" "$(jfield "$OUTF" 'o["name"]')"
expect_exit 0 cv noy mv "$CODE/$dir_nfc/$nfc" "$CODE/$nfd"

# Not UTF-8: refused, nothing stored.
bad=$(printf 'caf\xe9.txt')          # Latin-1
fails_cleanly 2 "not valid UTF-8" cv noy put "$CODE/$bad" "$T/one"
fails_cleanly 2 "not valid UTF-8" cv noy mkdir "$CODE/$(printf 'a\xc3')"
fails_cleanly 2 "not valid UTF-8" cv noy get "$CODE/$bad" -o "$T/out3"
check "a refused get writes no file" [ ! -e "$T/out3" ]
long=$(printf 'x%.0s' $(seq 250))
deep=$CODE
for _ in $(seq 17); do
	deep=$deep/$long
done
fails_cleanly 2 "cannot create folder" cv noy mkdir "$deep"
expect_exit 0 cv dpo audit verify

# --- the mount ------------------------------------------------------------------
require_fuse
mount_vault noy || finish
printf 'third\n' > "$CASEDIR/$(printf 'na\xc3\xafve.txt')"            # NFC ï
printf 'fourth\n' > "$CASEDIR/$(printf 'nai\xcc\x88ve.txt')"          # NFD ï: the same file
check_eq "mount: NFC and NFD writes are one file" "fourth" \
	"$(cat "$CASEDIR/$(printf 'na\xc3\xafve.txt')")"
mkdir "$CASEDIR/$(printf 'Sa\xcc\x81o')"                                # NFD á
check "mount: mkdir NFD, the NFC folder is there" test -d "$CASEDIR/$(printf 'S\xc3\xa1o')"
printf 'fifth\n' > "$CASEDIR/$(printf 'S\xc3\xa1o')/$nfd"
check_eq "mount: a file created with NFD opens with NFC" "fifth" "$(cat "$CASEDIR/$(printf 'Sa\xcc\x81o')/$nfc")"
names=$(ls "$CASEDIR" | LC_ALL=C sort | paste -sd'|' -)
check_eq "mount: ls shows each name once, in NFC" \
	"$(printf '%s|%s|%s|%s' "$(printf 'S\xc3\xa1o')" "$dir_nfc" "$nfc" "$(printf 'na\xc3\xafve.txt')" | tr '|' '\n' | LC_ALL=C sort | paste -sd'|' -)" \
	"$names"
check "mount: an NFD name stats as the NFC file" test -f "$CASEDIR/$nfd"
check "mount: a name that is not UTF-8 is refused" not touch "$CASEDIR/$bad"
check "mount: ... and not made" not test -e "$CASEDIR/$bad"
check "mount: rm by the NFD name" rm "$CASEDIR/$nfd"
# The kernel caches each spelling on its own, for the entry timeout (1 s).
sleep 1.2
check "mount: ... the NFC name is gone" not test -e "$CASEDIR/$nfc"
umount_vault
expect_exit 0 cv noy ls "$CODE" --json
check_eq "after the mount: the CLI sees the NFC names" \
	"$(printf 'S\xc3\xa1o|%s|na\xc3\xafve.txt' "$dir_nfc" | tr '|' '\n' | LC_ALL=C sort | paste -sd'|' -)" \
	"$(jfield "$OUTF" 'o["name"]' | LC_ALL=C sort | paste -sd'|' -)"
expect_exit 0 cv dpo audit verify
finish
