#!/usr/bin/env bash
# The config file ($XDG_CONFIG_HOME/casevault/config): the vault, user and
# passphrase file it sets, a [vault DIR] section and the mount's options,
# the precedence (option, environment, config), `casevault config`, and
# every bad config refused with its file, line and a hint (exit 2): an
# unknown key (did you mean), a passphrase in it, a file others can write.
. "$(dirname "$0")/lib.sh"

CFG=$XDG_CONFIG_HOME/casevault/config
mkdir -p "$XDG_CONFIG_HOME/casevault"

# write_config LINES...: the config, mode 600
write_config() {
	printf '%s\n' "$@" > "$CFG"
	chmod 600 "$CFG"
}

# bad_config LINE SUBSTR HINT-SUBSTR: `casevault config` refuses it, exit 2,
# naming the file and the line
bad_config() {
	local line=$1 sub=$2 hint=$3

	expect_exit 2 cvbare config || _dump
	expect_err_hint "$CFG:$line: $sub" || _dump
	check_contains "hint for '$sub'" "$hint" "$(sed -n 's/^hint: //p' "$ERRF")"
	expect_no_stdout "bad config: nothing on stdout"
	# Every command reads it, not only `config`.
	expect_exit 2 cvbare ls
	check_contains "ls refuses the bad config too" "$CFG:$line" "$ERR"
}

for u in dpo noy; do
	mkpass "$u"
done
expect_exit 0 cv dpo init --admin dpo || finish
add_user dpo noy caseworker
expect_exit 0 cv dpo purpose require off
expect_exit 0 cv dpo purpose add casework

# --- no config: nothing set, and `config` needs no vault ------------------
expect_exit 0 cvbare config
check_contains "no config: said so" "config           $CFG  (none: not there)" "$OUT"
check_contains "no config: no vault" "vault            -  (not set)" "$OUT"
expect_exit 2 cvbare ls
check_contains "no vault: the hint names the config" "'vault = DIR' in the config" "$ERR"

# --- the config sets vault, user and passphrase file ------------------------
write_config "# the office vault" \
	"vault = $VAULT" \
	"user = noy" \
	"passphrase-file = $T/noy.pass"
expect_exit 0 cvbare case create --label "from the config"
code=${OUT%$'\n'}
check_match "a case made with the config alone" '^C-' "$code"
printf 'hello\n' > "$T/doc.txt"
expect_exit 0 cvbare put "$code/doc.txt" "$T/doc.txt"
expect_exit 0 cvbare ls "$code"
check_contains "ls with the config alone" "doc.txt" "$OUT"
expect_exit 0 cvbare config
check_contains "config: the vault and its line" "vault            $VAULT  (config $CFG:2)" "$OUT"
check_contains "config: the user and its line" "user             noy  (config $CFG:3)" "$OUT"
check_contains "config: the passphrase file and its line" \
	"passphrase-file  $T/noy.pass  (config $CFG:4)" "$OUT"

# "~/" is the home directory; the README's example, as written there.
mkdir -p "$T/.home/.config/casevault"
cp "$T/noy.pass" "$T/.home/.config/casevault/noy.pass"
write_config "# the office laptop" \
	"vault = $VAULT" \
	"user = noy" \
	"# a file of mode 600; never the passphrase itself" \
	"passphrase-file = ~/.config/casevault/noy.pass" \
	"" \
	"# applies when this vault is the one in use" \
	"[vault $VAULT]" \
	"# for \`casevault mount\` and \`umount\` without DIR" \
	"mountpoint = ~/cases" \
	"; given to \`mount\` as --purpose, --idle, and --read-only if yes" \
	"purpose = casework" \
	"idle = 15m" \
	"read-only = no"
