#!/usr/bin/env bash
# Shell completion: the bash completion offers the binary's commands,
# verbs and options (from its --help), the values of options, and case
# codes and paths inside a case only through a running mount of the
# user's session; it writes nothing to disk. The zsh completion loads.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mount_lib.sh"

COMPLETION=$TESTS_DIR/../completion

# `complete_words WORD...`: what the completion offers for the last word,
# sorted, one a line; the first word is the binary.
complete_words() {
	bash --norc --noprofile -c '
		. "$1"; shift
		compopt() { :; }
		COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
		_casevault
		printf "%s\n" "${COMPREPLY[@]}" | sort' _ "$COMPLETION/casevault.bash" "$@"
}
words() { complete_words "$CASEVAULT_BIN" "$@" | tr '\n' ' '; }

check "the bash completion parses" bash -n "$COMPLETION/casevault.bash"
check_contains "commands" "mkdir mount mv " "$(words m)"
check_eq "every command of --help" \
	"$(cvbare --help | awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }' | sort | tr '\n' ' ')" \
	"$(words "")"
check_eq "global options" "--passphrase-file --restored " "$(words --pa ; words --re)"
check_eq "verbs" "add disable list passwd " "$(words user "")"
check_eq "a verb's options" "--code-file --role " "$(words user add noy --)"
check_eq "an option's values" "admin auditor caseworker " "$(words user add noy --role "")"
check_eq "options after a global option's value" "--force " "$(words --vault /x get C-1/a --fo)"
check_contains "a command's short option" "-o" "$(words get C-1/a -)"
check_eq "audit report's options" "--recoveries --revoked " "$(words audit report --re)"
mkdir -p "$T/dirs/sub"
check_eq "a directory for --vault" "$T/dirs/sub " "$(words --vault "$T/dirs/s")"
# (other tests' mounts may run meanwhile: only this test's case is checked)
before=$(words get C-)

# Through a mount: case codes, folders and files, nothing stored.
require_fuse
mount_setup noy "Referral one"
expect_exit 0 cv noy mkdir "$CODE/intake" || finish
printf 'form\n' > "$T/form.txt"
expect_exit 0 cv noy put "$CODE/intake/form one.txt" "$T/form.txt" || finish
expect_exit 0 cv noy put "$CODE/notes.txt" "$T/form.txt" || finish
mount_vault noy || finish
check_not_contains "no case code without a mount" "$CODE" "$before"
check_contains "a case code from the mount" "$CODE/ " "$(words get C-)"
check_eq "a case code alone for grant" "$CODE " "$(words case grant "${CODE:0:4}")"
check_eq "the case's entries" "$CODE/intake/ $CODE/notes.txt " "$(words get "$CODE/")"
check_eq "a folder's files" "$CODE/intake/form one.txt " "$(words ls "$CODE/intake/f")"
check_eq "the mount for umount" "$MNT " "$(words umount "${MNT%/*}/")"
check_not_contains "no file name in the state or temporary directories" "form one" \
	"$(grep -rl 'form one' "${XDG_STATE_HOME:-$T/none}" "$T" 2> /dev/null | grep -v '/mnt/')"
umount_vault
check_not_contains "no case code once unmounted" "$CODE" "$(words get C-)"
verify_ok "after completion through the mount"

# zsh: the completion is a valid script and loads with compinit.
if command -v zsh > /dev/null 2>&1; then
	check "the zsh completion parses" zsh -n "$COMPLETION/_casevault"
	check "the zsh completion loads with compinit" zsh -f -c \
		"fpath=('$COMPLETION' \$fpath); autoload -Uz compinit; compinit -u -d '$T/.zcompdump'; (( \$+functions[_casevault] )) || autoload -Uz _casevault; whence -w _casevault > /dev/null"
fi
finish
