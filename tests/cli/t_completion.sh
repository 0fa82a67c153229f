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

# The same for zsh: _casevault called as compsys would, with compadd and
# _files replaced by functions that print what they are given (compadd
# what matches the prefix, as the builtin would).
zwords() {
	command -v zsh > /dev/null 2>&1 || return 0
	zsh -f -c '
		fpath=("$1" $fpath); shift
		compadd() {
			while (( $# )) && [[ $1 != -- ]]; do
				[[ $1 == -[SPJXxq] ]] && shift
				shift
			done
			shift
			for w in "$@"; do [[ $w == ${PREFIX}* ]] && print -r -- $w; done
		}
		_files() { print -r -- "(files${1:+ $1})"; }
		autoload -Uz _casevault
		words=("$@"); CURRENT=$#words; PREFIX=$words[-1]
		_casevault' _ "$COMPLETION" "$CASEVAULT_BIN" "$@" | sort | tr '\n' ' '
}
# `quoting WORD...`: how each shell would put what it offers for the last
# word on the command line: bash quotes it when its completion asks for
# filenames' treatment ("quoted"), zsh unless compadd is given -Q ("raw").
quoting() {
	bash --norc --noprofile -c '
		. "$1"; shift
		compopt() { [[ " $* " == *" -o filenames "* ]] && filenames=1; }
		COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
		_casevault
		echo "bash: ${filenames:+quoted}${filenames:-raw}"' _ "$COMPLETION/casevault.bash" "$CASEVAULT_BIN" "$@"
	command -v zsh > /dev/null 2>&1 || return 0
	zsh -f -c '
		fpath=("$1" $fpath); shift
		compadd() { [[ " $* " == *" -Q "* ]] && raw=1; }
		_files() { :; }
		autoload -Uz _casevault
		words=("$@"); CURRENT=$#words; PREFIX=$words[-1]
		_casevault
		print -r -- "zsh: ${${raw:+raw}:-quoted}"' _ "$COMPLETION" "$CASEVAULT_BIN" "$@"
}

# `both DESC WANT WORD...`: bash and zsh offer WANT
both() {
	local desc=$1 want=$2

	shift 2
	check_eq "bash: $desc" "$want" "$(words "$@")"
	command -v zsh > /dev/null 2>&1 && check_eq "zsh: $desc" "$want" "$(zwords "$@")"
}

check "the bash completion parses" bash -n "$COMPLETION/casevault.bash"
# bash-completion loads it on demand, by the name it is installed under
# (completion/CMakeLists.txt: completions/casevault).
if [ -r /usr/share/bash-completion/bash_completion ]; then
	mkdir -p "$T/bc/completions"
	cp "$COMPLETION/casevault.bash" "$T/bc/completions/casevault"
	check_contains "bash-completion loads it for the command casevault" "complete -F _casevault casevault" \
		"$(BASH_COMPLETION_USER_DIR=$T/bc bash --norc --noprofile -c '
			. /usr/share/bash-completion/bash_completion
			__load_completion casevault && complete -p casevault' 2>&1)"
fi
check_contains "commands" "mkdir mount mv " "$(words m)"
check_eq "every command of --help" \
	"$(cvbare --help | awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }' | sort | tr '\n' ' ')" \
	"$(words "")"
check_eq "global options" "--passphrase-file --restored " "$(words --pa ; words --re)"
both "global options (zsh too)" "--restored " --re
both "commands after help" "mkdir mount mv " help m
check_eq "zsh: a folder for --vault" "(files -/) " "$(zwords --vault "")"
both "verbs" "add disable enable list passwd " user ""
both "a verb's options" "--code-file --role " user add noy --
both "an option's values" "admin auditor caseworker " user add noy --role ""
both "options after a global option's value" "--force " --vault /x get C-1/a --fo
both "a command's options, short ones too" "--at --force --purpose --recursive --version -o -r " get C-1/a -
both "audit report's options" "--recoveries --revoked " audit report --re
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
# A member names a file as they like: a name the shell would run
# (command substitution) must reach the command line quoted.
evil='run$(touch${IFS}pwned)'
expect_exit 0 cv noy put "$CODE/$evil" "$T/form.txt" || finish
mount_vault noy || finish
check_not_contains "no case code without a mount" "$CODE" "$before"
check_contains "bash: a case code from the mount" "$CODE/ " "$(words get C-)"
command -v zsh > /dev/null 2>&1 && check_contains "zsh: a case code from the mount" "$CODE/ " "$(zwords get C-)"
both "a case code alone for grant" "$CODE " case grant "${CODE:0:6}"
both "the case's entries" "$CODE/intake/ $CODE/notes.txt $CODE/$evil " get "$CODE/"
for c in "get $CODE/r" "put $CODE/r" "history $CODE/r" "mv $CODE/notes.txt $CODE/r"; do
	# shellcheck disable=SC2086 # the words of the command line
	q=$(quoting $c)
	check_not_contains "a name from the vault goes on the line quoted: $c" raw "$q"
done
both "a folder's files" "$CODE/intake/form one.txt " ls "$CODE/intake/f"
both "the mount for umount" "$MNT " umount "${MNT%/*}/"
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