expect_exit 0 env HOME="$T/.home" "$CASEVAULT_BIN" ls
check_contains "~/ in passphrase-file: the home directory's" "$code" "$OUT"
expect_exit 0 env HOME="$T/.home" "$CASEVAULT_BIN" config
check_contains "config shows ~/" "passphrase-file  $T/.home/.config/casevault/noy.pass" "$OUT"
check_contains "~/ in the mountpoint" "mountpoint       $T/.home/cases" "$OUT"
check_contains "read-only = no" "read-only        no  (config" "$OUT"
write_config "[vault $VAULT]" "idl = 5m"
bad_config 2 "unknown key 'idl'" "did you mean 'idle'?"
write_config "# the office vault" \
	"vault = $VAULT" \
	"user = noy" \
	"passphrase-file = $T/noy.pass"

# --- precedence: the environment over the config, an option over both -------
expect_exit 0 env CASEVAULT_USER=dpo CASEVAULT_PASSPHRASE_FILE="$T/dpo.pass" "$CASEVAULT_BIN" config
check_contains "environment over config" "user             dpo  (environment CASEVAULT_USER)" "$OUT"
expect_exit 0 env CASEVAULT_USER=dpo CASEVAULT_PASSPHRASE_FILE="$T/dpo.pass" "$CASEVAULT_BIN" user list
check_contains "the environment's user is used (an admin's listing)" "noy caseworker" "$OUT"
expect_exit 0 env CASEVAULT_USER=dpo "$CASEVAULT_BIN" --user noy config
check_contains "option over environment" "user             noy  (option)" "$OUT"
expect_exit 0 env CASEVAULT_USER=dpo "$CASEVAULT_BIN" config --user noy
check_contains "option after the command over environment" "user             noy  (option)" "$OUT"
# An empty variable counts as none: the config's value stands.
expect_exit 0 env CASEVAULT_USER= "$CASEVAULT_BIN" config
check_contains "an empty variable is none" "user             noy  (config $CFG:3)" "$OUT"
# `config` opens nothing: a vault that is not there is shown, not refused.
expect_exit 0 cvbare --vault "$T/nowhere" config
check_contains "config opens no vault" "vault            $T/nowhere  (option)" "$OUT"

# --- a [vault DIR] section: its user, and the mount's options ---------------
mkdir "$T/mnt"
write_config "vault = $VAULT" \
	"user = noy" \
	"passphrase-file = $T/noy.pass" \
	"" \
	"[vault $T/other]" \
	"user = nobody" \
	"" \
	"[vault $VAULT/]" \
	"user = dpo" \
	"passphrase-file = $T/dpo.pass" \
	"mountpoint = $T/mnt" \
	"purpose = no-such-purpose" \
	"idle = 15m" \
	"read-only = yes"
expect_exit 0 cvbare config
check_contains "the vault's section wins over the top" \
	"user             dpo  (config $CFG:9, [vault $VAULT/])" "$OUT"
check_contains "config: a mount option" \
	"purpose          no-such-purpose  (config $CFG:12, [vault $VAULT/], given to mount as --purpose)" "$OUT"
check_contains "config: idle for the mount" \
	"idle             15m  (config $CFG:13, [vault $VAULT/], given to mount as --idle)" "$OUT"
expect_exit 0 cvbare user list
check_contains "the section's user is used" "noy caseworker" "$OUT"
# Another vault's section does not apply; the top's user then does.
expect_exit 0 cvbare --vault "$T/elsewhere" config
check_contains "another vault: the top's user" "user             noy  (config $CFG:2)" "$OUT"
check_contains "another vault: no mount options" "purpose          -  (not set)" "$OUT"

# The mount gets the section's options and mountpoint (the purpose, not in
# the vault's list, is checked before anything is mounted: its error shows
# it was given). Should it mount all the same, it is unmounted at once.
unmount_mnt() {
	if grep -q " $T/mnt " /proc/mounts; then
		fail "mounted with a purpose not in the list"
		cvbare umount "$T/mnt"
	fi
}
write_config "vault = $VAULT" \
	"[vault $VAULT]" \
	"user = noy" \
	"passphrase-file = $T/noy.pass" \
	"mountpoint = $T/mnt" \
	"purpose = no-such-purpose"
