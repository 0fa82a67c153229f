#!/usr/bin/env bash
# The manual cannot drift from the binary: every command, verb and option
# that `casevault --help`, `casevault COMMAND --help` and `casevault
# COMMAND VERB --help` print is in man/casevault.1.scd, in the section of
# its command, and every option the page names is one the binary knows.
# Then the pages built from it (build/man/) render without a warning.
#
# Adding an option: put it in the command's usage or option list (what
# --help prints) and in the command's "## COMMAND" section of
# man/casevault.1.scd. This test names what is missing, and where.
# The pages are built beside the binary ctest gives (lib.sh runs a copy).
MAN_BUILT=${MAN_BUILT:-$(dirname "${CASEVAULT_BIN:-$(dirname "$0")/../../build/casevault}")/man}
. "$(dirname "$0")/lib.sh"

MAN_SRC=$TESTS_DIR/../man

# What the binary says of itself: one "== CMD [VERB]" header, then its help.
helps=$T/.helps
{
	echo "=="
	cvbare --help
	for cmd in $(cvbare --help | awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }'); do
		echo "== $cmd"
		cvbare "$cmd" --help
		for verb in $(cvbare "$cmd" --help | awk -v cmd="$cmd" '/^$/ { exit }
			{ for (i = 1; i < NF; i++) if ($i == "casevault" && $(i + 1) == cmd && $(i + 2) ~ /^[a-z][a-z-]*$/) print $(i + 2) }' | sort -u); do
			echo "== $cmd $verb"
			cvbare "$cmd" "$verb" --help
		done
	done
} > "$helps" 2>&1
check "the commands print their help" grep -q '^== put$' "$helps"

drift() {
	python3 - "$1" "$2" <<'PY'
import re, sys
from collections import defaultdict

helps, page = open(sys.argv[1]).read(), open(sys.argv[2]).read()
OPT_HELP = re.compile(r'(?:^|(?<=[\s\[(|,]))(--?[A-Za-z][\w-]*)')
OPT_PAGE = re.compile(r'(?<![\w-])(--?[A-Za-z][\w-]*)')

def help_options(text):
    """Options in the usage lines (up to the first blank line) and in the
    lines of the option list (those that start with an option)."""
    lines = text.split('\n')
    end = lines.index('') if '' in lines else len(lines)
    found = set()
    for i, line in enumerate(lines):
        if i < end or re.match(r'\s+-', line):
            found.update(OPT_HELP.findall(line))
    return found

# The help of each command and verb.
blocks = re.split(r'^== ?(.*)$', helps, flags=re.M)[1:]
commands, verbs, options = [], defaultdict(set), defaultdict(set)
for name, text in zip(blocks[0::2], blocks[1::2]):
    words = name.split()
    text = text.lstrip('\n')
    if not words:
        glob, main_help = help_options(text), text
        continue
    if text == main_help:       # `casevault help --help`: the usage
        commands.append(words[0])
        continue
    if len(words) == 1:
        commands.append(words[0])
    else:
        verbs[words[0]].add(words[1])
    options[words[0]] |= {(o, name) for o in help_options(text)}

# The page: its command sections ("## NAME" under "# COMMANDS"), the rest.
sections, rest, current, in_commands = {}, [], None, False
for line in page.split('\n'):
    if line.startswith('# '):
        in_commands, current = line.strip() == '# COMMANDS', None
    elif line.startswith('## ') and in_commands:
        current = line[3:].strip()
        sections[current] = ''
        continue
    if current:
        sections[current] += line + '\n'
    else:
        rest.append(line)
rest = '\n'.join(rest)
m = re.search(r'^# GLOBAL OPTIONS$(.*?)^# ', page, flags=re.M | re.S)
global_text = m.group(1) if m else ''

def has_option(text, opt):
    return opt in OPT_PAGE.findall(text)

errors = []
for opt in sorted(glob):
    if not has_option(global_text, opt):
        errors.append("global option %s ('casevault --help') is not in '# GLOBAL OPTIONS'" % opt)
for cmd in commands:
    if cmd not in sections:
        errors.append("command '%s' ('casevault --help') has no '## %s' section" % (cmd, cmd))
        continue
    text = sections[cmd]
    for verb in sorted(verbs[cmd]):
        if not re.search(r'(?<![\w-])%s(?![\w-])' % re.escape(verb), text):
            errors.append("verb '%s %s' is not in section '## %s'" % (cmd, verb, cmd))
    for opt, where in sorted(options[cmd]):
        if not has_option(text, opt):
            errors.append("option %s ('casevault %s --help') is not in section '## %s'" % (opt, where, cmd))
for name in sections:
    if name not in commands:
        errors.append("section '## %s' is not a command of 'casevault --help'" % name)
# The reverse: a section may name another command's option ('audit verify
# --anchor' in init's), never one that no --help knows.
every = glob | {o for s in options.values() for o, _ in s}
for name, text in sections.items():
    for opt in sorted(set(OPT_PAGE.findall(text)) - every):
        errors.append("section '## %s' names %s, which no --help knows" % (name, opt))
for opt in sorted(set(OPT_PAGE.findall(rest)) - every):
    errors.append("the page names %s, which no --help knows" % opt)
# The environment variables any --help names, and the exit codes.
def section(title):
    m = re.search(r'^# %s$(.*?)(?=^# |\Z)' % title, page, flags=re.M | re.S)
    return m.group(1).replace('\\', '') if m else ''
env = section('ENVIRONMENT')
for var in sorted(set(re.findall(r'\b(CASEVAULT_[A-Z_]+|TMPDIR)\b', helps))):
    if '*%s*' % var not in env:
        errors.append("environment variable %s (a --help names it) is not in '# ENVIRONMENT'" % var)
m = re.search(r'^Exit codes:(.*?)\n\n', main_help, flags=re.M | re.S)
status = section('EXIT STATUS')
for code in re.findall(r'(\d+) [a-z]', m.group(1) if m else ''):
    if '*%s*' % code not in status:
        errors.append("exit code %s ('casevault --help') is not in '# EXIT STATUS'" % code)
if not m:
    errors.append("'casevault --help' lists no exit codes")
for e in errors:
    print(e)
sys.exit(1 if errors else 0)
PY
}

# The drift check passes, and fails when a side lacks an option.
out=$(drift "$helps" "$MAN_SRC/casevault.1.scd")
check_eq "every command, verb and option of --help is in casevault(1), and the reverse" "" "$out"
sed 's/\*--force\*/*--forced*/g' "$MAN_SRC/casevault.1.scd" > "$T/.page"
out=$(drift "$helps" "$T/.page")
check_contains "an option --help has and the page lacks is named" \
	"option --force ('casevault get --help') is not in section '## get'" "$out"
check_contains "an option the page has and --help lacks is named" \
	"section '## get' names --forced, which no --help knows" "$out"
sed 's/^\*CASEVAULT\\_MAP\\_SIZE\*$/*MAP\\_SIZE*/; s/^\*5\*$/*6*/' "$MAN_SRC/casevault.1.scd" > "$T/.page"
out=$(drift "$helps" "$T/.page")
check_contains "an environment variable the page lacks is named" \
	"environment variable CASEVAULT_MAP_SIZE (a --help names it) is not in '# ENVIRONMENT'" "$out"
check_contains "an exit code the page lacks is named" "exit code 5 ('casevault --help') is not in '# EXIT STATUS'" "$out"
sed 's/^## umount$/## unmount/' "$MAN_SRC/casevault.1.scd" > "$T/.page"
out=$(drift "$helps" "$T/.page")
check_contains "a command without its section is named" "command 'umount' ('casevault --help') has no '## umount' section" "$out"
sed 's/rotate-key/rotate/g' "$MAN_SRC/casevault.1.scd" > "$T/.page"
out=$(drift "$helps" "$T/.page")
check_contains "a verb the page lacks is named" "verb 'history rotate-key' is not in section '## history'" "$out"

# The built pages render without a warning, at 80 columns as man shows them.
if [ ! -f "$MAN_BUILT/casevault.1" ]; then
	if [ "${CI:-}" = true ]; then
		fail "the manual pages were not built (is scdoc installed? tests/deps.sh installs it)"
	else
		finish_skip=1
	fi
else
	for page in casevault.1 casevault.5 casevault.7; do
		check "$page was built" test -s "$MAN_BUILT/$page"
		warn=$(MANWIDTH=80 man --warnings -l "$MAN_BUILT/$page" 2>&1 > /dev/null)
		check_eq "man --warnings -l $page: no warning" "" "$warn"
		warn=$(groff -ww -z -man "$MAN_BUILT/$page" 2>&1)
		check_eq "groff -ww -z -man $page: no warning" "" "$warn"
		check_contains "$page renders" "casevault" "$(MANWIDTH=80 man -l "$MAN_BUILT/$page" 2> /dev/null)"
	done
	check_contains "casevault(1) lists the exit codes" "Authentication failed" \
		"$(MANWIDTH=80 man -l "$MAN_BUILT/casevault.1" 2> /dev/null)"
fi
[ "${finish_skip:-0}" = 1 ] && skip "scdoc is missing: the pages were not built (apt-get install scdoc)"
finish
