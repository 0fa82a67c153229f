#!/usr/bin/env bash
# Real tools on the mount, in a case folder: each must exit 0, leave the
# right content, and leave a history that `audit verify` accepts (every
# honest use must verify). The tools: vim (several save paths, scripted and
# driven through tmux with its defaults), nano (through tmux), sqlite3
# (rollback journal and WAL), git, rsync -a and -aX (and an update), tar x
# and c, cp -a, mv between two cases, python's NamedTemporaryFile +
# os.replace over a file (also with a descriptor held open on it),
# perl -pi; and rsync's pattern alone: times and modes set by path while
# another process closes the files.
#
# Each tool works in a folder of its own; a history that does not verify
# stays so, so after a verify failure the next tool starts on a fresh vault
# (each verify failure is then its tool's own). A tool that is not
# installed is a failure (tests/deps.sh installs them).
#
#   TOOLS=a,b     run only these (names as in the list at the end)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mount_lib.sh"

require_fuse
export HOME=$T/home GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
mkdir -p "$HOME"

CODE2=
CASE2=
# A fresh vault: caseworker noy with two cases, mounted.
new_vault() {
	[ -n "$CODE" ] && next_vault
	mount_setup noy "Tools"
	expect_exit 0 cv noy case create --label "Tools two" || finish
	CODE2=$(printf '%s' "$OUT" | head -n 1)
	mount_vault noy || finish
	CASE2=$(find "$MNT" -mindepth 1 -maxdepth 1 -name "$CODE2*" | head -n 1)
	check "the second case folder is on the mount" test -d "$CASE2"
}
new_vault

# run_ok NAME CMD...: CMD (2 minutes at most) exits 0 (a check).
run_ok() {
	local name=$1
	shift
	timeout -k 5 120 "$@" > "$OUTF" 2> "$ERRF" < /dev/null
	RC=$?
	if [ "$RC" -eq 0 ]; then
		pass "$name: exits 0"
		return 0
	fi
	fail "$name: exits 0, got $RC ($(_show "$*" | head -c 200))"
	_dump
	return 1
}

# same_file NAME WANT GOT: GOT has WANT's content (a check).
same_file() {
	if cmp -s "$2" "$3"; then
		pass "$1: the content is right"
		return 0
	fi
	fail "$1: the content is right"
	diff <(od -c "$2" 2>&1 | head -n 20) <(od -c "$3" 2>&1 | head -n 20) | sed -n '1,12s/^/    /p'
	return 1
}

# same_tree NAME WANT GOT: the same files and contents, the same permission
# bits (two checks).
tree_modes() {
	(cd "$1" && find . -mindepth 1 -printf '%P %y %m\n' | LC_ALL=C sort)
}
same_tree() {
	local d

	if d=$(diff -r "$2" "$3" 2>&1); then
		pass "$1: the same files and contents"
	else
		fail "$1: the same files and contents: $(_show "$d" | head -n 6 | tr '\n' ' ')"
	fi
	if d=$(diff <(tree_modes "$2") <(tree_modes "$3") 2>&1); then
		pass "$1: the same permission bits"
	else
		fail "$1: the same permission bits (< wanted, > on the mount): $(_show "$d" | head -n 8 | tr '\n' ' ')"
	fi
}

# versions CPATH: the version numbers of a file, from `history --json`.
versions() {
	cv noy history "$1" --json 2> /dev/null | python3 -c '
import json, sys
print(" ".join(str(json.loads(l)["version"]) for l in sys.stdin if l.strip()))'
}

# after NAME: the mount daemon still runs, the history verifies (checks);
# a fresh vault if not.
after() {
	local bad=0

	if ! check "$1: the mount daemon still runs" alive "$(daemon_pid)"; then
		bad=1
		fusermount3 -u -z "$MNT" 2> /dev/null
	fi
	verify_ok "$1" || bad=1
	[ "$bad" = 0 ] || new_vault
}

need() {
	command -v "$1" > /dev/null 2>&1 && return 0
	fail "$1 is installed (tests/deps.sh installs it)"
	return 1
}

