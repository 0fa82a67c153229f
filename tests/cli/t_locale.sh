#!/usr/bin/env bash
# Messages in Lao and Thai (gettext). The catalogs are complete: every
# message of the sources (po/POTFILES) is in po/casevault.pot, and each
# catalog of po/LINGUAS translates every one of them, none fuzzy, with
# format specifiers msgfmt accepts. A caseworker whose locale is Lao or
# Thai reads errors, hints and help in it; exit codes, listings, times and
# --json stay as in English; an unknown locale and LC_ALL=C give English.

# The catalogs the build compiled, beside the binary (lib.sh copies the binary).
bin=${CASEVAULT_BIN:-$(dirname "$0")/../../build/casevault}
CASEVAULT_LOCALEDIR=$(cd "$(dirname "$bin")" && pwd)/locale
export CASEVAULT_LOCALEDIR
. "$(dirname "$0")/lib.sh"
src=$(dirname "$TESTS_DIR")

for tool in xgettext msgfmt msgattrib msgcat; do
	command -v "$tool" >/dev/null || { fail "$tool is missing: run tests/deps.sh (package gettext)"; finish; }
done

# --- the catalogs -------------------------------------------------------------

# msgids FILE: its messages, sorted, one "msgid" block each (no locations).
msgids() {
	msgattrib --no-obsolete --no-location --no-wrap --sort-output "$1" |
		sed -n '/^msgid /,/^msgstr/p' | grep -v '^msgstr'
}

sh "$src/po/make-pot.sh" "$T/.now.pot" 2> "$T/.xgettext.err"
check_eq "xgettext runs without warnings" "" "$(cat "$T/.xgettext.err")"
if ! diff <(msgids "$src/po/casevault.pot") <(msgids "$T/.now.pot") > "$T/.potdiff"; then
	fail "po/casevault.pot is not up to date with the sources: run po/update-po.sh"
	sed 's/^/    /' "$T/.potdiff" >&2
else
	pass "po/casevault.pot holds the messages of the sources"
fi
nmsg=$(msgids "$src/po/casevault.pot" | grep -c '^msgid ')
check "the template holds the caseworker's messages (more than 200)" test "$nmsg" -gt 200

for lang in $(cat "$src/po/LINGUAS"); do
	po=$src/po/$lang.po
	check "po/$lang.po exists" test -f "$po"
	check_eq "po/$lang.po has the messages of the template" \
		"$(msgids "$src/po/casevault.pot")" "$(msgids "$po")"
	check_eq "po/$lang.po: no message untranslated" "" \
		"$(msgattrib --untranslated --no-obsolete "$po" | grep '^msgid ' | grep -v '^msgid ""$')"
	check_eq "po/$lang.po: no message fuzzy" "" "$(msgattrib --only-fuzzy --no-obsolete "$po")"
	check "po/$lang.po: formats and header pass msgfmt --check" \
		msgfmt --check -o /dev/null "$po"
	check "the build compiled the $lang catalog" test -s "$CASEVAULT_LOCALEDIR/$lang/LC_MESSAGES/casevault.mo"
done

# --- casevault in Lao and Thai --------------------------------------------------

for loc in lo_LA th_TH; do
	if ! locale -a | grep -qx "$loc.utf8"; then
		fail "the locale $loc.UTF-8 is missing: run tests/deps.sh (it generates it)"
		finish
	fi
done

# in_lang LANG CMD...: CMD with LANG as the user's locale.
in_lang() {
	local lang=$1
	shift
	(unset LC_ALL LANGUAGE; export LANG=$lang; "$@")
}

for u in dpo noy som; do
	mkpass "$u"
done
expect_exit 0 cv dpo init --admin dpo
add_user dpo noy caseworker
add_user dpo som caseworker
expect_exit 0 cv dpo purpose add followup
expect_exit 0 cv noy case create --label "ວຽງຈັນ"
code=${OUT%$'\n'}
expect_exit 0 cv noy mkdir "$code/notes"
printf 'ບົດບັນທຶກ\n' > "$T/note"
expect_exit 0 cv noy put "$code/notes/a.txt" "$T/note"

# `ls` without a vault: the error and its hint in Lao, the prefixes kept.
expect_exit 2 in_lang lo_LA.UTF-8 cvbare --user noy ls
expect_err_hint "ບໍ່ໄດ້ລະບຸຄັງຂໍ້ມູນ"
check_contains "the hint is in Lao" \
	"hint: ໃຊ້ --vault DIR, ຕັ້ງ CASEVAULT_DIR ຫຼື ຕັ້ງ 'vault = DIR' ໃນໄຟລ໌ຕັ້ງຄ່າ" "$ERR"

