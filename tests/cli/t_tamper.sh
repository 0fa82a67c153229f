#!/usr/bin/env bash
# audit verify on a tampered vault: exit 3, one error line naming the first
# bad event (or record) and a hint; with --json, one object saying so.
# The vault is edited with LMDB's own mdb_dump / mdb_load while it is closed
# (the detailed cases are in tests/unit/test_tamper.c).
. "$(dirname "$0")/lib.sh"

command -v mdb_dump >/dev/null && command -v mdb_load >/dev/null ||
	skip "needs mdb_dump and mdb_load (lmdb-utils)"

mkpass dpo
mkpass alice
expect_exit 0 cv dpo init --admin dpo
add_user dpo alice caseworker
expect_exit 0 cv alice case create --label "Tamper test"
code=${OUT%$'\n'}
printf 'first\n' > "$T/doc"
expect_exit 0 cv alice put "$code/doc.txt" "$T/doc"
printf 'second\n' > "$T/doc"
expect_exit 0 cv alice put "$code/doc.txt" "$T/doc"
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit verify
good_head=$(head_of)
cv dpo audit log --json > "$T/.log" 2>/dev/null
prev_head=$(jfield "$T/.log" 'o["commit"]' | tail -n 2 | head -n 1)
check_match "the log has the events" '^[0-9a-f]{40}$' "$prev_head"

has_json=0
# --json is checked where this casevault has it.
if cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit verify --json > "$T/.json" 2>/dev/null; then
	has_json=1
	json_ok "$T/.json" 'o["ok"] is True'
fi

# Rewrite one record of sub-database DB: KEY_HEX's value through SED_EXPR
# (on the hex dump of the value).
edit_record() {
	local dir=$1 db=$2 key=$3 expr=$4

	mdb_dump -s "$db" "$dir" > "$T/.dump" || return 1
	awk -v key=" $key" -v expr="$expr" '
		BEGIN { split(expr, e, "/") }
		hit { sub(e[1], e[2]); hit = 0 }
		$0 == key { hit = 1 }
		{ print }' "$T/.dump" > "$T/.dump2" || return 1
	cmp -s "$T/.dump" "$T/.dump2" && return 1        # nothing changed
	grep -v '^db_pagesize=' "$T/.dump2" > "$T/.dump"
	mdb_load -s "$db" -f "$T/.dump" "$dir"
}

hexof() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }

# The stored key of record KEY of TABLE, in hex: users and cases lie at
# locators (keyed hashes of their names), computed here with the keys an
# insider holds (rawrec takes them as dpo).
keyof() {   # TABLE KEY
	"$RAWREC_BIN" "$VAULT" dpo "$T/dpo.pass" locate "$1" "$2"
}
rawrec() {  # DIR COMMAND ARGS...
	local dir=$1
	shift
	"$RAWREC_BIN" "$dir" dpo "$T/dpo.pass" "$@"
}

# Each tamper case on its own copy: exit 3, one line + hint.
tampered() {   # DESC NAMES_WHAT
	local desc=$1 want=$2

	expect_exit 3 cvbare --vault "$T/copy" --user dpo --passphrase-file "$T/dpo.pass" audit verify &&
		pass "$desc: exit 3"
	expect_err_hint "$want"
	expect_no_stdout "$desc"
	if [ "$has_json" = 1 ]; then
		cvbare --vault "$T/copy" --user dpo --passphrase-file "$T/dpo.pass" audit verify --json > "$T/.json" 2>/dev/null
		check_eq "$desc: --json exits 3" 3 "$?"
		json_ok "$T/.json" 'o["ok"] is False and o["error"] != ""'
		[ -n "$want" ] && check_contains "$desc: --json names it" "$want" "$(cat "$T/.json")"
	fi
	rm -rf "$T/copy"
}

# 1. A user's role changed (caseworker -> admin): the record differs from the head.
cp -a "$VAULT" "$T/copy"
check "alice's record is at a locator, not under her name" [ "$(keyof users alice)" != "$(hexof alice)" ]
check "role edited" edit_record "$T/copy" users "$(keyof users alice)" "^ 0102/ 0101"
tampered "role changed" "alice"

# 2. The head moved back one event (a rollback): the head is named.
cp -a "$VAULT" "$T/copy"
check "head edited" edit_record "$T/copy" meta "$(hexof head)" "^ 01.*/ 01$prev_head"
tampered "head rolled back" "$prev_head"