# A small tree: files of several sizes and modes, a folder, an empty file.
SRC=$T/src
mkdir -p "$SRC/sub/deeper"
printf 'intake notes\n' > "$SRC/notes.txt"
rand_file "$SRC/scan.bin" 200000
: > "$SRC/empty"
printf '#!/bin/sh\necho hi\n' > "$SRC/sub/run.sh"
rand_file "$SRC/sub/deeper/big.bin" 1500000
chmod 644 "$SRC/notes.txt" "$SRC/scan.bin"
chmod 755 "$SRC/sub/run.sh" "$SRC/sub"
chmod 600 "$SRC/empty"
chmod 750 "$SRC/sub/deeper"
chmod 640 "$SRC/sub/deeper/big.bin"
touch -d '2026-01-02 03:04:05' "$SRC/notes.txt" "$SRC/sub/run.sh"

# ---- the tools ------------------------------------------------------------

# vim NAME OPTIONS...: append a line to a file of the case with vim -es.
vim_es() {
	local name=$1 d f
	shift

	need vim || return
	d=$CASEDIR/$name
	mkdir -p "$d"
	f=$d/notes.txt
	printf 'line1\n' > "$f"
	printf 'line1\nhello\n' > "$T/.want"
	run_ok "$name" vim "$@" -c 'normal Gohello' -c 'wq' "$f"
	same_file "$name" "$T/.want" "$f"
	check_eq "$name: the mode stays" 600 "$(stat -c %a "$f" 2>&1)"
	check_eq "$name: the file has two versions" "1 2" "$(versions "$CODE/$name/notes.txt")"
	after "$name"
}
t_vim() {
	vim_es vim-plain -Nu NONE -n -es
	vim_es vim-backupcopy-no -Nu NONE -n -es -c 'set backupcopy=no'
	vim_es vim-backupcopy-yes -Nu NONE -n -es -c 'set backupcopy=yes'
	vim_es vim-nobackup -Nu NONE -n -es -c 'set nobackup nowritebackup'
	vim_es vim-backup-keep -Nu NONE -n -es -c 'set backup writebackup backupcopy=auto'
	vim_es vim-defaults -u DEFAULTS -es
}

# tmux_edit NAME FILE CMD KEYS...: run CMD on FILE in a tmux session of our
# own (a terminal), send the keys one by one (wait:TEXT waits for the screen
# to show TEXT), wait for it to end; its exit
# code is a check.
TMUX_SOCK=cvtest$$
tmux_edit() {
	local name=$1 f=$2 cmd=$3 k i
	shift 3

	rm -f "$T/.tmux.rc"
	if ! tmux -L "$TMUX_SOCK" -f /dev/null new-session -d -x 100 -y 30 \
		"cd \"$(dirname "$f")\" && $cmd \"$(basename "$f")\"; echo \$? > \"$T/.tmux.rc\""; then
		fail "$name: tmux starts"
		return 1
	fi
	sleep 0.5
	for k in "$@"; do
		case $k in
		wait:*)
			# Up to 20 s for the screen to show the text: a busy machine
			# starts the editor late, and a key sent too soon goes astray.
			for i in $(seq 100); do
				tmux -L "$TMUX_SOCK" capture-pane -p 2> /dev/null | grep -qF -- "${k#wait:}" && break
				sleep 0.2
			done
			;;
		*)
			tmux -L "$TMUX_SOCK" send-keys "$k"
			sleep 0.3
			;;
		esac
	done
	for i in $(seq 100); do
		[ -s "$T/.tmux.rc" ] && break
		sleep 0.2
	done
	if [ ! -s "$T/.tmux.rc" ]; then
		fail "$name: ends within 20 s of its keys; the screen:"
		tmux -L "$TMUX_SOCK" capture-pane -p 2>&1 | grep -v '^$' | sed -n '1,12s/^/    /p'
		tmux -L "$TMUX_SOCK" kill-session 2> /dev/null
		return 1
	fi
	check_eq "$name: exits 0" 0 "$(cat "$T/.tmux.rc")"
}

