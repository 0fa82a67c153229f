# bash completion for casevault(1)
#
# Commands, verbs and options come from the binary's own --help, so they
# follow the binary they complete. Case codes and the paths inside a case
# come only from a running mount of the user's session (a fuse.casevault
# entry of /proc/self/mountinfo): completion never asks for a passphrase
# and keeps nothing on disk. A listing through the mount is recorded by
# the mount as any other listing is.

# The help of the binary in COMP_WORDS[0]: `_casevault_help [CMD [VERB]]`.
_casevault_help()
{
	local bin=${COMP_WORDS[0]}

	[[ $bin == "~/"* ]] && bin=$HOME/${bin#"~/"}
	"$bin" "$@" --help 2> /dev/null
}

# The same into `_cv_text`, once per completion: _casevault's `_cv_key`
# and `_cv_text` keep the last one asked for (in memory, for this
# completion only). Not in a subshell, so that it is kept.
_casevault_load_help()
{
	if [[ $_cv_key != "$*" ]]; then
		_cv_key="$*"
		_cv_text=$(_casevault_help "$@")
	fi
}

# The commands: the "Commands:" block of `casevault --help`.
_casevault_commands()
{
	_casevault_help | awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }'
}

# The verbs of CMD: "casevault CMD VERB" in its usage lines.
_casevault_verbs()
{
	_casevault_help "$1" | awk -v cmd="$1" '
		/^$/ { exit }
		{
			for (i = 1; i < NF; i++)
				if ($i == "casevault" && $(i + 1) == cmd && $(i + 2) ~ /^[a-z][a-z-]*$/)
					print $(i + 2)
		}' | sort -u
}