# `ls` of a case without a purpose: refused in Lao, exit 2 as in English.
SNAP_USER=noy SNAP_LS=$code
fails_cleanly 2 "ບໍ່ສາມາດສະແດງລາຍການ '$code' ໄດ້" in_lang lo_LA.UTF-8 cv noy ls "$code"
check_contains "the purpose hint is in Lao" "hint: ບໍ່ມີຫຍັງຖືກບັນທຶກ ຫຼື ສະແດງ" "$ERR"

# Not a member: refused in Thai (exit 4), the library's detail in Thai too;
# in English, the same error is the English one.
fails_cleanly 4 "ไม่สามารถอ่าน '$code/notes/a.txt' ได้: ผู้ใช้ 'som' ไม่ได้เป็นสมาชิกของเคส '$code'" \
	in_lang th_TH.UTF-8 cv som get "$code/notes/a.txt" --purpose followup
check_contains "the access hint is in Thai" "hint: ขอให้ผู้ดูแลระบบ (DPO) ให้สิทธิ์คุณเข้าถึงเคส $code" "$ERR"
fails_cleanly 4 "cannot read '$code/notes/a.txt': user 'som' is not a member of case '$code'" \
	in_lang C.UTF-8 cv som get "$code/notes/a.txt" --purpose followup

# A refusal whose words the library chooses at run time (the user's role,
# their status) is one whole sentence in the reader's language: the error
# line holds no English word outside its quoted names. The hint matching
# reads the English, which stays as it was.
# english_words LINE: LINE without "casevault: " and its quoted names.
english_words() {
	printf '%s\n' "$1" | sed "s/^casevault: //; s/'[^']*'//g" | tr -cd 'A-Za-z'
}
fails_cleanly 4 "ไม่สามารถให้สิทธิ์ 'dpo' เข้าถึงเคส '$code' ได้: ผู้ใช้ 'dpo' เป็นผู้ดูแลระบบและเป็นสมาชิกเคสไม่ได้" \
	in_lang th_TH.UTF-8 cv dpo case grant "$code" dpo
check_eq "granting an admin a case: no English in the Thai error" "" "$(english_words "$(_err_lines | sed -n 1p)")"
check_contains "its hint is the one for admins and auditors, in Thai" "hint: ผู้ดูแลระบบและผู้ตรวจสอบไม่ถือกุญแจเคส" "$ERR"
fails_cleanly 4 "cannot grant 'dpo' access to case '$code': user 'dpo' is an admin and cannot be a case member" \
	in_lang C.UTF-8 cv dpo case grant "$code" dpo
mkpass lek
add_user dpo lek caseworker
expect_exit 0 cv dpo user disable lek
fails_cleanly 1 "ບໍ່ສາມາດໃຫ້ສິດ 'lek' ເຂົ້າເຖິງກໍລະນີ '$code' ໄດ້: ຜູ້ໃຊ້ 'lek' ຖືກປິດແລ້ວ ແລະ ບໍ່ສາມາດເປັນສະມາຊິກກໍລະນີໄດ້" \
	in_lang lo_LA.UTF-8 cv dpo case grant "$code" lek
check_eq "granting a disabled user: no English in the Lao error" "" "$(english_words "$(_err_lines | sed -n 1p)")"
check_contains "its hint is the one for disabled users, in Lao" "hint: ຜູ້ໃຊ້ທີ່ຖືກປິດບໍ່ໄດ້ຮັບສິດເຂົ້າເຖິງ" "$ERR"

# A usage error of the option parser, in Thai.
fails_cleanly 2 "ไม่รู้จักตัวเลือก '--nosuch'" in_lang th_TH.UTF-8 cv noy ls --nosuch
check_contains "the usage hint names the command, in Thai" "hint: รัน 'casevault ls --help' เพื่อดูวิธีใช้" "$ERR"

# A near option name: the did-you-mean hint in Thai.
fails_cleanly 2 "ไม่รู้จักตัวเลือก '--purpse'" in_lang th_TH.UTF-8 cv noy ls "$code" --purpse followup
check_contains "did you mean, in Thai" "hint: คุณหมายถึง '--purpose' ใช่ไหม?" "$ERR"

# rm -r asks first. Without a terminal it is refused, in Lao (exit 2);
# at a terminal the question is in Lao, and the locale's own yes (ແມ່ນ)
# answers it as y does; Thai "ไม่" (no) is a no.
fails_cleanly 2 "ຈະບໍ່ລຶບ '$code/notes' ພ້ອມ 1 ໄຟລ໌ ແລະ 0 ໂຟນເດີທີ່ຢູ່ໃນນັ້ນ ໂດຍບໍ່ມີການຢືນຢັນ" \
	in_lang lo_LA.UTF-8 cv noy rm -r "$code/notes" < /dev/null
