#!/usr/bin/env bash
# audit export and audit push: the history as a bare git repository that
# stock git checks, and pushed to a witness.
# Every signed event verifies with `git verify-commit` (exit codes, not
# "Good" in the output); the only unsigned events are failed unlocks; a
# second export of an unchanged history writes nothing; a repository whose
# history is not a beginning of the vault's is refused with exit 3.
. "$(dirname "$0")/lib.sh"

command -v git >/dev/null && command -v ssh-keygen >/dev/null || { echo "SKIP: needs git and ssh-keygen"; exit 77; }
export GIT_CONFIG_NOSYSTEM=1 HOME=$T

mkpass dpo
mkpass noy
expect_exit 0 cv dpo init --admin dpo
add_user dpo noy caseworker
expect_exit 0 cv noy case create --label "Export test"
code=${OUT%$'\n'}
printf 'first\n' > "$T/doc"
expect_exit 0 cv noy put "$code/doc.txt" "$T/doc"
expect_exit 0 cv noy get "$code/doc.txt" --purpose check
printf 'wrong passphrase\n' > "$T/bad.pass"
chmod 600 "$T/bad.pass"
expect_exit 5 "$CASEVAULT_BIN" --vault "$VAULT" --user noy --passphrase-file "$T/bad.pass" ls

repo=$T/witness.git
expect_exit 0 cv dpo audit export "$repo"
check_match "export says what it wrote" '^exported [0-9]+ events' "$OUT"
check "a bare repository" test -f "$repo/HEAD" -a -d "$repo/objects"
check "allowed_signers beside it" test -s "$repo/allowed_signers"
check_eq "one signer line per user" 2 "$(grep -c 'namespaces="git" ssh-ed25519 ' "$repo/allowed_signers")"

events=$(cv dpo audit log --json 2>/dev/null | wc -l)
commits=$(git -C "$repo" rev-list --count audit)
check_eq "every event is a commit on 'audit'" "$events" "$commits"
head=$(cv dpo audit verify 2>/dev/null | sed -n 's/.*head \([0-9a-f]*\).*/\1/p')
check_eq "audit is the vault's head" "$head" "$(git -C "$repo" rev-parse audit)"
check "git fsck finds the repository whole" git -C "$repo" fsck --no-dangling
check_eq "the objects are one pack" 1 "$(ls "$repo"/objects/pack/pack-*.pack | wc -l)"
check_eq "with its index" 1 "$(ls "$repo"/objects/pack/pack-*.idx | wc -l)"
check_eq "no loose objects" 0 "$(find "$repo/objects" -path '*/objects/[0-9a-f][0-9a-f]/*' -type f | wc -l)"
check_eq "no temporary files left" 0 "$(find "$repo/objects/pack" -name 'tmp_*' | wc -l)"
check "git verify-pack accepts the pack and its index" \
	git -C "$repo" verify-pack "$(ls "$repo"/objects/pack/pack-*.idx)"

bad=0 unsigned=0
for c in $(git -C "$repo" rev-list audit); do
	if git -C "$repo" verify-commit "$c" >/dev/null 2>&1; then
		continue
	fi
	if [ "$(git -C "$repo" log -1 --format=%s "$c")" = "unlock-failed" ] &&
	   ! git -C "$repo" cat-file commit "$c" | grep -q '^gpgsig '; then
		unsigned=$((unsigned + 1))
	else
		bad=$((bad + 1))
		echo "  does not verify: $(git -C "$repo" log -1 --format='%h %s' "$c")"
	fi
done
check_eq "stock git verify-commit accepts every signed event" 0 "$bad"
check_eq "the one unsigned event is the failed unlock" 1 "$unsigned"

# A forged commit on top: stock git refuses it (a check that can fail).
forged=$(git -C "$repo" cat-file commit audit | sed 's/^Via: cli$/Via: clj/' |
	git -C "$repo" hash-object -t commit -w --stdin)
check "a changed byte fails git verify-commit" \
	sh -c "! git -C '$repo' verify-commit $forged >/dev/null 2>&1"

