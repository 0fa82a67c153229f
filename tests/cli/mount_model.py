#!/usr/bin/env python3
"""
mount_model.py: a randomized model test of the casevault mount.

The same random file-system operations are applied, in lockstep, to a folder
on the mount (MOUNT) and to a plain directory (REF), and after every step the
two trees are compared: names, types, sizes and contents (a file held open on
a long-lived descriptor is read through that descriptor). Every operation's
outcome is compared too: the same success and return value, or the same
errno.

    mount_model.py --mount DIR --ref DIR [--steps N] [--seed N]
                   [--mount-cmd JSON --umount-cmd JSON --mountpoint DIR]
                   [--verify-cmd JSON [--verify-every N]]
                   [--avoid CLASSES] [--failed-scenarios NAMES] [--strict]
                   [--replay FILE] [--shrink-secs S]
    mount_model.py --mount DIR --ref DIR --scenario NAME
    mount_model.py --list-scenarios

The first line printed is "seed N": --seed N (MODEL_SEED=N) replays the same
run. On the first mismatch it prints the step, the operation and both sides'
results, then searches for a shorter sequence of operations that fails the
same way (--shrink-secs, replayed in fresh sub-folders of MOUNT and REF) and
prints it, and as JSON lines that --replay FILE runs again. Exit 0 if all
steps agree, 1 on a mismatch.

The trees compare permission bits too (the mount stores modes), not times.
--verify-cmd (an argv, `casevault --vault DIR audit verify`) runs every
--verify-every steps (250) and after the last: the history must verify
after any honest use. A failure there ends the run, with the step, the
seed, verify's output and the operations since the last verify that passed.

Not generated, as the mount differs on purpose: symlinks, hard links,
special files (EPERM), rename between cases. Extended attributes are set,
but compared only as "refused": the mount answers ENOTSUP (EPERM for the
read-only user.casevault.* ones, docs/decisions.md), or both sides fail.

SCENARIOS are short fixed sequences, run one by one (--scenario). Those that
fail name a class of operations (see known_divergence) that the random run
then does not generate (--failed-scenarios): the scenario's failure already
reports the bug, and the random run looks for others. Once a scenario
passes, its class is generated again. --strict generates everything.
"""
import argparse
import errno
import json
import os
import random
import stat
import subprocess
import sys
import threading
import time

BLOCK = 65536            # the vault's block size
MAX_SIZE = 320 * 1024    # files stay below this (keeps steps fast)...
BIG_SIZE = 3 << 20       # ...but for a rare big write (several FUSE requests)
MAX_FILES = 18
MAX_DIRS = 7
MAX_DEPTH = 3
SLOTS = 3                # long-lived descriptors at once

FILE_NAMES = ["f0", "f1", "f2", "f3", "f4", "notes 1.txt", "b\u00e9b\u00e9.pdf", "x.tmp"]
NAME_255 = "n" * 251 + ".txt"      # the longest name
NAME_256 = "n" * 252 + ".txt"      # one byte too long: ENAMETOOLONG
DIR_NAMES = ["d0", "d1", "d2", "scans 2026"]

# The classes of operations known_divergence() can leave out.
CLASSES = {
    "hiddendir": "removing a folder that holds a file unlinked while still open",
    "held": "a second opening, a truncate by path, an unlink of, or a rename over "
            "a file held open on a long-lived descriptor",
    "trunc": "an O_TRUNC opening of an existing file followed by writes",
    "helddir": "a rename of a folder that holds a file open on a long-lived descriptor, or over one",
    "longname": "a name longer than 255 bytes (ENAMETOOLONG)",
    "chmod": "chmod or fchmod to a new mode",
    "samemode": "chmod or fchmod to the mode the file or folder already has",
    "utime": "utime or futimens to new times",
    "sametime": "utime or futimens to the times the file or folder already has",
    "utimenow": "utime or futimens to the current time",
    "xattr": "setting an extended attribute",
    "otrunc": "an O_TRUNC opening of an existing non-empty file, nothing written",
    "otruncempty": "an O_TRUNC opening of an existing empty file",
    "truncsame": "truncate or ftruncate to the size the file already has",
    "fsyncnop": "an fsync of a descriptor through which nothing changed",
    "selfrename": "a rename of a file or folder onto itself",
    "renamemode": "a rename over an existing file of another mode",
}


def ename(e):
    return errno.errorcode.get(e, str(e))


def data_of(spec):
    """The bytes of a write: [seed, length] -> deterministic random bytes."""
    seed, n = spec
    r = random.Random(seed)
    return r.getrandbits(8 * n).to_bytes(n, "little") if n else b""


def short(b):
    if len(b) <= 32:
        return repr(b)
    return "%d bytes %r...%r" % (len(b), b[:12], b[-12:])


class Side:
    """One root (the mount or the reference) and its long-lived descriptors."""

    def __init__(self, name, root):
        self.name = name
        self.root = root
        self.fds = {}            # slot -> fd

    def p(self, rel):
        return os.path.join(self.root, rel) if rel else self.root

    def close_all(self):
        errs = {}
        for slot in sorted(self.fds):
            try:
                os.close(self.fds[slot])
            except OSError as e:
                errs[slot] = ename(e.errno)
        self.fds = {}
        return errs


# ---- operations -----------------------------------------------------------
#
# An operation is a dict {"op": NAME, ...}; run_op applies it to one side and
# returns a comparable outcome: ["ok", value] or ["err", STAGE, ERRNO].

def _open(side, path, flags):
    return os.open(side.p(path), flags, 0o600)