check_contains "the --yes hint is in Lao" "hint: ໃຊ້ --yes ເພື່ອເຮັດໂດຍບໍ່ຖາມ (ສຳລັບສະຄຣິບ)" "$ERR"
expect_exit 0 cv noy mkdir "$code/old"
expect_exit 0 cv noy put "$code/old/b.txt" "$T/note"
snapshot
expect_exit 1 in_lang th_TH.UTF-8 at_tty --wait-for "[y/N]" --send '\xe0\xb9\x84\xe0\xb8\xa1\xe0\xb9\x88\n' \
	noy rm -r "$code/old"
check_contains "the question is in Thai" "ลบ '$code/old' พร้อม 1 ไฟล์และ 0 โฟลเดอร์ที่อยู่ข้างใน หรือไม่? [y/N]" "$OUT"
check_contains "a Thai no is a no" "ไม่ได้ลบ '$code/old'" "$OUT"
expect_unchanged "rm -r answered no in Thai: nothing removed"
expect_exit 0 in_lang lo_LA.UTF-8 at_tty --wait-for "[y/N]" \
	--send '\xe0\xbb\x81\xe0\xba\xa1\xe0\xbb\x88\xe0\xba\x99\n' noy rm -r "$code/old"
check_contains "the question is in Lao" "ລຶບ '$code/old' ພ້ອມ 1 ໄຟລ໌ ແລະ 0 ໂຟນເດີທີ່ຢູ່ໃນນັ້ນ ບໍ? [y/N]" "$OUT"
expect_exit 1 cv noy ls "$code/old" --purpose followup
check_contains "the Lao yes removed it" "does not exist" "$ERR"

# The mount refuses a folder that is not empty, in Lao (before any FUSE).
mkdir "$T/full" && : > "$T/full/x"
fails_cleanly 1 "ມັນບໍ່ຫວ່າງເປົ່າ" in_lang lo_LA.UTF-8 cv noy mount "$T/full" --purpose followup
check_contains "the mount's hint is in Lao" "hint: ເລືອກໄດເຣັກທໍຣີທີ່ຫວ່າງເປົ່າ" "$ERR"

# Help: the command list and a command's help.
expect_exit 0 in_lang lo_LA.UTF-8 cvbare --help
check_contains "--help in Lao" "ສະແດງກໍລະນີຂອງທ່ານເປັນໂຟນເດີ (FUSE)" "$OUT"
expect_exit 0 in_lang th_TH.UTF-8 cvbare get --help
check_contains "get --help in Thai" "วิธีใช้: casevault get CODE/PATH" "$OUT"
expect_exit 0 in_lang lo_LA.UTF-8 cvbare mount --help
check_contains "mount --help in Lao" "ສະແດງກໍລະນີຂອງທ່ານເປັນໂຟນເດີພາຍໃຕ້ DIR" "$OUT"

# What scripts read is the same in every language: listings, sizes, times, JSON.
for args in "ls --purpose followup" "ls $code/notes --purpose followup" "ls $code/notes --purpose followup --json" \
	"history $code/notes/a.txt" "get $code/notes/a.txt --purpose followup"; do
	# shellcheck disable=SC2086
	expect_exit 0 cv noy $args
	want=$OUT
	# shellcheck disable=SC2086
	expect_exit 0 in_lang lo_LA.UTF-8 cv noy $args
	check_eq "'$args' prints the same in Lao" "$want" "$OUT"
done

# A config file's error: the sentence and its hint in Lao, the key quoted.
mkdir -p "$XDG_CONFIG_HOME/casevault"
printf 'vaul = %s\n' "$VAULT" > "$XDG_CONFIG_HOME/casevault/config"
fails_cleanly 2 "config:1: ບໍ່ຮູ້ຈັກຄີ 'vaul'" in_lang lo_LA.UTF-8 cvbare config
check_contains "the config's hint is in Lao" "hint: ທ່ານໝາຍເຖິງ 'vault' ບໍ?" "$ERR"
rm "$XDG_CONFIG_HOME/casevault/config"

# English where no catalog or no locale applies.
expect_exit 2 in_lang xx_YY.UTF-8 cv noy ls --nosuch
check_contains "an unknown locale gives English" "unknown option '--nosuch'" "$ERR"
expect_exit 2 cv noy ls --nosuch
check_contains "LC_ALL=C gives English" "unknown option '--nosuch'" "$ERR"
expect_exit 2 in_lang C.UTF-8 env LANGUAGE=th "$CASEVAULT_BIN" nosuch
check_contains "LANGUAGE chooses the catalog under C.UTF-8" "ไม่รู้จักคำสั่ง 'nosuch'" "$ERR"

# --- the history verifies -----------------------------------------------------
expect_exit 0 cv dpo audit verify

finish