# Nothing new: nothing written.
before=$(cd "$repo" && find . -type f -exec sha256sum {} + | sort | sha256sum)
expect_exit 0 cv dpo audit export "$repo"
check_match "an unchanged history: up to date" 'is up to date' "$OUT"
after=$(cd "$repo" && find . -type f -exec sha256sum {} + | sort | sha256sum)
check_eq "an unchanged history writes nothing" "$before" "$after"

# New events: only they are added.
printf 'second\n' > "$T/doc"
expect_exit 0 cv noy put "$code/doc.txt" "$T/doc"
expect_exit 0 cv dpo audit export "$repo"
check_match "one more event exported" '^exported 1 events' "$OUT"
check_eq "audit moved to the new head" \
	"$(cv dpo audit verify 2>/dev/null | sed -n 's/.*head \([0-9a-f]*\).*/\1/p')" \
	"$(git -C "$repo" rev-parse audit)"
check "the new event verifies" git -C "$repo" verify-commit audit
check_eq "a second export adds a second pack" 2 "$(ls "$repo"/objects/pack/pack-*.pack | wc -l)"
check "git fsck: still whole" git -C "$repo" fsck --no-dangling

# A crash mid-export leaves a temporary pack behind: the next export and
# stock git work on regardless.
printf 'PACK garbage' > "$repo/objects/pack/tmp_pack_crash1"
printf 'fourth\n' > "$T/doc"
expect_exit 0 cv noy put "$code/doc.txt" "$T/doc"
expect_exit 0 cv dpo audit export "$repo"
check_match "an export after a crash" '^exported 1 events' "$OUT"
check "git fsck after a crash" git -C "$repo" fsck --no-dangling
rm -f "$repo/objects/pack/tmp_pack_crash1"

# A witness whose history is not a beginning of ours: refused, exit 3.
git -C "$repo" update-ref refs/heads/audit "$forged"
before=$(cd "$repo" && find . -type f -exec sha256sum {} + | sort | sha256sum)
expect_exit 3 cv dpo audit export "$repo"
expect_err_hint "not a beginning"
after=$(cd "$repo" && find . -type f -exec sha256sum {} + | sort | sha256sum)
check_eq "a diverged witness is left as it was" "$before" "$after"

# Not a repository, and not empty: refused.
mkdir "$T/notgit"
echo keep > "$T/notgit/file"
expect_exit 1 cv dpo audit export "$T/notgit"
expect_err_hint "cannot"

# Push to a witness (a bare repository made by stock git).
wit=$T/witness-remote.git
git init -q --bare "$wit"
vhead() { cv dpo audit verify 2>/dev/null | sed -n 's/.*head \([0-9a-f]*\).*/\1/p'; }
expect_exit 0 cv dpo audit push "$wit"
check_match "push says it pushed" '^pushed audit ' "$OUT"
check_eq "the witness holds the head" "$(vhead)" "$(git -C "$wit" rev-parse audit)"
check "the witness is whole (git fsck)" git -C "$wit" fsck --no-dangling
expect_exit 0 cv dpo audit push "$wit"
check_match "nothing new: up to date" 'is up to date' "$OUT"
printf 'third\n' > "$T/doc"
expect_exit 0 cv noy put "$code/doc.txt" "$T/doc"
expect_exit 0 cv dpo audit push "file://$wit"
check_eq "a file:// witness gets the new head" "$(vhead)" "$(git -C "$wit" rev-parse audit)"
# A witness holding a commit outside the history: refused, exit 3, left as it was.
other=$(git -C "$wit" cat-file commit audit | sed 's/^Via: cli$/Via: clj/' |
	git -C "$wit" hash-object -t commit -w --stdin)
git -C "$wit" update-ref refs/heads/audit "$other"
expect_exit 3 cv dpo audit push "$wit"
expect_err_hint "not in this vault's history"
check_eq "a diverged witness keeps what it had" "$other" "$(git -C "$wit" rev-parse audit)"
expect_exit 1 cv dpo audit push "$T/no-such-witness.git"
expect_err_hint "witness"

finish