t_vim_tmux() {
	local d f
	need vim && need tmux || return
	d=$CASEDIR/vim-tmux
	mkdir -p "$d"
	f=$d/notes.txt
	printf 'line1\n' > "$f"
	printf 'line1\nhello\n' > "$T/.want"
	# vim with its defaults (no vimrc: defaults.vim), a swap file in the folder
	tmux_edit vim-tmux "$f" vim wait:notes.txt G o hello Escape :wq Enter
	same_file vim-tmux "$T/.want" "$f"
	check_eq "vim-tmux: no swap file is left" "" "$(find "$d" -name '.*.sw?' 2>&1)"
	check_eq "vim-tmux: the file has two versions" "1 2" "$(versions "$CODE/vim-tmux/notes.txt")"
	after vim-tmux
}

t_nano() {
	local d f
	need nano && need tmux || return
	d=$CASEDIR/nano
	mkdir -p "$d"
	f=$d/notes.txt
	printf 'line1\n' > "$f"
	printf 'hello\nline1\n' > "$T/.want"
	tmux_edit nano "$f" "nano --ignorercfiles" wait:notes.txt h e l l o Enter \
		C-o "wait:File Name to Write" Enter wait:Wrote C-x
	same_file nano "$T/.want" "$f"
	check_eq "nano: the file has two versions" "1 2" "$(versions "$CODE/nano/notes.txt")"
	after nano
}

# sqlite MODE: a database in journal mode MODE, rows in several transactions.
sqlite() {
	local mode=$1 name=sqlite-$1 d db i
	need sqlite3 || return
	d=$CASEDIR/$name
	mkdir -p "$d"
	db=$d/cases.db
	run_ok "$name: create" sqlite3 "$db" "PRAGMA journal_mode=$mode; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
	check_eq "$name: journal mode" "$mode" "$(head -n 1 "$OUTF")"
	for i in 1 2 3 4 5; do
		run_ok "$name: transaction $i" sqlite3 "$db" \
			"BEGIN; INSERT INTO t(v) SELECT hex(randomblob(300)) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 200) SELECT x FROM c); COMMIT;"
	done
	run_ok "$name: delete in a transaction" sqlite3 "$db" "BEGIN; DELETE FROM t WHERE id % 3 = 0; COMMIT;"
	run_ok "$name: integrity_check" sqlite3 "$db" "PRAGMA integrity_check;"
	check_eq "$name: integrity_check says ok" ok "$(cat "$OUTF")"
	run_ok "$name: count" sqlite3 "$db" "SELECT count(*) FROM t;"
	check_eq "$name: the rows are there" 667 "$(cat "$OUTF")"
	# the same through a copy read by the CLI
	rm -f "$T/.db"
	if [ "$mode" = wal ]; then
		run_ok "$name: checkpoint" sqlite3 "$db" "PRAGMA wal_checkpoint(TRUNCATE);"
	fi
	expect_exit 0 cv noy get "$CODE/$name/cases.db" --purpose test -o "$T/.db"
	check_eq "$name: the CLI's copy has the rows" "ok 667" \
		"$(sqlite3 "$T/.db" 'PRAGMA integrity_check;' 'SELECT count(*) FROM t;' 2>&1 | tr '\n' ' ' | sed 's/ $//')"
	rm -f "$T/.db"
	after "$name"
}
t_sqlite() {
	sqlite delete
	sqlite wal
}

t_git() {
	local d
	need git || return
	d=$CASEDIR/git
	mkdir -p "$d"
	run_ok "git init" git -C "$d" init -q
	printf 'first\n' > "$d/a.txt"
	cp "$SRC/scan.bin" "$d/scan.bin"
	run_ok "git add" git -C "$d" add -A
	run_ok "git commit 1" git -C "$d" -c user.name=noy -c user.email=noy@example.org commit -qm one
	printf 'second\n' >> "$d/a.txt"
	run_ok "git commit 2" git -C "$d" -c user.name=noy -c user.email=noy@example.org commit -qam two
	run_ok "git gc" git -C "$d" gc -q
	run_ok "git fsck" git -C "$d" fsck --strict --full
	run_ok "git log" git -C "$d" log --oneline
	check_eq "git: two commits" 2 "$(wc -l < "$OUTF")"
	run_ok "git status" git -C "$d" status --porcelain
	check_eq "git: a clean tree" "" "$(cat "$OUTF")"
	after git
}