# 3. The whole vault rolled back (an old copy): only the anchor catches it.
cp -a "$VAULT" "$T/old"
printf 'third\n' > "$T/doc"
expect_exit 0 cv alice put "$code/doc.txt" "$T/doc"
new_head=$(head_of)
cp -a "$T/old" "$T/copy"
expect_exit 0 cvbare --vault "$T/copy" --user dpo --passphrase-file "$T/dpo.pass" audit verify
expect_exit 3 cvbare --vault "$T/copy" --user dpo --passphrase-file "$T/dpo.pass" audit verify --anchor "$new_head"
expect_err_hint "$new_head"
rm -rf "$T/copy" "$T/old"

# 4. A damaged key-check value (the last before the recovery's epoch,
#    set, threshold and requests, 22 bytes, at the end of the case record,
#    which is sealed under the index key: changed by an insider, who can seal it
#    again): the case record no longer matches the signed history, so the
#    member's read is refused before any key of it is unsealed; exit 3,
#    one line naming the case, and a hint.
cp -a "$VAULT" "$T/copy"
check "key-check value edited" rawrec "$T/copy" flip-sealed cases "$code" -23
expect_exit 3 "$CASEVAULT_BIN" --vault "$T/copy" --user alice --passphrase-file "$T/alice.pass" \
	get "$code/doc.txt"
expect_err_hint "does not match the signed history"
expect_err_hint "$code"
expect_no_stdout "damaged key-check value"
tampered "damaged key-check value" "$code"

# 5. One byte of a stored block's ciphertext flipped (the first block record:
#    a version of doc.txt). The signed manifest commits to the block's hash:
#    verify names the version, the node, the case and the block, with no key;
#    the member's read is refused; --quick, which hashes no block, passes.
flip_block_byte() {   # DIR: the first record of `blocks`, byte 31 of its value: ciphertext
	mdb_dump -s blocks "$1" > "$T/.dump" || return 1
	python3 - "$T/.dump" <<-'PY' || return 1
	import sys
	lines = open(sys.argv[1]).read().split("\n")
	i = lines.index("HEADER=END") + 2          # the first key, then its value
	v = bytearray.fromhex(lines[i].strip())
	v[31] ^= 0x01
	lines[i] = " " + v.hex()
	open(sys.argv[1], "w").write("\n".join(l for l in lines if not l.startswith("db_pagesize=")))
	PY
	mdb_load -s blocks -f "$T/.dump" "$1"
}
cp -a "$VAULT" "$T/copy"
check "block byte flipped" flip_block_byte "$T/copy"
cv alice ls "$code" --json --purpose check > "$T/.ls" 2>/dev/null
node=$(jfield "$T/.ls" 'o["node"]')
expect_exit 3 cvbare --vault "$T/copy" --user dpo --passphrase-file "$T/dpo.pass" audit verify
expect_err_hint "of node $(printf '%016x' "0x$node") (case $code): block 0 does not match its signed hash"
check_contains "the hint says to restore" "restore the vault from a backup" "$ERR"
expect_exit 0 cvbare --vault "$T/copy" --user dpo --passphrase-file "$T/dpo.pass" audit verify --quick
expect_exit 3 "$CASEVAULT_BIN" --vault "$T/copy" --user alice --passphrase-file "$T/alice.pass" \
	get "$code/doc.txt" --purpose check --version 1
expect_no_stdout "the flipped block is not served"
tampered "block byte flipped" "does not match its signed hash"

# 6. Records moved to another's place. Case B's record (sealed at its
#    locator) put where case A's is: alice's next command on A is refused
#    (exit 3) and verify names A. bob's user record put where alice's is:
#    her passphrase opens nothing, and verify names her record.
expect_exit 0 cv alice case create --label "Another case"
code2=${OUT%$'\n'}
cp -a "$VAULT" "$T/copy"
check "case record moved" rawrec "$T/copy" move cases "$code2" "$code"
expect_exit 3 "$CASEVAULT_BIN" --vault "$T/copy" --user alice --passphrase-file "$T/alice.pass" \
	ls "$code" --purpose check
expect_err_hint "$code"
expect_no_stdout "the moved case record"
tampered "case record moved" "$code"
mkpass bob
add_user dpo bob caseworker
cp -a "$VAULT" "$T/copy"
check "user record moved" rawrec "$T/copy" move users bob alice
cvbare --vault "$T/copy" --user alice --passphrase-file "$T/alice.pass" ls --purpose check > /dev/null 2>&1
check "alice's command over bob's record fails" [ "$?" != 0 ]
tampered "user record moved" "alice"

# The vault itself still verifies.
expect_exit 0 cvbare --vault "$VAULT" --user dpo --passphrase-file "$T/dpo.pass" audit verify
check "the good head was a real event" test -n "$good_head"
finish