# The options in a help text on stdin: its usage lines (up to the first
# blank line) and the lines of its option list (those that start with an
# option), each printed with what follows it ("--role admin|caseworker").
_casevault_options()
{
	awk '
		function scan(line,   rest, m) {
			rest = line
			while (match(rest, /(^|[ [(|,])--?[A-Za-z][A-Za-z0-9-]*/)) {
				m = substr(rest, RSTART, RLENGTH)
				sub(/^[ [(|,]/, "", m)
				rest = substr(rest, RSTART + RLENGTH)
				val = ""
				if (match(rest, /^[ =][A-Za-z][^] ,)]*/))
					val = substr(rest, 2, RLENGTH - 1)
				print m, val
			}
		}
		usage && /^$/ { usage = 0 }
		NR == 1 { usage = 1 }
		usage || /^ +-/ { scan($0) }'
}

# The running casevault mounts of this session, one mount point a line.
_casevault_mounts()
{
	local id parent mnt_id root mnt rest fstype

	[[ -r /proc/self/mountinfo ]] || return 0
	while read -r id parent mnt_id root mnt rest; do
		fstype=${rest#* - }
		fstype=${fstype%% *}
		[[ $fstype == fuse.casevault ]] || continue
		printf '%b\n' "${mnt//\\/\\0}"
	done < /proc/self/mountinfo
}

# CODE and CODE/PATH from the mounts: a case's folder is "CODE" or
# "CODE LABEL"; only the code is offered.
_casevault_case_paths()
{
	local cur=$1 mnt dir entry code path base name
	local -a out=()

	if [[ $cur != */* ]]; then
		while IFS= read -r mnt; do
			for entry in "$mnt"/C-*; do
				[[ -d $entry ]] || continue
				code=${entry##*/}
				code=${code%% *}
				[[ $code == "$cur"* ]] && out+=("$code/")
			done
		done < <(_casevault_mounts)
	else
		code=${cur%%/*}
		path=${cur#*/}
		base=${path%/*}
		[[ $path == */* ]] || base=
		name=${path##*/}
		while IFS= read -r mnt; do
			for dir in "$mnt/$code" "$mnt/$code "*; do
				[[ -d $dir ]] || continue
				dir=$dir${base:+/$base}
				for entry in "$dir"/* "$dir"/.[!.]* "$dir"/..?*; do
					[[ -e $entry ]] || continue
					entry=${entry##*/}
					[[ $entry == "$name"* ]] || continue
					entry=$code/${base:+$base/}$entry
					[[ -d $dir/${entry##*/} ]] && entry+=/
					out+=("$entry")
				done
			done
		done < <(_casevault_mounts)
	fi
	((${#out[@]})) || return 0
	printf '%s\n' "${out[@]}" | sort -u
}

# Files (-f) or folders (-d) named by the word being completed.
_casevault_files()
{
	compopt -o filenames 2> /dev/null
	mapfile -t COMPREPLY < <(compgen "$1" -- "$cur")
}

# CODE and CODE/PATH from the mounts, after what COMPREPLY holds. A name
# is a member's choice ('a$(cmd)' is one): readline quotes it as it does
# file names, so that it goes on the command line as data.
_casevault_paths()
{
	local n=${#COMPREPLY[@]}

	mapfile -t -O "$n" COMPREPLY < <(_casevault_case_paths "$cur")
	((${#COMPREPLY[@]} > n)) && compopt -o filenames 2> /dev/null
	compopt -o nospace 2> /dev/null
}

# The case codes alone (an argument that names a case, not a path).
_casevault_codes()
{
	mapfile -t COMPREPLY < <(_casevault_case_paths "$cur" | sed -n 's,/$,,p')
}

_casevault()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=
	local i word cmd= verb= verbs= args=0 opts value line
	local -a help_args=()
	local _cv_key=- _cv_text=

	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()

	# The command, its verb and how many arguments come before the word.
	for ((i = 1; i < COMP_CWORD; i++)); do
		word=${COMP_WORDS[i]}
		if [[ -z $cmd ]]; then
			case $word in
			--vault | --user | --passphrase-file) ((i++)) ;;
			-*) ;;
			*)
				cmd=$word
				verbs=$(_casevault_verbs "$cmd")
				;;
			esac
		elif [[ $word == -* ]]; then
			# an option's value is the next word: as its help says
			_casevault_load_help "$cmd" $verb
			value=$(_casevault_options <<< "$_cv_text" |
				awk -v o="$word" '$1 == o && $2 != "" { print "v"; exit }')
			[[ -n $value && $word != *=* ]] && ((i++))
		elif [[ -n $verbs && -z $verb ]] && grep -qx -- "$word" <<< "$verbs"; then
			verb=$word
		else
			((args++))
		fi
	done
	help_args=($cmd $verb)

	# The value of an option.
	if [[ $prev == -* && $COMP_CWORD -gt 1 ]]; then
		_casevault_load_help "${help_args[@]}"
		line=$(_casevault_options <<< "$_cv_text" |
			awk -v o="$prev" '$1 == o && $2 != "" { print $2; exit }')
		if [[ -n $line ]]; then
			case $line in
			*[A-Z]*DIR* | DIR | DEST) _casevault_files -d ;;
			*\|*) [[ $line == *[A-Z]* ]] || mapfile -t COMPREPLY < <(compgen -W "${line//|/ }" -- "$cur") ;;
			FILE) _casevault_files -f ;;
			CODE) _casevault_codes ;;
			esac
			return 0
		fi
	fi

	if [[ $cur == -* ]]; then
		_casevault_load_help "${help_args[@]}"
		opts=$(_casevault_options <<< "$_cv_text" | awk '{ print $1 }' | sort -u)
		mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
		return 0
	fi
	if [[ -z $cmd ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(_casevault_commands)" -- "$cur")
		return 0
	fi
	if [[ -n $verbs && -z $verb && $args -eq 0 ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$verbs" -- "$cur")
		# `history CODE/PATH`, `backup DEST`: an argument in the verb's place
		[[ $cmd == history ]] && _casevault_paths
		[[ $cmd == backup ]] && mapfile -t -O ${#COMPREPLY[@]} COMPREPLY < <(compgen -d -S / -- "$cur")
		compopt -o nospace 2> /dev/null
		# a verb alone is done (a path goes on, quoted by readline)
		[[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} != */ && ${COMPREPLY[0]} != C-* ]] &&
			COMPREPLY[0]+=" "
		return 0
	fi
	case $cmd in
	mount | backup) ((args == 0)) && _casevault_files -d ;;
	umount) mapfile -t COMPREPLY < <(compgen -W "$(_casevault_mounts)" -- "$cur") ;;
	audit)
		[[ $verb == export || $verb == push ]] && ((args == 0)) && _casevault_files -d
		;;
	help) ((args == 0)) && mapfile -t COMPREPLY < <(compgen -W "$(_casevault_commands)" -- "$cur") ;;
	put)
		if ((args == 0)); then
			_casevault_paths
		elif ((args == 1)); then
			_casevault_files -f
		fi
		;;
	restore)
		if [[ $cur == C-* || ($args -eq 0 && -z $cur) ]]; then
			_casevault_paths
		fi
		((${#COMPREPLY[@]})) || _casevault_files -d
		;;
	*)
		case $verb in
		"")
			((args == 0 || cmd == mv)) || return 0
			_casevault_paths
			;;
		grant | revoke | request) ((args == 0)) && _casevault_codes ;;
		esac
		;;
	esac
	return 0
}
complete -F _casevault casevault