t_rsync() {
	local d
	need rsync || return
	d=$CASEDIR/rsync-a
	run_ok "rsync -a" rsync -a "$SRC/" "$d/"
	same_tree "rsync -a" "$SRC" "$d"
	after "rsync -a"
	# an update: rsync writes a temporary file and renames it over the old
	printf 'intake notes, updated\n' > "$SRC/notes.txt"
	chmod 640 "$SRC/notes.txt"
	d=$CASEDIR/rsync-a
	[ -d "$d" ] || rsync -a "$SRC/" "$d/" 2> /dev/null
	run_ok "rsync -a (an update)" rsync -a "$SRC/" "$d/"
	same_tree "rsync -a (an update)" "$SRC" "$d"
	after "rsync -a (an update)"
	d=$CASEDIR/rsync-aX
	run_ok "rsync -aX" rsync -aX "$SRC/" "$d/"
	same_tree "rsync -aX" "$SRC" "$d"
	after "rsync -aX"
}

t_tar() {
	local d
	tar cf "$T/src.tar" -C "$T" src
	d=$CASEDIR/tar
	mkdir -p "$d"
	run_ok "tar xf" tar xf "$T/src.tar" -C "$d"
	same_tree "tar xf" "$SRC" "$d/src"
	after "tar xf"
	d=$CASEDIR/tar
	run_ok "tar xf over the same files" tar xf "$T/src.tar" -C "$d"
	same_tree "tar xf over the same files" "$SRC" "$d/src"
	after "tar xf over the same files"
	rm -rf "$T/untar"
	mkdir -p "$T/untar"
	run_ok "tar cf" tar cf "$T/out.tar" -C "$CASEDIR/tar" src
	run_ok "tar xf of tar cf's archive (locally)" tar xf "$T/out.tar" -C "$T/untar"
	same_tree "tar cf" "$SRC" "$T/untar/src"
	rm -rf "$T/untar" "$T/out.tar" "$T/src.tar"
	after "tar cf"
}

t_cp() {
	run_ok "cp -a" cp -a "$SRC" "$CASEDIR/cp-a"
	same_tree "cp -a" "$SRC" "$CASEDIR/cp-a"
	after "cp -a"
}

t_mv() {
	printf 'moved between cases\n' > "$T/.want"
	cp "$T/.want" "$CASEDIR/to-move.txt"
	run_ok "mv between cases" mv "$CASEDIR/to-move.txt" "$CASE2/moved.txt"
	same_file "mv between cases" "$T/.want" "$CASE2/moved.txt"
	check "mv between cases: gone from the first case" not test -e "$CASEDIR/to-move.txt"
	after "mv between cases"
	cp -a "$SRC" "$CASEDIR/tree-to-move"
	run_ok "mv of a folder between cases" mv "$CASEDIR/tree-to-move" "$CASE2/tree-moved"
	same_tree "mv of a folder between cases" "$SRC" "$CASE2/tree-moved"
	check "mv of a folder between cases: gone from the first case" not test -e "$CASEDIR/tree-to-move"
	after "mv of a folder between cases"
}