expect_exit 2 cvbare mount
unmount_mnt
check_contains "mount: the config's purpose is given" "no-such-purpose" "$ERR"
check_contains "mount: on the config's mountpoint" "'$T/mnt'" "$ERR"
# The command line's DIR wins: a DIR that is not there names that DIR.
expect_exit 1 cvbare mount "$T/elsewhere"
check_contains "mount DIR: the command line's" "$T/elsewhere" "$ERR"
check_not_contains "mount DIR: the config's not added" "too many" "$ERR"
write_config "vault = $VAULT" \
	"[vault $VAULT]" \
	"user = noy" \
	"passphrase-file = $T/noy.pass" \
	"mountpoint = $T/not-there" \
	"purpose = no-such-purpose"
expect_exit 1 cvbare mount
check_contains "mount: the config's mountpoint is used" "'$T/not-there'" "$ERR"
# An option on the command line wins over the config's.
expect_exit 1 cvbare mount --purpose other-purpose "$T/not-there"
check_contains "mount --purpose: still checks the mountpoint" "not-there" "$ERR"
expect_exit 0 cvbare umount --help

# --- bad configs: the file, the line, a hint; exit 2 ------------------------
write_config "vault = $VAULT" "vaul = $VAULT"
bad_config 2 "unknown key 'vaul'" "did you mean 'vault'?"
write_config "user = noy" "color = blue"
bad_config 2 "unknown key 'color'" "the keys are"
write_config "vault = $VAULT" "passphrase = hunter2 hunter2"
bad_config 2 "a passphrase in the config" "never write a passphrase into the config"
check_not_contains "the passphrase is not repeated" "hunter2" "$ERR"
write_config "password = x"
bad_config 1 "a passphrase in the config" "passphrase-file = FILE"
write_config "vault $VAULT"
bad_config 1 "not a setting" "key = value"
write_config "[vault]"
bad_config 1 "not a section" "[vault DIR]"
write_config "[case C-1]"
bad_config 1 "not a section" "[vault DIR]"
write_config "vault = relative/dir"
bad_config 1 "not an absolute path" "from / or ~/"
write_config "user = noy" "user = dpo"
bad_config 2 "set twice" "the first is line 1"
write_config "mountpoint = $T/mnt"
bad_config 1 "only in a [vault DIR] section" "in a [vault DIR] section"
write_config "[vault $VAULT]" "vault = $VAULT"
bad_config 2 "not a key of a section" "before the first"
write_config "[vault $VAULT]" "read-only = maybe"
bad_config 2 "not yes or no" "yes or no"
write_config "user ="
bad_config 1 "no value for" "give it a value"
# `help` needs no config: it works when the config is bad.
expect_exit 0 cvbare help
expect_exit 0 cvbare --help

# --- the attack: a config others can write chooses your vault ----------------
# Mallory (in the group) points the config at her vault: refused, whatever
# it says.
write_config "vault = $VAULT" "user = noy" "passphrase-file = $T/noy.pass"
chmod 620 "$CFG"
expect_exit 2 cvbare ls
expect_err_hint "can be changed by others (mode 0620)"
check_contains "the hint says how to fix it" "chmod go-w" "$ERR"
chmod 602 "$CFG"
expect_exit 2 cvbare config
expect_err_hint "can be changed by others (mode 0602)"
chmod 644 "$CFG"
expect_exit 0 cvbare ls
check_contains "a config others can read is fine (it holds no secret)" "$code" "$OUT"
if [ "$(id -u)" = 0 ]; then
	chown nobody "$CFG"
	expect_exit 2 cvbare ls
	expect_err_hint "belongs to another user"
	chown 0 "$CFG"
fi
rm "$CFG"
mkdir "$CFG"
expect_exit 2 cvbare config
expect_err_hint "is not a regular file"
rmdir "$CFG"

# Honest use still verifies.
expect_exit 0 cv dpo audit verify
finish
