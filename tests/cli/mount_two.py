#!/usr/bin/env python3
"""
mount_two.py: two caseworkers on one case at once, against a model.

One works on the mount (python file operations in the case folder), the
other through the CLI (put, get, mkdir, mv, rm, ls) on the same case. Each
batch gives every top-level name of the case (files f0.., folders d0..)
to one of the two, or to neither; both then run their operations at the
same time, each on its own names only, so the outcome does not depend on
the order and the model (what was last written wins) knows it. After each
batch, once the mount's attribute cache (1 s) has expired, both views are
compared with the model: the mount's tree, and the CLI's (ls --json and
get of every file). Then `audit verify` runs.

    mount_two.py --mount CASEDIR --code CODE --cli JSON --verify JSON
                 [--batches N] [--seed N]

--cli is the argv of the CLI user's casevault (with --vault, --user and
--passphrase-file); --verify the argv of `audit verify`. The first line
printed is "seed N". Exit status: a bit mask, 1 a view differed from the
model (after the first, the model follows the vault and goes on), 2
`audit verify` failed (the run stops there), 4 an operation's outcome was
not the expected one.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time

TOP_FILES = ["f%d" % i for i in range(6)] + ["notes 1.txt"]
TOP_DIRS = ["d0", "d1", "scans 2026"]
SUB_FILES = ["a", "b", "c.pdf"]
# the mount's attribute and entry cache (1 s), and a margin
CACHE_SECS = float(os.environ.get("TWO_CACHE_SECS", "1.1"))

# Commands run through a process started before any file of the mount is
# open (a fork+exec would close copies of open descriptors: FUSE flushes).
from mount_model import CmdRunner  # noqa: E402 (next to this file)


def data(rng):
    n = rng.choice([0, 1, 17, 300, 4096, 70000, 150000])
    return bytes(rng.getrandbits(8) for _ in range(min(n, 64))) * (n // 64) + \
        bytes(rng.getrandbits(8) for _ in range(n % 64))


def describe(op):
    """One line for a planned operation (data as its length)."""
    parts = [op[0], op[1]]
    if op[0] in ("write", "append"):
        parts.append("(%d bytes)" % len(op[2]))
    elif op[0] == "mv":
        parts.append(op[2])
    return " ".join(parts)


def show(b):
    if b is None:
        return "missing"
    if b == "dir":
        return "a folder"
    return "%d bytes %r" % (len(b), b[:16])


class Two:
    def __init__(self, args):
        self.args = args
        self.cli = json.loads(args.cli)
        self.verify_cmd = json.loads(args.verify)
        self.runner = CmdRunner()
        self.model = {}          # relpath -> bytes | "dir"
        self.bad = 0
        self.log = []            # this batch's operations
        self.counts = {}         # "who kind" -> how many

    # ---- the two users' operations ----------------------------------------

    def note(self, who, what, ok, detail=""):
        k = "%s %s" % (who, what.split()[0])
        self.counts[k] = self.counts.get(k, 0) + 1
        self.log.append("  %s: %s%s" % (who, what, "" if ok else "   <-- UNEXPECTED: " + detail))
        if not ok:
            self.bad |= 4

    def names_under(self, top):
        return sorted(p for p in self.model if p == top or p.startswith(top + "/"))

    def plan(self, rng, who, tops):
        """Operations on the names in tops: (kind, args) from the model's
        state now; the model is updated as if they ran."""
        ops = []
        for _ in range(rng.randint(2, 6)):
            top = rng.choice(tops)
            if top in TOP_DIRS:
                if top not in self.model:
                    ops.append(("mkdir", top))
                    self.model[top] = "dir"
                    continue
                files = [p for p in self.names_under(top) if p != top]
                k = rng.random()
                if k < 0.5:
                    p = top + "/" + rng.choice(SUB_FILES)
                    d = data(rng)
                    ops.append(("write", p, d))
                    self.model[p] = d
                elif k < 0.65 and files:
                    p = rng.choice(files)
                    ops.append(("read", p, self.model[p]))
                elif k < 0.8 and files:
                    p = rng.choice(files)
                    ops.append(("rm", p))
                    del self.model[p]
                elif k < 0.9 and files:
                    src = rng.choice(files)
                    dst = top + "/" + rng.choice(SUB_FILES)
                    if dst == src:
                        continue
                    exists = dst in self.model
                    ops.append(("mv", src, dst, exists))
                    # the mount renames over a file; the CLI refuses to
                    if who == "mount" or not exists:
                        self.model[dst] = self.model.pop(src)
                elif not files:
                    ops.append(("rmdir", top))
                    del self.model[top]
                else:
                    ops.append(("ls", top, sorted(p.split("/")[1] for p in files)))
            else:
                k = rng.random()
                if k < 0.55 or top not in self.model:
                    d = data(rng)
                    ops.append(("write", top, d))
                    self.model[top] = d
                elif k < 0.75:
                    ops.append(("read", top, self.model[top]))
                elif k < 0.9:
                    ops.append(("rm", top))
                    del self.model[top]
                else:
                    ops.append(("append", top, data(rng)[:5000]))
                    self.model[top] = self.model[top] + ops[-1][2]
        return ops

    def run_mount(self, ops):
        root = self.args.mount
        for op in ops:
            kind = op[0]
            p = os.path.join(root, op[1])
            try:
                if kind == "mkdir":
                    os.mkdir(p, 0o700)
                elif kind == "rmdir":
                    os.rmdir(p)
                elif kind == "write":
                    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                    os.write(fd, op[2])
                    os.close(fd)
                elif kind == "append":
                    fd = os.open(p, os.O_WRONLY | os.O_APPEND)
                    os.write(fd, op[2])
                    os.close(fd)
                elif kind == "read":
                    with open(p, "rb") as f:
                        got = f.read()
                    self.note("mount", describe(op), got == op[2],
                              "got %s, model %s" % (show(got), show(op[2])))
                    continue
                elif kind == "rm":
                    os.unlink(p)
                elif kind == "mv":
                    os.rename(p, os.path.join(root, op[2]))
                elif kind == "ls":
                    got = sorted(os.listdir(p))
                    self.note("mount", describe(op), got == op[2], "got %s, model %s" % (got, op[2]))
                    continue
                self.note("mount", describe(op), True)
            except OSError as e:
                self.note("mount", describe(op), False, "%s" % e)

    def cv(self, *a, data=None):
        rc, out, err = self.runner.run(self.cli + list(a), data)
        err = "\n".join(x for x in err.decode(errors="replace").splitlines() if "CASEVAULT_KDF=test" not in x)
        return rc, out, err

    def run_cli(self, ops):
        code = self.args.code
        for op in ops:
            kind = op[0]
            cp = code + "/" + op[1]
            what = describe(op)
            if kind == "mkdir":
                rc, out, err = self.cv("mkdir", cp)
            elif kind == "rmdir" or kind == "rm":
                rc, out, err = self.cv("rm", cp)
            elif kind == "write":
                rc, out, err = self.cv("put", cp, "-", data=op[2])
            elif kind == "append":
                rc, out, err = self.cv("get", cp)
                if rc == 0:
                    rc, out, err = self.cv("put", cp, "-", data=out + op[2])
            elif kind == "read":
                rc, out, err = self.cv("get", cp)
                self.note("cli", what, rc == 0 and out == op[2],
                          "exit %d, got %s, model %s %s" % (rc, show(out), show(op[2]), err.strip()[:200]))
                continue
            elif kind == "mv":
                rc, out, err = self.cv("mv", cp, code + "/" + op[2])
                if op[3]:
                    # mv never replaces (decisions.md): exit 1, nothing changes
                    self.note("cli", what + " (onto an existing file: refused)", rc == 1, "exit %d %s" % (rc, err.strip()[:200]))
                    continue
            elif kind == "ls":
                rc, out, err = self.cv("ls", cp, "--json")
                got = sorted(json.loads(x)["name"].rstrip("/") for x in out.decode().splitlines() if x.strip()) \
                    if rc == 0 else None
                self.note("cli", what, got == op[2], "exit %d, got %s, model %s" % (rc, got, op[2]))
                continue
            self.note("cli", what, rc == 0, "exit %d: %s" % (rc, err.strip()[:200]))

    # ---- the views ----------------------------------------------------------

    def mount_view(self):
        tree = {}
        root = self.args.mount
        for dirpath, dirnames, filenames in os.walk(root):
            rel = os.path.relpath(dirpath, root)
            for d in dirnames:
                tree[os.path.normpath(os.path.join(rel, d))] = "dir"
            for f in filenames:
                p = os.path.normpath(os.path.join(rel, f))
                try:
                    with open(os.path.join(dirpath, f), "rb") as fh:
                        tree[p] = fh.read()
                except OSError as e:
                    tree[p] = "error %s" % e
        return tree

    def cli_view(self):
        tree = {}
        todo = [""]
        while todo:
            d = todo.pop()
            rc, out, err = self.cv("ls", self.args.code + ("/" + d if d else ""), "--json")
            if rc != 0:
                tree[d or "."] = "ls exit %d: %s" % (rc, err.strip()[:200])
                continue
            for line in out.decode().splitlines():
                if not line.strip():
                    continue
                o = json.loads(line)
                p = (d + "/" if d else "") + o["name"].rstrip("/")
                if o["type"] == "dir":
                    tree[p] = "dir"
                    todo.append(p)
                else:
                    rc, b, err = self.cv("get", self.args.code + "/" + p)
                    tree[p] = b if rc == 0 else "get exit %d: %s" % (rc, err.strip()[:200])
                    if rc == 0 and o.get("size") != len(b):
                        tree[p] = "ls size %s, get %d bytes" % (o.get("size"), len(b))
        return tree

    def compare(self, name, view):
        out = []
        for p in sorted(set(view) | set(self.model)):
            a, b = view.get(p), self.model.get(p)
            if a != b:
                out.append("  %s: %s %s, model %s" % (p, name, show(a) if not isinstance(a, str) or a == "dir" else a,
                                                      show(b)))
        return out

    # ---- the run ----------------------------------------------------------------

    def batch(self, rng, n):
        tops = TOP_FILES + TOP_DIRS
        owner = {t: rng.choice(["mount", "cli", "mount", "cli", None]) for t in tops}
        mine = {w: [t for t in tops if owner[t] == w] for w in ("mount", "cli")}
        plans = {}
        for w in ("mount", "cli"):
            plans[w] = self.plan(rng, w, mine[w]) if mine[w] else []
        self.log = []
        t = [threading.Thread(target=self.run_mount, args=(plans["mount"],)),
             threading.Thread(target=self.run_cli, args=(plans["cli"],))]
        for x in t:
            x.start()
        for x in t:
            x.join()
        time.sleep(CACHE_SECS)
        diffs = self.compare("the mount", self.mount_view())
        diffs += self.compare("the CLI", self.cli_view())
        if diffs or self.bad & 4:
            print("MISMATCH after batch %d (seed %d): the operations (both users at once):" % (n, self.args.seed))
            print("\n".join(self.log))
            print("\n".join(diffs[:20]))
            sys.stdout.flush()
            if diffs:
                self.bad |= 1
                # go on from what the vault holds
                self.model = {p: v for p, v in self.cli_view().items() if v == "dir" or isinstance(v, bytes)}
        rc, out, err = self.runner.run(self.verify_cmd)
        err = err.decode(errors="replace")
        if rc != 0:
            print("VERIFY FAILED after batch %d (seed %d): audit verify exited %d:" % (n, self.args.seed, rc))
            print("\n".join("  " + x for x in (out.decode() + err).strip().splitlines()[:6]))
            print("the batch's operations:")
            print("\n".join(self.log))
            self.bad |= 2
            return False
        return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mount", required=True)
    ap.add_argument("--code", required=True)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--verify", required=True)
    ap.add_argument("--batches", type=int, default=int(os.environ.get("TWO_BATCHES", "30")))
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1, 2 ** 31)
    print("seed %d" % args.seed, flush=True)
    two = Two(args)
    rng = random.Random(args.seed)
    t0 = time.time()
    for n in range(1, args.batches + 1):
        if not two.batch(rng, n):
            break
    print("%d batches, %.1f s: %s" % (n, time.time() - t0, ", ".join(
        "%s %d" % kv for kv in sorted(two.counts.items()))))
    return two.bad


if __name__ == "__main__":
    sys.exit(main())