def run_op(side, o):
    op = o["op"]
    stage = "open"
    fd = None
    try:
        if op == "create":
            flags = os.O_CREAT | os.O_WRONLY
            if o.get("excl"):
                flags |= os.O_EXCL
            if o.get("trunc"):
                flags |= os.O_TRUNC
            fd = _open(side, o["path"], flags)
            stage = "write"
            n = os.write(fd, data_of(o["data"])) if o["data"][1] else 0
            stage = "close"
            os.close(fd)
            fd = None
            return ["ok", n]
        if op == "write":
            fd = _open(side, o["path"], (os.O_RDWR if o.get("rdwr") else os.O_WRONLY) |
                       (os.O_TRUNC if o.get("trunc") else 0))
            stage = "write"
            n = os.pwrite(fd, data_of(o["data"]), o["off"])
            stage = "close"
            os.close(fd)
            fd = None
            return ["ok", n]
        if op == "append":
            fd = _open(side, o["path"], os.O_WRONLY | os.O_APPEND)
            out = []
            for spec in o["datas"]:
                stage = "write"
                out.append(os.write(fd, data_of(spec)))
            stage = "fstat"
            out.append(os.fstat(fd).st_size)
            stage = "close"
            os.close(fd)
            fd = None
            return ["ok", out]
        if op == "truncate":
            stage = "truncate"
            os.truncate(side.p(o["path"]), o["size"])
            return ["ok", None]
        if op == "otrunc":
            fd = _open(side, o["path"], os.O_WRONLY | os.O_TRUNC)
            stage = "close"
            os.close(fd)
            fd = None
            return ["ok", None]
        if op == "ftruncate":
            fd = _open(side, o["path"], os.O_RDWR)
            stage = "ftruncate"
            os.ftruncate(fd, o["size"])
            stage = "fstat"
            sz = os.fstat(fd).st_size
            stage = "close"
            os.close(fd)
            fd = None
            return ["ok", sz]
        if op == "read":
            fd = _open(side, o["path"], os.O_RDONLY)
            stage = "read"
            b = os.pread(fd, o["len"], o["off"])
            stage = "close"
            os.close(fd)
            fd = None
            return ["ok", b]
        if op == "seq":
            # open, write, write, fsync, read back, write, fsync, close
            flags = os.O_RDWR | (os.O_CREAT if o.get("create") else 0)
            fd = _open(side, o["path"], flags)
            out = []
            for w in o["steps"]:
                if w[0] == "w":
                    stage = "write"
                    out.append(os.pwrite(fd, data_of(w[2]), w[1]))
                elif w[0] == "s":
                    stage = "fsync"
                    os.fsync(fd)
                    out.append("s")
                elif w[0] == "r":
                    stage = "read"
                    out.append(os.pread(fd, w[2], w[1]))
                elif w[0] == "t":
                    stage = "ftruncate"
                    os.ftruncate(fd, w[1])
                    out.append("t")
            stage = "close"
            os.close(fd)
            fd = None
            return ["ok", out]
        if op == "rename":
            stage = "rename"
            os.rename(side.p(o["src"]), side.p(o["dst"]))
            return ["ok", None]
        if op == "unlink":
            stage = "unlink"
            os.unlink(side.p(o["path"]))
            return ["ok", None]
        if op == "mkdir":
            stage = "mkdir"
            os.mkdir(side.p(o["path"]), 0o700)
            return ["ok", None]
        if op == "rmdir":
            stage = "rmdir"
            os.rmdir(side.p(o["path"]))
            return ["ok", None]
        if op == "stat":
            stage = "stat"
            st = os.stat(side.p(o["path"]))
            return ["ok", ["dir" if stat.S_ISDIR(st.st_mode) else "file",
                           0 if stat.S_ISDIR(st.st_mode) else st.st_size]]
        if op == "listdir":
            stage = "listdir"
            return ["ok", sorted(os.listdir(side.p(o["path"])))]
        if op == "openw":
            # open for writing: EISDIR on a folder, ENOENT, ENOTDIR
            fd = _open(side, o["path"], os.O_WRONLY)
            stage = "close"
            os.close(fd)
            fd = None
            return ["ok", None]
        # metadata: modes, times, extended attributes
        if op == "chmod":
            path = side.p(o["path"])
            mode = o["mode"]
            if mode == "same":                   # this side's own mode
                stage = "stat"
                mode = stat.S_IMODE(os.stat(path).st_mode)
            stage = "chmod"
            os.chmod(path, mode)
            stage = "stat"
            return ["ok", oct(stat.S_IMODE(os.stat(path).st_mode))]
        if op in ("fchmod", "futimens", "fsyncnop"):
            # open, [write], [fsync], fchmod / futimens / nothing, close:
            # vim writes, fsyncs, then fchmods with the mode the file has
            fd = _open(side, o["path"], os.O_RDWR if o.get("rdwr") else os.O_WRONLY)
            out = []
            if o.get("data"):
                stage = "write"
                out.append(os.pwrite(fd, data_of(o["data"]), o.get("off", 0)))
            if o.get("fsync") or op == "fsyncnop":
                stage = "fsync"
                os.fsync(fd)
            if op == "fchmod":
                mode = o["mode"]
                if mode == "same":
                    stage = "fstat"
                    mode = stat.S_IMODE(os.fstat(fd).st_mode)
                stage = "fchmod"
                os.fchmod(fd, mode)
                stage = "fstat"
                out.append(oct(stat.S_IMODE(os.fstat(fd).st_mode)))
            elif op == "futimens":
                stage = "fstat"
                ns = o["ns"]
                if ns == "same":
                    st = os.fstat(fd)
                    ns = [st.st_atime_ns, st.st_mtime_ns]
                stage = "futimens"
                if ns is None:
                    os.utime(fd)
                else:
                    os.utime(fd, ns=tuple(ns))
            stage = "close"
            os.close(fd)
            fd = None
            if op == "fchmod":
                stage = "stat"
                out.append(oct(stat.S_IMODE(os.stat(side.p(o["path"])).st_mode)))
            return ["ok", out]
        if op == "utime":
            path = side.p(o["path"])
            ns = o["ns"]
            if ns == "same":                     # this side's own times
                stage = "stat"
                st = os.stat(path)
                ns = [st.st_atime_ns, st.st_mtime_ns]
            stage = "utime"
            if ns is None:
                os.utime(path)
            else:
                os.utime(path, ns=tuple(ns))
            return ["ok", None]
        if op == "mtime":
            # scenarios only: times are not compared in general
            stage = "stat"
            t = os.stat(side.p(o["path"])).st_mtime_ns
            return ["ok", t // 10 ** 9 if o["part"] == "s" else t % 10 ** 9]
        if op == "setxattr":
            stage = "setxattr"
            os.setxattr(side.p(o["path"]), o["name"], b"1")
            return ["ok", None]
        # long-lived descriptors
        if op == "lopen":
            if o["slot"] in side.fds:
                return ["skip", "slot busy"]
            flags = os.O_RDWR | (os.O_CREAT if o.get("create") else 0)
            side.fds[o["slot"]] = _open(side, o["path"], flags)
            return ["ok", None]
        if op.startswith("l"):
            if o["slot"] not in side.fds:
                return ["skip", "no descriptor"]
            lfd = side.fds[o["slot"]]
            stage = op[1:]
            if op == "lwrite":
                return ["ok", os.pwrite(lfd, data_of(o["data"]), o["off"])]
            if op == "lread":
                return ["ok", os.pread(lfd, o["len"], o["off"])]
            if op == "lfsync":
                os.fsync(lfd)
                return ["ok", None]
            if op == "lftrunc":
                os.ftruncate(lfd, o["size"])
                return ["ok", None]
            if op == "lfstat":
                return ["ok", os.fstat(lfd).st_size]
            if op == "lseekend":
                return ["ok", os.lseek(lfd, 0, os.SEEK_END)]
            if op == "lclose":
                del side.fds[o["slot"]]
                os.close(lfd)
                return ["ok", None]
        raise ValueError("unknown operation %r" % op)
    except OSError as e:
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass
        return ["err", stage, ename(e.errno)]


def describe_step(x):
    """A step of a "seq": w@OFF:LEN, r@OFF:LEN, t@SIZE or s."""
    if x[0] == "w":
        return "w@%d:%d" % (x[1], x[2][1])
    if x[0] == "r":
        return "r@%d:%d" % (x[1], x[2])
    if x[0] == "t":
        return "t@%d" % x[1]
    return x[0]


def describe(o):
    """One line for an operation (data as its length)."""
    parts = [o["op"]]
    for k, v in o.items():
        if k in ("op", "nocheck"):
            continue
        if k == "data":
            v = "%d bytes" % v[1]
        elif k == "datas":
            v = "+".join(str(d[1]) for d in v)
        elif isinstance(v, str) and len(v) > 60:
            v = "%s...(%d bytes)" % (v[:12], len(v.encode()))
        elif k == "steps":
            v = ",".join(describe_step(x) for x in v)
        elif k == "mode" and isinstance(v, int):
            v = oct(v)
        parts.append("%s=%s" % (k, v))
    return " ".join(parts)


def show_result(r):
    if r[0] == "ok" and isinstance(r[1], bytes):
        return "ok " + short(r[1])
    if r[0] == "ok" and isinstance(r[1], list):
        return "ok [" + ", ".join(short(x) if isinstance(x, bytes) else str(x) for x in r[1]) + "]"
    return " ".join(str(x) for x in r)


def op_class(o):
    """The class (CLASSES) of a metadata operation or of one that changes
    nothing, or None. "same" marks a truncate to the size the file had, an
    O_TRUNC opening of an empty file; "diffmode" a rename over a file of
    another mode (both as generated)."""
    op = o["op"]
    if op in ("chmod", "fchmod"):
        return "samemode" if o["mode"] == "same" else "chmod"
    if op in ("utime", "futimens"):
        return "sametime" if o["ns"] == "same" else "utimenow" if o["ns"] is None else "utime"
    if op == "setxattr":
        return "xattr"
    if op == "fsyncnop":
        return "fsyncnop"
    if op in ("truncate", "ftruncate") and o.get("same"):
        return "truncsame"
    if op == "otrunc":
        return "otruncempty" if o.get("same") else "otrunc"
    if op == "rename" and o["src"] == o["dst"]:
        return "selfrename"
    if op == "rename" and o.get("diffmode"):
        return "renamemode"
    return None


def known_divergence(o, held, files, avoid):
    """Does o touch a divergence named in `avoid`? held: paths open on a
    long-lived descriptor; files: the paths of all files.
      held   a second opening, a truncate by path, an unlink or a rename
             over a file held open on a long-lived descriptor
      trunc  an O_TRUNC opening of an existing file followed by writes
      helddir  a rename of a folder with a file held open in it, or over one
      longname  a name longer than 255 bytes
      hiddendir  removing a folder that holds a file unlinked while still
             open: the mount lets it go, and that descriptor's fstat
             then fails (docs/decisions.md); never generated"""
    op = o["op"]
    if op_class(o) in avoid:
        return True
    if "longname" in avoid and any(len(c.encode()) > 255 for k in ("path", "src", "dst")
                                   for c in o.get(k, "").split("/")):
        return True
    if "helddir" in avoid and op == "rename" and any(h.startswith(o["src"] + "/") or h.startswith(o["dst"] + "/")
                                                     for h in held):
        return True
    if "trunc" in avoid and op == "create" and o.get("trunc") and o["data"][1] and o["path"] in files:
        return True
    if "hiddendir" in avoid and op in ("rmdir", "rename") and UNLINKED in held:
        return True
    if "held" not in avoid:
        return False
    if op in ("create", "write", "append", "truncate", "otrunc", "ftruncate", "read",
              "seq", "openw", "lopen", "unlink", "chmod", "fchmod", "utime", "futimens",
              "fsyncnop", "setxattr"):
        return o["path"] in held
    if op == "rename":
        return o["dst"] in held or (o["src"] in held and o["dst"] in files)
    return False


# ---- the trees ------------------------------------------------------------

UNLINKED = "\0unlinked"   # in slot_paths(): some descriptor holds an unlinked file


def slot_paths(ref):
    """Which path each long-lived descriptor of REF refers to (by inode)."""
    inos = {}
    out = {}
    for slot, fd in ref.fds.items():
        try:
            st = os.fstat(fd)
            inos[(st.st_dev, st.st_ino)] = slot
            if st.st_nlink == 0:
                out[UNLINKED] = slot     # held open, no longer in any folder
        except OSError:
            pass
    if not inos:
        return out
    for dirpath, dirnames, filenames in os.walk(ref.root):
        for n in filenames:
            full = os.path.join(dirpath, n)
            try:
                st = os.lstat(full)
            except OSError:
                continue
            key = (st.st_dev, st.st_ino)
            if key in inos:
                out[os.path.relpath(full, ref.root)] = inos[key]
    return out


def read_all_fd(fd):
    chunks = []
    off = 0
    while True:
        b = os.pread(fd, 1 << 20, off)
        if not b:
            break
        chunks.append(b)
        off += len(b)
    return b"".join(chunks)


def snapshot(side, via_fd):
    """{relpath: ("dir", mode) | ("file", size, bytes, mode) | ("error", what)}
    (mode: the permission bits, in octal)"""
    tree = {}

    def walk(rel):
        try:
            names = sorted(os.listdir(side.p(rel)))
        except OSError as e:
            tree[rel or "."] = ("error", "listdir " + ename(e.errno))
            return
        for n in names:
            r = os.path.join(rel, n) if rel else n
            try:
                st = os.lstat(side.p(r))
            except OSError as e:
                tree[r] = ("error", "lstat " + ename(e.errno))
                continue
            mode = oct(stat.S_IMODE(st.st_mode))
            if stat.S_ISDIR(st.st_mode):
                tree[r] = ("dir", mode)
                walk(r)
            elif stat.S_ISREG(st.st_mode):
                try:
                    if r in via_fd and via_fd[r] in side.fds:
                        content = read_all_fd(side.fds[via_fd[r]])
                    else:
                        with open(side.p(r), "rb") as f:
                            content = f.read()
                    tree[r] = ("file", st.st_size, content, mode)
                except OSError as e:
                    tree[r] = ("error", "read " + ename(e.errno))
            else:
                tree[r] = ("other", stat.S_IFMT(st.st_mode))
    walk("")
    return tree


def diff_trees(m, r):
    """A list of lines describing the differences ([] if none)."""
    out = []
    for path in sorted(set(m) | set(r)):
        a, b = m.get(path), r.get(path)
        if a == b:
            continue
        if a is None:
            out.append("%s: missing on the mount (reference: %s)" % (path, b[0]))
        elif b is None:
            out.append("%s: on the mount only (%s)" % (path, a[0]))
        elif a[0] != b[0] or a[0] != "file":
            out.append("%s: mount %s, reference %s" % (path, a[:2], b[:2]))
        else:
            what = []
            if a[1] != b[1]:
                what.append("st_size mount %d, reference %d" % (a[1], b[1]))
            if a[3] != b[3]:
                what.append("mode mount %s, reference %s" % (a[3], b[3]))
            ca, cb = a[2], b[2]
            if ca != cb:
                if len(ca) != len(cb):
                    what.append("content length mount %d, reference %d" % (len(ca), len(cb)))
                i = next((k for k in range(min(len(ca), len(cb))) if ca[k] != cb[k]), None)
                if i is not None:
                    what.append("first differing byte at %d (block %d): mount %r, reference %r"
                                % (i, i // BLOCK, ca[i:i + 8], cb[i:i + 8]))
            out.append("%s: %s" % (path, "; ".join(what)))
        if len(out) >= 12:
            out.append("...")
            break
    return out


# ---- generating operations ------------------------------------------------

class Gen:
    def __init__(self, rng, ref, avoid):
        self.rng = rng
        self.ref = ref
        self.avoid = avoid

    def scan(self):
        files, dirs, modes = {}, [""], {}
        for dirpath, dirnames, filenames in os.walk(self.ref.root):
            rel = os.path.relpath(dirpath, self.ref.root)
            rel = "" if rel == "." else rel
            for d in dirnames:
                dirs.append(os.path.join(rel, d) if rel else d)
                modes[dirs[-1]] = stat.S_IMODE(os.lstat(os.path.join(dirpath, d)).st_mode)
            for f in filenames:
                p = os.path.join(rel, f) if rel else f
                st = os.lstat(os.path.join(dirpath, f))
                files[p] = st.st_size
                modes[p] = stat.S_IMODE(st.st_mode)
        self.files, self.dirs, self.modes = files, dirs, modes
        self.held = slot_paths(self.ref)           # path -> slot
        self.free_slots = [s for s in range(SLOTS) if s not in self.ref.fds]
        self.used_slots = sorted(self.ref.fds)

    def depth(self, d):
        return 0 if not d else d.count("/") + 1

    def data(self, size_hint=None):
        r = self.rng
        k = r.random()
        if size_hint is not None:
            n = size_hint
        elif k < 0.35:
            n = r.randint(1, 16)
        elif k < 0.75:
            n = r.randint(17, 4096)
        elif k < 0.95:
            n = r.randint(4097, 70000)
        else:
            n = r.randint(70001, 140000)
        return [r.getrandbits(31), n]

    def offset(self, size, n):
        """A write offset for a file of `size` and a write of n bytes."""
        r = self.rng
        k = r.random()
        if k < 0.3:
            off = r.randint(0, max(0, size - 1))             # inside
        elif k < 0.5:
            off = size                                       # at the end
        elif k < 0.7:
            off = size + r.randint(1, 150000)                # past the end: a gap
        else:                                                # across a block boundary
            nb = r.randint(1, max(1, (size + n) // BLOCK + 1))
            off = max(0, nb * BLOCK - r.randint(1, max(1, min(n, BLOCK) - 1)))
        limit = BIG_SIZE if n > MAX_SIZE else MAX_SIZE
        if off + n > limit:
            off = max(0, limit - n - r.randint(0, 4096))
        return off

    def pick_file(self, avoid_held=True):
        c = [p for p in self.files if "held" not in self.avoid or not avoid_held or p not in self.held]
        return self.rng.choice(sorted(c)) if c else None

    def pick_dir(self):
        return self.rng.choice(sorted(self.dirs))

    def new_name(self, files=True, parent=None):
        """A path (existing or not) in an existing folder, sometimes in a missing one or under a file."""
        r = self.rng
        k = r.random()
        if parent is None:
            if k < 0.05 and self.files:
                parent = r.choice(sorted(self.files))    # under a file: ENOTDIR
            elif k < 0.09:
                parent = os.path.join(self.pick_dir(), "missing").lstrip("/")
            else:
                parent = self.pick_dir()
        k = r.random()
        if k < 0.01:
            name = NAME_256
        elif k < 0.03:
            name = NAME_255
        else:
            name = r.choice(FILE_NAMES if files else DIR_NAMES)
        return os.path.join(parent, name) if parent else name

    def any_path(self):
        r = self.rng
        k = r.random()
        if k < 0.4 and self.files:
            return r.choice(sorted(self.files))
        if k < 0.6:
            return self.pick_dir() or "d0"
        return self.new_name(files=r.random() < 0.6)

    def next(self):
        self.scan()
        r = self.rng
        nfiles, ndirs = len(self.files), len(self.dirs) - 1
        weights = {
            "create": 10 if nfiles < MAX_FILES else 2,
            "write": 14 if nfiles else 0,
            "append": 5 if nfiles else 0,
            "truncate": 5 if nfiles else 0,
            "otrunc": 1 if nfiles else 0,
            "ftruncate": 3 if nfiles else 0,
            "read": 8 if nfiles else 0,
            "seq": 5,
            "rename": 8,
            "renamedir": 4 if ndirs else 0,
            "unlink": (6 if nfiles > MAX_FILES // 2 else 3) if nfiles else 0,
            "mkdir": 5 if ndirs < MAX_DIRS else 1,
            "rmdir": 4 if ndirs else 1,
            "probe": 3,
            "lopen": 4 if self.free_slots else 0,
            "lwrite": 10 if self.used_slots else 0,
            "lread": 4 if self.used_slots else 0,
            "lfsync": 2 if self.used_slots else 0,
            "lftrunc": 2 if self.used_slots else 0,
            "lclose": 3 if self.used_slots else 0,
            "chmod": 3,
            "fchmod": 2 if nfiles else 0,
            "utime": 2,
            "futimens": 1 if nfiles else 0,
            "setxattr": 1,
            "fsyncnop": 1 if nfiles else 0,
        }
        big = sorted(p for p in self.files if self.files[p] > MAX_SIZE and p not in self.held)
        if big and r.random() < 0.3:
            p = r.choice(big)
            return {"op": "truncate", "path": p, "size": r.randint(0, MAX_SIZE)} if r.random() < 0.7 \
                else {"op": "unlink", "path": p}
        kinds = [k for k in weights if weights[k]]
        kind = r.choices(kinds, [weights[k] for k in kinds])[0]
        for _ in range(20):
            o = getattr(self, "g_" + kind)()
            if o and not known_divergence(o, self.held, self.files, self.avoid):
                return o
        return {"op": "stat", "path": self.any_path()}

    def g_create(self):
        p = self.new_name()
        return {"op": "create", "path": p, "excl": int(self.rng.random() < 0.3),
                "trunc": int(self.rng.random() < 0.5), "data": self.data() if self.rng.random() < 0.8 else [0, 0]}

    def g_write(self):
        p = self.pick_file()
        if p is None:
            return None
        d = self.data()
        if self.rng.random() < 0.015:
            d = self.data(self.rng.randint((1 << 20) - 100, (5 << 19)))   # 1 to 2.5 MiB
        return {"op": "write", "path": p, "off": self.offset(self.files[p], d[1]), "data": d,
                "rdwr": int(self.rng.random() < 0.5)}

    def g_append(self):
        p = self.pick_file()
        if p is None:
            return None
        datas = []
        size = self.files[p]
        for _ in range(self.rng.randint(1, 3)):
            d = self.data()
            if size + d[1] > MAX_SIZE:
                break
            size += d[1]
            datas.append(d)
        return {"op": "append", "path": p, "datas": datas or [self.data(1)]}

    def new_size(self, size):
        r = self.rng
        k = r.random()
        if k < 0.08:
            return size                                      # the same size
        if k < 0.45:
            return r.randint(0, size)                        # shrink
        if k < 0.55:
            return r.choice([0, BLOCK, BLOCK - 1, BLOCK + 1, 2 * BLOCK])
        return min(MAX_SIZE, size + r.randint(1, 140000))    # grow

    def g_truncate(self):
        p = self.pick_file() if self.rng.random() < 0.9 else self.any_path()
        if p is None:
            return None
        return self.same_size({"op": "truncate", "path": p, "size": self.new_size(self.files.get(p, 0))})

    def same_size(self, o):
        if o["path"] in self.files and o["size"] == self.files[o["path"]]:
            o["same"] = 1
        return o

    def g_otrunc(self):
        p = self.pick_file()
        if p is None:
            return None
        o = {"op": "otrunc", "path": p}
        if self.files[p] == 0:
            o["same"] = 1
        return o

    def g_ftruncate(self):
        p = self.pick_file()
        return p and self.same_size({"op": "ftruncate", "path": p, "size": self.new_size(self.files[p])})

    def g_read(self):
        p = self.pick_file() if self.rng.random() < 0.9 else self.any_path()
        if p is None:
            return None
        size = self.files.get(p, 0)
        off = self.rng.choice([0, self.rng.randint(0, size + 10), size, self.rng.randint(0, size // BLOCK + 1) * BLOCK])
        return {"op": "read", "path": p, "off": off, "len": self.rng.choice([1, 100, 4096, BLOCK, BLOCK + 7, 200000])}

    def g_seq(self):
        r = self.rng
        create = r.random() < 0.4
        p = self.new_name() if create else self.pick_file()
        if p is None:
            return None
        size = self.files.get(p, 0)
        steps = []
        for _ in range(r.randint(2, 7)):
            k = r.random()
            if k < 0.55:
                d = self.data()
                off = self.offset(size, d[1])
                steps.append(["w", off, d])
                size = max(size, off + d[1])
            elif k < 0.75:
                steps.append(["s"])
            elif k < 0.9:
                steps.append(["r", r.randint(0, size), r.choice([10, 5000, 70000])])
            else:
                size = self.new_size(size)
                steps.append(["t", size])
        if not any(s[0] == "s" for s in steps):
            steps.insert(r.randint(0, len(steps)), ["s"])
        return {"op": "seq", "path": p, "create": int(create), "steps": steps}

    def g_rename(self):
        r = self.rng
        src = self.pick_file() if r.random() < 0.9 else self.any_path()
        if src is None:
            src = self.any_path()
        k = r.random()
        if k < 0.35 and self.files:
            dst = r.choice(sorted(self.files))               # over an existing file
        elif k < 0.45:
            dst = self.pick_dir() or "d0"                    # onto a folder: EISDIR
        elif k < 0.5:
            dst = src                                        # onto itself
        else:
            dst = self.new_name()
        o = {"op": "rename", "src": src, "dst": dst}
        if src != dst and src in self.files and dst in self.files and self.modes[src] != self.modes[dst]:
            o["diffmode"] = 1
        return o

    def g_renamedir(self):
        r = self.rng
        dirs = [d for d in self.dirs if d]
        if not dirs:
            return None
        src = r.choice(sorted(dirs))
        k = r.random()
        if k < 0.2:
            dst = r.choice(sorted(dirs))                     # over a folder: empty ok, else ENOTEMPTY
        elif k < 0.3 and self.files:
            dst = r.choice(sorted(self.files))               # over a file: ENOTDIR
        elif k < 0.4:
            dst = os.path.join(src, r.choice(DIR_NAMES))     # into itself: EINVAL
        elif k < 0.45:
            dst = src                                        # onto itself
        else:
            parent = self.pick_dir()
            dst = os.path.join(parent, r.choice(DIR_NAMES)) if parent else r.choice(DIR_NAMES)
        if self.depth(dst) > MAX_DEPTH:
            return None
        return {"op": "rename", "src": src, "dst": dst}

    def g_unlink(self):
        p = self.pick_file() if self.rng.random() < 0.85 else self.any_path()
        if p is None:
            return None
        return {"op": "unlink", "path": p}

    def g_mkdir(self):
        r = self.rng
        if r.random() < 0.15:
            p = self.any_path()                              # EEXIST, ENOENT, ENOTDIR
        else:
            parent = self.pick_dir()
            if self.depth(parent) >= MAX_DEPTH:
                parent = ""
            p = self.new_name(files=False, parent=parent)
        return {"op": "mkdir", "path": p}

    def g_rmdir(self):
        r = self.rng
        dirs = [d for d in self.dirs if d]
        if dirs and r.random() < 0.8:
            # empty ones usually, non-empty ones (ENOTEMPTY) sometimes
            empty = [d for d in dirs if not os.listdir(self.ref.p(d))]
            p = r.choice(sorted(empty)) if empty and r.random() < 0.7 else r.choice(sorted(dirs))
        else:
            p = self.any_path() or "d0"                      # ENOENT, ENOTDIR
        return {"op": "rmdir", "path": p}

    def g_probe(self):
        r = self.rng
        k = r.choice(["stat", "listdir", "openw"])
        return {"op": k, "path": self.any_path()}

    FILE_MODES = [0o600, 0o644, 0o640, 0o400, 0o444, 0o664, 0o700, 0o755]
    DIR_MODES = [0o700, 0o750, 0o755]

    def meta_target(self):
        """A path for chmod or utime: a file, a folder (not the top), or
        now and then any path (missing, under a file)."""
        r = self.rng
        k = r.random()
        dirs = [d for d in self.dirs if d]
        if k < 0.7 and self.files:
            return self.pick_file()
        if k < 0.92 and dirs:
            return r.choice(sorted(dirs))
        return self.any_path() or "d0"

    def mode_for(self, p):
        """A new mode for p, or "same" (its mode now) a third of the time."""
        r = self.rng
        mode = r.choice(self.DIR_MODES if p in self.dirs else self.FILE_MODES)
        if r.random() < 0.33 or self.modes.get(p) == mode:
            return "same"
        return mode

    def times(self):
        """New times with nanoseconds, "same" or None (now)."""
        r = self.rng
        k = r.random()
        if k < 0.3:
            return "same"
        if k < 0.42:
            return None
        return [r.randint(1_500_000_000, 1_900_000_000) * 10 ** 9 + r.randint(0, 10 ** 9 - 1)
                for _ in range(2)]

    def g_chmod(self):
        p = self.meta_target()
        return p and {"op": "chmod", "path": p, "mode": self.mode_for(p)}

    def fd_op(self, op):
        p = self.pick_file()
        if p is None:
            return None
        r = self.rng
        o = {"op": op, "path": p, "rdwr": int(r.random() < 0.5)}
        if op != "fsyncnop" and r.random() < 0.5:
            d = self.data()
            o["data"] = d
            o["off"] = self.offset(self.files[p], d[1])
            o["fsync"] = int(r.random() < 0.6)
        return o

    def g_fchmod(self):
        o = self.fd_op("fchmod")
        if o:
            o["mode"] = self.mode_for(o["path"])
        return o

    def g_utime(self):
        p = self.meta_target()
        return p and {"op": "utime", "path": p, "ns": self.times()}

    def g_futimens(self):
        o = self.fd_op("futimens")
        if o:
            o["ns"] = self.times()
        return o

    def g_fsyncnop(self):
        return self.fd_op("fsyncnop")

    def g_setxattr(self):
        r = self.rng
        p = self.meta_target()
        return p and {"op": "setxattr", "path": p,
                      "name": r.choice(["user.foo", "user.foo", "user.casevault.version", "user.casevault.node"])}

    def g_lopen(self):
        r = self.rng
        create = r.random() < 0.3
        p = self.new_name() if create else self.pick_file()
        if p is None:
            return None
        return {"op": "lopen", "slot": r.choice(self.free_slots), "path": p, "create": int(create)}

    def slot_size(self, slot):
        try:
            return os.fstat(self.ref.fds[slot]).st_size
        except (OSError, KeyError):
            return 0

    def g_lwrite(self):
        s = self.rng.choice(self.used_slots)
        d = self.data()
        return {"op": "lwrite", "slot": s, "off": self.offset(self.slot_size(s), d[1]), "data": d}

    def g_lread(self):
        s = self.rng.choice(self.used_slots)
        size = self.slot_size(s)
        return {"op": "lread", "slot": s, "off": self.rng.randint(0, size + 5),
                "len": self.rng.choice([1, 300, BLOCK, 150000])}

    def g_lfsync(self):
        s = self.rng.choice(self.used_slots)
        return {"op": self.rng.choice(["lfsync", "lfsync", "lfstat", "lseekend"]), "slot": s}

    def g_lftrunc(self):
        s = self.rng.choice(self.used_slots)
        return {"op": "lftrunc", "slot": s, "size": self.new_size(self.slot_size(s))}

    def g_lclose(self):
        return {"op": "lclose", "slot": self.rng.choice(self.used_slots)}


# ---- fixed scenarios -------------------------------------------------------
#
# Short sequences run on their own (--scenario NAME), with nothing avoided:
# the known divergences, and a few things that must keep working.

def _d(n, seed=7):
    return [seed, n]


def _mk(path, n, seed=7):
    """A new file of n bytes (O_EXCL)."""
    return {"op": "create", "path": path, "excl": 1, "trunc": 0, "data": _d(n, seed) if n else [0, 0]}


SCENARIOS = {
    # O_TRUNC on an existing file, then writes: `echo hi > file`, cp, editors.
    "otrunc-rewrite": ("trunc", [
        {"op": "create", "path": "f", "excl": 1, "trunc": 0, "data": _d(50000)},
        {"op": "create", "path": "f", "excl": 0, "trunc": 1, "data": _d(10, 8)},
    ]),
    "otrunc-rewrite-wronly": ("trunc", [
        {"op": "create", "path": "f", "excl": 1, "trunc": 0, "data": _d(3000)},
        {"op": "write", "path": "f", "trunc": 1, "off": 0, "data": _d(100, 9)},
        {"op": "read", "path": "f", "off": 0, "len": 200000},
    ]),
    # Writes through one descriptor, read through a second opening.
    "second-open-sees-writes": ("held", [
        {"op": "lopen", "slot": 0, "path": "f", "create": 1},
        {"op": "lwrite", "slot": 0, "off": 0, "data": _d(4)},
        {"op": "stat", "path": "f"},
        {"op": "read", "path": "f", "off": 0, "len": 100},
        {"op": "lclose", "slot": 0},
    ]),
    # A descriptor held open reads what another opening wrote and closed.
    "held-sees-other-writes": ("held", [
        {"op": "create", "path": "f", "excl": 1, "trunc": 0, "data": _d(700)},
        {"op": "lopen", "slot": 0, "path": "f", "create": 0},
        {"op": "write", "path": "f", "off": 1000, "data": _d(50, 5), "rdwr": 0},
        {"op": "lread", "slot": 0, "off": 0, "len": 2000},
        {"op": "lclose", "slot": 0},
    ]),
    # Two descriptors write different bytes of one file.
    "two-writers": ("held", [
        {"op": "create", "path": "f", "excl": 1, "trunc": 0, "data": _d(4)},
        {"op": "lopen", "slot": 0, "path": "f", "create": 0},
        {"op": "lopen", "slot": 1, "path": "f", "create": 0},
        {"op": "lwrite", "slot": 0, "off": 0, "data": _d(1, 1)},
        {"op": "lwrite", "slot": 1, "off": 2, "data": _d(1, 2)},
        {"op": "lclose", "slot": 0},
        {"op": "lclose", "slot": 1},
    ]),
    # truncate(2) by path while a descriptor with writes is open.
    "truncate-while-open": ("held", [
        {"op": "create", "path": "f", "excl": 1, "trunc": 0, "data": _d(4)},
        {"op": "lopen", "slot": 0, "path": "f", "create": 0},
        {"op": "lwrite", "slot": 0, "off": 4, "data": _d(2)},
        {"op": "truncate", "path": "f", "size": 1},
        {"op": "lclose", "slot": 0},
    ]),
    # unlink of a file open with writes: POSIX keeps the descriptor working.
    # (No comparison of the trees between the steps: their stat would
    # refresh the kernel's attributes, and the read would not need them.)
    "unlink-while-open": ("held", [
        {"op": "lopen", "slot": 0, "path": "f", "create": 1},
        {"op": "lwrite", "slot": 0, "off": 0, "data": _d(5), "nocheck": 1},
        {"op": "unlink", "path": "f", "nocheck": 1},
        {"op": "lread", "slot": 0, "off": 0, "len": 100},
        {"op": "lwrite", "slot": 0, "off": 5, "data": _d(4)},
        {"op": "lclose", "slot": 0},
    ]),
    # fstat and lseek(SEEK_END) of an open file after its unlink.
    "fstat-unlinked": ("held", [
        {"op": "lopen", "slot": 0, "path": "f", "create": 1},
        {"op": "unlink", "path": "f"},
        {"op": "lfstat", "slot": 0},
        {"op": "lclose", "slot": 0},
    ]),
    "lseek-end-unlinked": ("held", [
        {"op": "lopen", "slot": 0, "path": "f", "create": 1},
        {"op": "lwrite", "slot": 0, "off": 0, "data": _d(11), "nocheck": 1},
        {"op": "unlink", "path": "f", "nocheck": 1},
        {"op": "lseekend", "slot": 0},
        {"op": "lclose", "slot": 0},
    ]),
    # A new file, still open, in a folder that is renamed: it must move
    # with its folder (and keep the folder from being removed).
    "rename-folder-of-new-file": ("helddir", [
        {"op": "mkdir", "path": "d1"},
        {"op": "lopen", "slot": 0, "path": "d1/f", "create": 1, "nocheck": 1},
        {"op": "rename", "src": "d1", "dst": "d2", "nocheck": 1},
        {"op": "listdir", "path": "d2"},
        {"op": "rmdir", "path": "d2"},
        {"op": "lwrite", "slot": 0, "off": 0, "data": _d(10)},
        {"op": "lclose", "slot": 0},
    ]),
    # A folder renamed over a folder that holds only a new file, still open:
    # ENOTEMPTY (the new file must not be lost).
    "rename-over-folder-of-new-file": ("helddir", [
        {"op": "mkdir", "path": "a"},
        {"op": "mkdir", "path": "b"},
        {"op": "lopen", "slot": 0, "path": "b/f", "create": 1},
        {"op": "rmdir", "path": "b"},
        {"op": "rename", "src": "a", "dst": "b"},
        {"op": "lwrite", "slot": 0, "off": 0, "data": _d(10)},
        {"op": "lclose", "slot": 0},
    ]),
    # A name of 256 bytes: ENAMETOOLONG, whatever the call.
    "name-too-long": ("longname", [
        {"op": "create", "path": NAME_255, "excl": 1, "trunc": 0, "data": _d(3)},
        {"op": "stat", "path": NAME_256},
        {"op": "create", "path": NAME_256, "excl": 1, "trunc": 0, "data": _d(3)},
        {"op": "mkdir", "path": NAME_256},
        {"op": "rename", "src": NAME_255, "dst": NAME_256},
    ]),
    # rename over a file that is open: the descriptor keeps the old file.
    "rename-over-open": ("held", [
        {"op": "create", "path": "a", "excl": 1, "trunc": 0, "data": _d(6)},
        {"op": "lopen", "slot": 0, "path": "a", "create": 0},
        {"op": "create", "path": "b", "excl": 1, "trunc": 0, "data": _d(3, 3)},
        {"op": "rename", "src": "b", "dst": "a"},
        {"op": "lread", "slot": 0, "off": 0, "len": 100},
        {"op": "lwrite", "slot": 0, "off": 0, "data": _d(1, 4)},
        {"op": "lclose", "slot": 0},
    ]),
    # These must work: rename of an open file, then writes and close; an
    # fsync makes writes visible to a second opening; sparse writes across
    # the block boundary; O_APPEND.
    "rename-open-file": (None, [
        {"op": "mkdir", "path": "d"},
        {"op": "lopen", "slot": 0, "path": "a", "create": 1},
        {"op": "lwrite", "slot": 0, "off": 0, "data": _d(5)},
        {"op": "rename", "src": "a", "dst": "d/b"},
        {"op": "lwrite", "slot": 0, "off": 5, "data": _d(1)},
        {"op": "rename", "src": "d", "dst": "e"},
        {"op": "lwrite", "slot": 0, "off": 70000, "data": _d(3)},
        {"op": "lclose", "slot": 0},
    ]),
    "fsync-then-second-open": (None, [
        {"op": "lopen", "slot": 0, "path": "f", "create": 1},
        {"op": "lwrite", "slot": 0, "off": 0, "data": _d(70000)},
        {"op": "lfsync", "slot": 0},
        {"op": "read", "path": "f", "off": 65530, "len": 100},
        {"op": "lclose", "slot": 0},
    ]),
    "sparse-across-blocks": (None, [
        {"op": "create", "path": "f", "excl": 1, "trunc": 0, "data": _d(10)},
        {"op": "write", "path": "f", "off": 65530, "data": _d(20), "rdwr": 0},
        {"op": "write", "path": "f", "off": 200000, "data": _d(1), "rdwr": 1},
        {"op": "truncate", "path": "f", "size": 131072},
        {"op": "truncate", "path": "f", "size": 131073},
        {"op": "append", "path": "f", "datas": [_d(5), _d(65536)]},
        {"op": "read", "path": "f", "off": 65536, "len": 65536},
    ]),
    # ---- metadata, and operations that change nothing. t_mount_model.sh
    # runs `audit verify` after each scenario: a `touch` that changes
    # nothing, or an empty version, is an event verify rejects.
    "chmod-new-mode": ("chmod", [
        _mk("f", 100),
        {"op": "chmod", "path": "f", "mode": 0o644},
        {"op": "chmod", "path": "f", "mode": 0o400},
        {"op": "read", "path": "f", "off": 0, "len": 200},
        {"op": "mkdir", "path": "d"},
        {"op": "chmod", "path": "d", "mode": 0o755},
    ]),
    "chmod-same-mode": ("samemode", [
        _mk("f", 100),
        {"op": "chmod", "path": "f", "mode": "same"},
    ]),
    "chmod-same-mode-folder": ("samemode", [
        {"op": "mkdir", "path": "d"},
        {"op": "chmod", "path": "d", "mode": "same"},
    ]),
    "chmod-twice": ("samemode", [
        _mk("f", 100),
        {"op": "chmod", "path": "f", "mode": 0o644},
        {"op": "chmod", "path": "f", "mode": 0o644},
    ]),
    "fchmod-new-mode": ("chmod", [
        _mk("f", 100),
        {"op": "fchmod", "path": "f", "rdwr": 0, "data": _d(10, 2), "off": 0, "fsync": 1, "mode": 0o640},
        {"op": "fchmod", "path": "f", "rdwr": 1, "mode": 0o644},
    ]),
    # vim's save: open O_WRONLY, write, fsync, fchmod to the mode the file
    # already has, close.
    "fchmod-same-mode-vim": ("samemode", [
        _mk("f", 100),
        {"op": "chmod", "path": "f", "mode": 0o644},
        {"op": "fchmod", "path": "f", "rdwr": 0, "data": _d(10, 2), "off": 0, "fsync": 1, "mode": "same"},
    ]),
    "fchmod-same-mode-nofsync": ("samemode", [
        _mk("f", 100),
        {"op": "fchmod", "path": "f", "rdwr": 0, "data": _d(10, 2), "off": 0, "fsync": 0, "mode": "same"},
    ]),
    "fchmod-same-mode-nowrite": ("samemode", [
        _mk("f", 100),
        {"op": "fchmod", "path": "f", "rdwr": 1, "mode": "same"},
    ]),
    "utime-new-times": ("utime", [
        _mk("f", 100),
        {"op": "utime", "path": "f", "ns": [1_700_000_000_123_456_789, 1_600_000_000_987_654_321]},
        {"op": "mkdir", "path": "d"},
        {"op": "utime", "path": "d", "ns": [1_700_000_000_000_000_001, 1_650_000_000_500_000_000]},
    ]),
    "utime-same-times": ("sametime", [
        _mk("f", 100),
        {"op": "utime", "path": "f", "ns": "same"},
    ]),
    "utime-same-times-folder": ("sametime", [
        {"op": "mkdir", "path": "d"},
        {"op": "utime", "path": "d", "ns": "same"},
    ]),
    "utime-twice": ("sametime", [
        _mk("f", 100),
        {"op": "utime", "path": "f", "ns": [1_700_000_000_123_456_789, 1_600_000_000_987_654_321]},
        {"op": "utime", "path": "f", "ns": [1_700_000_000_123_456_789, 1_600_000_000_987_654_321]},
    ]),
    # `touch f` twice within a second
    "utime-now-twice": ("utimenow", [
        _mk("f", 100),
        {"op": "utime", "path": "f", "ns": None},
        {"op": "utime", "path": "f", "ns": None},
    ]),
    # `touch` through a descriptor, right after a write (the same second)
    "futimens-now": ("utimenow", [
        _mk("f", 100),
        {"op": "futimens", "path": "f", "rdwr": 1, "ns": None},
    ]),
    "futimens-now-after-write": ("utimenow", [
        _mk("f", 100),
        {"op": "futimens", "path": "f", "rdwr": 0, "data": _d(10, 2), "off": 0, "fsync": 1, "ns": None},
    ]),
    # The mtime set is the mtime shown (times are compared here only).
    "utime-mtime-seconds": (None, [
        _mk("f", 100),
        {"op": "utime", "path": "f", "ns": [1_700_000_000_123_456_789, 1_600_000_000_987_654_321]},
        {"op": "mtime", "path": "f", "part": "s"},
    ]),
    "utime-mtime-nanoseconds": (None, [
        _mk("f", 100),
        {"op": "utime", "path": "f", "ns": [1_700_000_000_123_456_789, 1_600_000_000_987_654_321]},
        {"op": "mtime", "path": "f", "part": "ns"},
    ]),
    # tar and cp -p: write, futimens, close; the time goes with the version.
    "futimens-after-write-mtime": (None, [
        _mk("f", 100),
        {"op": "futimens", "path": "f", "rdwr": 0, "data": _d(10, 2), "off": 0,
         "ns": [1_700_000_000_123_456_789, 1_600_000_000_987_654_321]},
        {"op": "mtime", "path": "f", "part": "s"},
    ]),
    "futimens-same-times": ("sametime", [
        _mk("f", 100),
        {"op": "futimens", "path": "f", "rdwr": 1, "ns": "same"},
    ]),
    "futimens-same-times-after-write": ("sametime", [
        _mk("f", 100),
        {"op": "futimens", "path": "f", "rdwr": 0, "data": _d(10, 2), "off": 0, "fsync": 1, "ns": "same"},
    ]),
    "xattr-user-foo": ("xattr", [
        _mk("f", 100),
        {"op": "setxattr", "path": "f", "name": "user.foo"},
        {"op": "mkdir", "path": "d"},
        {"op": "setxattr", "path": "d", "name": "user.foo"},
        {"op": "setxattr", "path": "missing", "name": "user.foo"},
    ]),
    "xattr-casevault-version": ("xattr", [
        _mk("f", 100),
        {"op": "setxattr", "path": "f", "name": "user.casevault.version"},
        {"op": "setxattr", "path": "f", "name": "user.casevault.node"},
    ]),
    # O_TRUNC openings with nothing written after them.
    "otrunc-existing": ("otrunc", [
        _mk("f", 5000),
        {"op": "otrunc", "path": "f"},
        {"op": "stat", "path": "f"},
    ]),
    "otrunc-empty": ("otruncempty", [
        _mk("f", 0),
        {"op": "otrunc", "path": "f", "same": 1},
        {"op": "create", "path": "f", "excl": 0, "trunc": 1, "data": [0, 0]},
    ]),
    "otrunc-emptied": ("otruncempty", [
        _mk("f", 5000),
        {"op": "truncate", "path": "f", "size": 0},
        {"op": "otrunc", "path": "f", "same": 1},
    ]),
    "truncate-same-size": ("truncsame", [
        _mk("f", 3000),
        {"op": "truncate", "path": "f", "size": 3000, "same": 1},
        {"op": "ftruncate", "path": "f", "size": 3000, "same": 1},
    ]),
    "truncate-empty-to-zero": ("truncsame", [
        _mk("f", 0),
        {"op": "truncate", "path": "f", "size": 0, "same": 1},
    ]),
    "fsync-unchanged": ("fsyncnop", [
        _mk("f", 100),
        {"op": "fsyncnop", "path": "f", "rdwr": 1},
        {"op": "fsyncnop", "path": "f", "rdwr": 0},
    ]),
    "fsync-unchanged-held": ("fsyncnop", [
        _mk("f", 100),
        {"op": "lopen", "slot": 0, "path": "f", "create": 0},
        {"op": "lfsync", "slot": 0},
        {"op": "lfsync", "slot": 0},
        {"op": "lclose", "slot": 0},
    ]),
    "fsync-twice-after-write": ("fsyncnop", [
        {"op": "lopen", "slot": 0, "path": "f", "create": 1},
        {"op": "lwrite", "slot": 0, "off": 0, "data": _d(100)},
        {"op": "lfsync", "slot": 0},
        {"op": "lfsync", "slot": 0},
        {"op": "lclose", "slot": 0},
    ]),
    "rename-over-existing": (None, [
        _mk("a", 100),
        _mk("b", 200, 2),
        {"op": "rename", "src": "a", "dst": "b"},
        {"op": "read", "path": "b", "off": 0, "len": 1000},
        {"op": "create", "path": "c", "excl": 1, "trunc": 0, "data": [0, 0]},
        {"op": "rename", "src": "b", "dst": "c"},
    ]),
    # The target of a rename takes the source's mode, as the inode it is.
    "rename-over-existing-mode": ("renamemode", [
        _mk("a", 100),
        {"op": "chmod", "path": "a", "mode": 0o644},
        _mk("b", 200, 2),
        {"op": "rename", "src": "a", "dst": "b", "diffmode": 1},
    ]),
    "rename-onto-itself": ("selfrename", [
        _mk("a", 100),
        {"op": "rename", "src": "a", "dst": "a"},
        {"op": "mkdir", "path": "d"},
        {"op": "rename", "src": "d", "dst": "d"},
        {"op": "rename", "src": "missing", "dst": "missing"},
    ]),
    # A descriptor held on the target of a rename holds the file replaced:
    # what it writes then does not show at the name (decisions.md: renames
    # follow open files; unlinked files keep their descriptor).
    "rename-over-held-then-write": ("held", [
        _mk("a", 600),
        {"op": "lopen", "slot": 0, "path": "a", "create": 0},
        _mk("b", 300, 3),
        {"op": "rename", "src": "b", "dst": "a"},
        {"op": "lwrite", "slot": 0, "off": 0, "data": _d(50, 4), "nocheck": 1},
        {"op": "lclose", "slot": 0},
        {"op": "read", "path": "a", "off": 0, "len": 1000},
    ]),
    "unlink-while-open-then-close": ("held", [
        _mk("a", 600),
        {"op": "lopen", "slot": 0, "path": "a", "create": 0},
        {"op": "unlink", "path": "a"},
        {"op": "lwrite", "slot": 0, "off": 0, "data": _d(50, 4), "nocheck": 1},
        {"op": "lfsync", "slot": 0},
        {"op": "lclose", "slot": 0},
    ]),
    "chmod-while-open": ("held", [
        {"op": "lopen", "slot": 0, "path": "f", "create": 1},
        {"op": "lwrite", "slot": 0, "off": 0, "data": _d(50)},
        {"op": "chmod", "path": "f", "mode": 0o644},
        {"op": "lclose", "slot": 0},
        {"op": "stat", "path": "f"},
    ]),
    "remount-keeps-modes": ("chmod", [
        _mk("f", 100),
        {"op": "chmod", "path": "f", "mode": 0o640},
        {"op": "mkdir", "path": "d"},
        {"op": "chmod", "path": "d", "mode": 0o750},
        {"op": "remount"},
        {"op": "stat", "path": "f"},
    ]),
    "remount-keeps-everything": (None, [
        {"op": "mkdir", "path": "d"},
        {"op": "create", "path": "d/f", "excl": 1, "trunc": 0, "data": _d(100000)},
        {"op": "lopen", "slot": 0, "path": "g", "create": 1},
        {"op": "lwrite", "slot": 0, "off": 3, "data": _d(7)},
        {"op": "remount"},
        {"op": "read", "path": "g", "off": 0, "len": 100},
    ]),
}


# ---- running --------------------------------------------------------------

# Commands run mid-run (audit verify) go through a process started before
# any file of the mount is open: a fork+exec here while a descriptor is
# open would close its copy in the child, and every close is a FUSE flush,
# which commits a version.
_CMD_RUNNER = r"""
import base64, json, subprocess, sys
for line in sys.stdin:
    req = json.loads(line)
    inp = base64.b64decode(req["input"]) if req["input"] is not None else None
    r = subprocess.run(req["argv"], input=inp, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sys.stdout.write(json.dumps({"rc": r.returncode, "out": base64.b64encode(r.stdout).decode(),
                                 "err": base64.b64encode(r.stderr).decode()}) + "\n")
    sys.stdout.flush()
"""


class CmdRunner:
    """Runs commands through that process, one at a time (thread-safe)."""

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, "-c", _CMD_RUNNER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.lock = threading.Lock()

    def run(self, argv, data=None):
        """(exit code, stdout, stderr), the outputs as bytes; data: stdin"""
        import base64
        with self.lock:
            self.proc.stdin.write(json.dumps({"argv": argv, "input": None if data is None else
                                              base64.b64encode(data).decode()}) + "\n")
            self.proc.stdin.flush()
            d = json.loads(self.proc.stdout.readline())
        return d["rc"], base64.b64decode(d["out"]), base64.b64decode(d["err"])


class Runner:
    def __init__(self, args):
        self.args = args
        self.mount_cmd = json.loads(args.mount_cmd) if args.mount_cmd else None
        self.umount_cmd = json.loads(args.umount_cmd) if args.umount_cmd else None
        self.verify_cmd = json.loads(args.verify_cmd) if args.verify_cmd else None
        self.cmds = CmdRunner() if self.verify_cmd else None
        self.verifies = 0
        self.current = None          # (step, op) for the watchdog
        self.last_result = None      # the reference's outcome of the last op
        self.remounts = 0

    def verify(self):
        """None if `audit verify` passes, else its exit code and output."""
        if not self.verify_cmd:
            return None
        rc, out, err = self.cmds.run(self.verify_cmd)
        out = (out + err).decode(errors="replace")
        if rc == 0:
            self.verifies += 1
            return None
        lines = out.strip().splitlines()
        return ["audit verify exited %d:" % rc] + ["  " + x for x in lines[:20]]

    def blame(self, v, step_times, ops):
        """Lines naming the event verify rejects (from `audit log --json`)
        and the steps run in its second (event times are whole seconds)."""
        import calendar
        m = [w for line in v for w in line.replace("(", " ").replace(")", " ").split()
             if len(w) == 40 and all(c in "0123456789abcdef" for c in w)]
        if not m:
            return []
        log = self.verify_cmd[:-2] + ["audit", "log", "--json"]
        rc, out, err = self.cmds.run(log)
        ev = prev = None
        for line in out.decode(errors="replace").splitlines():
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if e.get("commit") == m[0]:
                ev = e
                break
            prev = e
        if ev is None:
            return ["(event %s not found in audit log --json)" % m[0]]
        out = ["the event verify rejects: %s" % ev.get("subject"),
               "  the event before it: %s" % (prev.get("subject") if prev else None)]
        t = calendar.timegm(time.strptime(ev["time"], "%Y-%m-%dT%H:%M:%SZ"))
        near = [i for i, (a, b) in enumerate(step_times) if a < t + 1 and b >= t]
        sus = [i for i in near if op_class(ops[i])]
        out.append("the steps that ran in its second (%s): %d, of which of a class (CLASSES):" % (ev["time"], len(near)))
        for i in sus[:40]:
            out.append("  step %d: [%s] %s" % (i + 1, op_class(ops[i]), describe(ops[i])))
        out.append("(MODEL_VERIFY_EVERY=1 with the same seed verifies after every step)")
        return out

    def daemon_pid(self):
        """The mount daemon: a process whose command line ends in 'mount MOUNTPOINT'."""
        mp = self.args.mountpoint
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            while argv and argv[-1] == b"":
                argv.pop()
            if len(argv) >= 2 and argv[-2] == b"mount" and os.path.abspath(argv[-1].decode(errors="replace")) == mp:
                return int(d)
        return None

    def remount(self):
        """Unmount and mount again. Returns None, or a description of what failed."""
        pid = self.daemon_pid()
        p = subprocess.run(self.umount_cmd, capture_output=True, text=True)
        if p.returncode != 0:
            return "umount exited %d: %s" % (p.returncode, p.stderr.strip()[:300])
        deadline = time.time() + 15
        while pid and os.path.exists("/proc/%d" % pid) and time.time() < deadline:
            try:
                with open("/proc/%d/stat" % pid) as f:
                    if f.read().split(") ")[-1].startswith("Z"):
                        break
            except OSError:
                break
            time.sleep(0.02)
        if pid and os.path.exists("/proc/%d" % pid) and time.time() >= deadline:
            return "the mount daemon (pid %d) did not exit within 15 s of the unmount" % pid
        p = subprocess.run(self.mount_cmd, capture_output=True, text=True)
        if p.returncode != 0:
            return "mount exited %d: %s" % (p.returncode, p.stderr.strip()[:300])
        self.remounts += 1
        return None

    def apply(self, mnt, ref, o):
        """Run o on both sides: (mount result, reference result)."""
        if o["op"] == "remount":
            a = mnt.close_all()
            b = ref.close_all()
            if a != b:
                return ["closes", a], ["closes", b]
            if not self.mount_cmd:
                return ["ok", None], ["ok", None]
            why = self.remount()
            return (["err", "remount", why] if why else ["ok", None]), ["ok", None]
        a, b = run_op(mnt, o), run_op(ref, o)
        if o["op"] == "setxattr":
            # Compared only as refused: the mount answers ENOTSUP, as
            # documented (docs/decisions.md), or both sides fail.
            want = ename(errno.ENOTSUP)
            if (a[0] == "err" and a[2] == want) or (a[0] == "err" and b[0] == "err"):
                return ["ok", "refused"], ["ok", "refused"]
            return a, ["%s from the mount (or both fail); reference:" % want] + b
        return a, b

    def check(self, mnt, ref, step, o, full=True):
        """None if both sides agree after o, else a list of lines."""
        a, b = self.apply(mnt, ref, o)
        self.last_result = b
        if a != b:
            return ["results differ", "  mount:     " + show_result(a), "  reference: " + show_result(b)]
        if not full:
            return None
        via = slot_paths(ref)
        d = diff_trees(snapshot(mnt, via), snapshot(ref, via))
        if d:
            return ["trees differ after the operation (both returned %s):" % show_result(a)] + ["  " + x for x in d]
        return None

    def run_ops(self, mnt, ref, ops, full_each=True, avoid=()):
        """Replay ops; the index of the first failing op and its report, or
        (None, None). An op of a class in `avoid` (known_divergence)
        stops the replay: (index, None)."""
        for i, o in enumerate(ops):
            self.current = (i, o)
            if avoid:
                files = {}
                for dirpath, dirnames, filenames in os.walk(ref.root):
                    for f in filenames:
                        files[os.path.relpath(os.path.join(dirpath, f), ref.root)] = 1
                if known_divergence(o, slot_paths(ref), files, avoid):
                    return i, None
            last = i == len(ops) - 1
            full = (full_each and not o.get("nocheck")) or last or o["op"] == "remount"
            why = self.check(mnt, ref, i, o, full=full)
            if why:
                return i, why
        return None, None


def fresh_pair(args, tag):
    m = os.path.join(args.mount, tag)
    r = os.path.join(args.ref, tag)
    os.mkdir(m, 0o700)
    os.mkdir(r, 0o700)
    return Side("mount", m), Side("reference", r)


# Operations that change nothing: what reads, and a call that failed whole.
READ_ONLY = {"read", "stat", "listdir", "lread", "lfstat", "lseekend"}
ATOMIC_STAGES = {"open", "rename", "unlink", "mkdir", "rmdir", "truncate", "stat", "listdir"}


def shrink(runner, args, ops, why, deadline, results=None):
    """Greedy delta debugging: a shorter list of ops that fails the same way
    (the same kind of mismatch, at its last op), replayed in fresh folders.
    results: the reference's outcome of each op of the run, if known."""
    n_try = [0]
    kind = why[0].split(" (")[0]
    last = [why]

    def fails(cand):
        n_try[0] += 1
        mnt, ref = fresh_pair(args, "shrink-%d" % n_try[0])
        try:
            i, w = runner.run_ops(mnt, ref, cand, full_each=False, avoid=args.avoid)
        finally:
            mnt.close_all()
            ref.close_all()
        if i == len(cand) - 1 and w and w[0].split(" (")[0] == kind:
            last[0] = w
            return True
        return False

    # Without the operations that changed nothing (in the original run).
    if results and len(results) == len(ops):
        keep = [o for o, r in zip(ops[:-1], results[:-1])
                if o["op"] not in READ_ONLY and not (r and r[0] == "err" and r[1] in ATOMIC_STAGES)]
        if len(keep) < len(ops) - 1 and fails(keep + ops[-1:]):
            ops = keep + ops[-1:]
    # The cause is usually recent: first the shortest suffix that fails.
    k = 1
    while k < len(ops) and time.time() < deadline:
        if fails(ops[-k:]):
            ops = ops[-k:]
            break
        k *= 2
    chunk = max(1, len(ops) // 2)
    while chunk >= 1 and time.time() < deadline:
        i = 0
        removed = False
        while i < len(ops) - 1 and time.time() < deadline:     # keep the failing op last
            cand = ops[:i] + ops[i + chunk:] if i + chunk < len(ops) else None
            if cand and fails(cand):
                ops = cand
                removed = True
            else:
                i += chunk
        if not removed:
            chunk //= 2
    return ops, last[0], time.time() < deadline, n_try[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mount", help="a folder on the mount (a case folder)")
    ap.add_argument("--ref", help="a plain directory")
    ap.add_argument("--steps", type=int, default=int(os.environ.get("MODEL_STEPS", "3000")))
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--mountpoint", default=None, help="where the mount is (for the daemon's pid)")
    ap.add_argument("--mount-cmd", default=None, help="JSON argv that mounts again")
    ap.add_argument("--umount-cmd", default=None, help="JSON argv that unmounts")
    ap.add_argument("--remount-every", type=int, default=400, help="about every N steps")
    ap.add_argument("--verify-cmd", default=None,
                    help="JSON argv of `casevault --vault DIR audit verify` (it must end in 'audit verify')")
    ap.add_argument("--verify-every", type=int, default=int(os.environ.get("MODEL_VERIFY_EVERY", "250")),
                    help="run --verify-cmd every N steps (and at the end)")
    ap.add_argument("--scenario", choices=sorted(SCENARIOS), default=None,
                    help="run one fixed scenario (nothing avoided) instead")
    ap.add_argument("--list-scenarios", action="store_true")
    ap.add_argument("--replay", default=None, help="JSON lines of operations to run instead")
    ap.add_argument("--shrink-secs", type=float, default=float(os.environ.get("MODEL_SHRINK_SECS", "90")))
    ap.add_argument("--strict", action="store_true", default=os.environ.get("MODEL_STRICT") == "1")
    ap.add_argument("--avoid", dest="avoid_also", default=os.environ.get("MODEL_AVOID", ""),
                    help="comma-separated classes not to generate: " + ", ".join(CLASSES))
    ap.add_argument("--failed-scenarios", default="",
                    help="comma-separated scenarios that failed: their classes are not generated")
    ap.add_argument("--hang-secs", type=float, default=60.0, help="a step longer than this is a hang")
    args = ap.parse_args()
    args.mountpoint = os.path.abspath(args.mountpoint) if args.mountpoint else None

    if args.list_scenarios:
        print("\n".join(SCENARIOS))
        return 0
    if not args.mount or not args.ref:
        ap.error("--mount and --ref are needed")
    # A documented difference of the mount, not a bug: never generated.
    args.avoid = set(x for x in args.avoid_also.split(",") if x) | {"hiddendir"}
    failed = [x for x in args.failed_scenarios.split(",") if x]
    for name in failed:
        if name in SCENARIOS and SCENARIOS[name][0]:
            args.avoid.add(SCENARIOS[name][0])
    if args.strict:
        args.avoid = set()
    for c in args.avoid:
        if c not in CLASSES:
            ap.error("unknown class %r (one of %s)" % (c, ", ".join(CLASSES)))
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 2 ** 31)
    if not args.scenario:
        print("seed %d" % seed, flush=True)
        for c in sorted(args.avoid):
            why = [n for n in failed if n in SCENARIOS and SCENARIOS[n][0] == c]
            print("not generated (%s): %s" % ("scenario %s fails" % ", ".join(why) if why else "--avoid", CLASSES[c]),
                  flush=True)

    runner = Runner(args)

    # A watchdog: a step that does not return (a hung mount) is reported.
    last = [time.time(), None]

    def watchdog():
        while True:
            time.sleep(1)
            cur = runner.current
            if cur is not last[1]:
                last[0], last[1] = time.time(), cur
            elif time.time() - last[0] > args.hang_secs and cur is not None:
                print("FAIL: step %d did not finish in %d s (a hang): %s" % (cur[0], args.hang_secs, describe(cur[1])), flush=True)
                print("seed %d" % seed, flush=True)
                os._exit(1)
    threading.Thread(target=watchdog, daemon=True).start()

    if args.scenario:
        ops = SCENARIOS[args.scenario][1]
        mnt, ref = fresh_pair(args, "scenario-" + args.scenario)
        i, why = runner.run_ops(mnt, ref, ops)
        mnt.close_all()
        ref.close_all()
        if i is None:
            return 0
        print("  MISMATCH at operation %d of scenario %s:" % (i + 1, args.scenario))
        for k, o in enumerate(ops[:i + 1]):
            print("    %d. %s" % (k + 1, describe(o)))
        print("\n".join("  " + x for x in why))
        return 1

    mnt, ref = fresh_pair(args, "run")
    if args.replay:
        with open(args.replay) as f:
            ops = [json.loads(line) for line in f if line.strip()]
        i, why = runner.run_ops(mnt, ref, ops)
        if i is None:
            mnt.close_all()
            ref.close_all()
            v = runner.verify()
            if v:
                print("VERIFY FAILED after the replay of %d operations:" % len(ops))
                print("\n".join("  " + x for x in v))
                return 1
            print("replay: %d operations, no mismatch" % len(ops))
            return 0
        print("MISMATCH at operation %d: %s" % (i, describe(ops[i])))
        print("\n".join(why))
        return 1

    rng = random.Random(seed)
    gen = Gen(rng, ref, args.avoid)
    ops = []
    results = []
    t0 = time.time()
    counts = {}
    next_remount = rng.randint(args.remount_every // 2, args.remount_every * 3 // 2)
    last_verified = 0
    step_times = []                  # (start, end) of each step, for blame()
    v = runner.verify()
    if v:
        print("VERIFY FAILED before the first step (an earlier test broke this vault's history):")
        print("\n".join("  " + x for x in v))
        return 1
    for step in range(1, args.steps + 1):
        if runner.mount_cmd and (step == next_remount or step == args.steps):
            o = {"op": "remount"}
            next_remount = step + rng.randint(args.remount_every // 2, args.remount_every * 3 // 2)
        else:
            o = gen.next()
        ops.append(o)
        runner.current = (step, o)
        counts[o["op"]] = counts.get(o["op"], 0) + 1
        t_step = time.time()
        why = runner.check(mnt, ref, step, o)
        step_times.append((t_step, time.time()))
        results.append(runner.last_result)
        if not why and (step % args.verify_every == 0 or step == args.steps):
            if step == args.steps:
                mnt.close_all()          # the last versions are committed first
                ref.close_all()
            v = runner.verify()
            if v:
                print("VERIFY FAILED at step %d (seed %d), after: %s" % (step, seed, describe(o)))
                print("\n".join("  " + x for x in v))
                print("it passed at step %d; the operations since (the last 40):" % last_verified)
                for k in range(max(last_verified, len(ops) - 40), len(ops)):
                    print("  step %d: %s" % (k + 1, describe(ops[k])))
                print("classes of operations since: %s" % ", ".join(sorted(set(
                    str(op_class(x)) for x in ops[last_verified:] if op_class(x)))))
                for line in runner.blame(v, step_times, ops):
                    print(line)
                print("seed %d" % seed)
                return 1
            last_verified = step
        if why:
            print("MISMATCH at step %d (seed %d): %s" % (step, seed, describe(o)))
            print("\n".join(why))
            print("the last operations before it:")
            for k in range(max(0, len(ops) - 15), len(ops) - 1):
                print("  step %d: %s" % (k + 1, describe(ops[k])))
            sys.stdout.flush()
            pid = runner.daemon_pid() if args.mountpoint else 0
            if args.mountpoint and pid is None:
                print("the mount daemon is gone (crashed?): not shrinking")
            elif args.shrink_secs > 0:
                mnt.close_all()
                ref.close_all()
                print("shrinking (up to %d s)..." % args.shrink_secs, flush=True)
                small, why2, done, tries = shrink(runner, args, ops, why, time.time() + args.shrink_secs, results)
                print("a sequence of %d operations that fails the same way (%s, %d replays):"
                      % (len(small), "minimal by removal" if done else "shrinking stopped at the time limit", tries))
                shown = small if len(small) <= 60 else small[-60:]
                if len(shown) < len(small):
                    print("  (the last 60 of them)")
                for k, o2 in enumerate(shown):
                    print("  %d. %s" % (len(small) - len(shown) + k + 1, describe(o2)))
                print("\n".join("  " + x for x in why2))
                if len(small) <= 200:
                    print("as JSON lines (MODEL_REPLAY=FILE of the lines without 'REPLAY '):")
                    for o2 in small:
                        print("REPLAY " + json.dumps(o2, separators=(",", ":")))
                else:
                    print("too long to print as JSON: MODEL_SEED=%d replays the whole run" % seed)
            return 1
    mnt.close_all()
    ref.close_all()
    runner.current = None
    print("model: %d steps agree (%s), %d remounts, %d verifies passed, %.1f s"
          % (args.steps, ", ".join("%s %d" % kv for kv in sorted(counts.items())), runner.remounts,
             runner.verifies, time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