# replace NAME HOLD: three versions of a file, then NamedTemporaryFile +
# os.replace over it (HOLD=1: with a descriptor held open on it meanwhile).
replace() {
	local name=$1 hold=$2 d f
	d=$CASEDIR/$name
	mkdir -p "$d"
	f=$d/report.txt
	for i in 1 2 3; do
		# cp: one descriptor (a shell's > closes a copy first: a version more)
		printf 'report v%s\n' "$i" > "$T/.v"
		cp "$T/.v" "$f"
	done
	check_eq "$name: three versions before" "1 2 3" "$(versions "$CODE/$name/report.txt")"
	printf 'report, replaced\n' > "$T/.want"
	run_ok "$name" python3 "$T/.replace.py" "$d" "$f" "$hold" "$T/.held"
	same_file "$name" "$T/.want" "$f"
	if [ "$hold" = 1 ]; then
		printf 'report v3\n' > "$T/.want3"
		same_file "$name: the held descriptor reads the replaced file" "$T/.want3" "$T/.held"
	fi
	check_eq "$name: no temporary file is left" "report.txt" "$(ls -A "$d" 2>&1)"
	check_eq "$name: history v1..v3 and the new one" "1 2 3 4" "$(versions "$CODE/$name/report.txt")"
	after "$name"
}
cat > "$T/.replace.py" <<'EOF'
import os, sys, tempfile
d, f, hold, out = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4]
held = os.open(f, os.O_RDONLY) if hold else None
with tempfile.NamedTemporaryFile(dir=d, delete=False) as t:
    t.write(b"report, replaced\n")
    t.flush()
    os.fsync(t.fileno())
os.replace(t.name, f)
if held is not None:
    with open(out, "wb") as o:
        o.write(os.pread(held, 100, 0))
    os.close(held)
EOF
t_replace() {
	replace tempfile-replace 0
	replace tempfile-replace-held 1
}

t_perl() {
	local d f
	need perl || return
	d=$CASEDIR/perl
	mkdir -p "$d"
	f=$d/notes.txt
	printf 'a cat and a bat\n' > "$f"
	printf 'b cat and a bat\n' > "$T/.want"
	run_ok "perl -pi" perl -pi -e s/a/b/ "$f"
	same_file "perl -pi" "$T/.want" "$f"
	check_eq "perl -pi: no temporary file is left" "notes.txt" "$(ls -A "$d" 2>&1)"
	check_eq "perl -pi: the file has two versions" "1 2" "$(versions "$CODE/perl/notes.txt")"
	after "perl -pi"
}

# What rsync does from two processes: one writes and closes new files,
# the other sets their times and modes by path as they close (utimens and
# chmod by path look for a writer's open handle).
cat > "$T/.race.py" <<'EOF'
import os, sys, threading, time
d, stop = sys.argv[1], time.time() + float(sys.argv[2])
errs = []
def writer():
    i = 0
    while time.time() < stop:
        fd = os.open("%s/f%d" % (d, i % 50), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, b"x" * (i % 3000))
        os.close(fd)
        i += 1
def setter():
    i = 0
    while time.time() < stop:
        p = "%s/f%d" % (d, i % 50)
        try:
            os.utime(p, (1600000000 + i, 1600000000 + i))
            os.chmod(p, 0o600 | (i & 0o44))
        except FileNotFoundError:
            pass
        except OSError as e:
            errs.append("%s: %s" % (p, e))
            return
        i += 1
ts = [threading.Thread(target=writer), threading.Thread(target=setter), threading.Thread(target=setter)]
for t in ts: t.start()
for t in ts: t.join()
if errs:
    print(errs[0]); sys.exit(1)
EOF
t_race() {
	mkdir -p "$CASEDIR/race"
	run_ok "utimens and chmod by path while files close" python3 "$T/.race.py" "$CASEDIR/race" 4
	after "utimens and chmod by path while files close"
}

ALL="vim vim_tmux nano sqlite git rsync tar cp mv replace perl race"
list=${TOOLS:-$ALL}
for t in ${list//,/ }; do
	start=$SECONDS
	echo "--- $t"
	"t_$t"
	echo "--- $t: $((SECONDS - start)) s"
done
tmux -L "$TMUX_SOCK" kill-server 2> /dev/null

check "the mount still answers" test -d "$CASEDIR"
umount_vault
verify_ok "after the unmount"
echo "vaults used: $NVAULTS (a fresh one after each history that did not verify)"
finish
