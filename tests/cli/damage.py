#!/usr/bin/env python3
"""Random damage to the used pages of a vault's data.mdb (t_damage.sh).

Each trial copies the vault and its users' checkpoints, damages the copy
(bytes flipped, two pages swapped, a page overwritten with another page or
with random bytes, the file cut short), then reads every document (every
version) as its member, runs `audit log` and `audit export` (for signals,
hangs and exit codes only) and `audit verify` as the auditor. Each trial
is classified:

  crash          a command was killed by a signal, exited >= 128, or a
                 sanitizer reported
  hang           a command outran its time limit
  wrong          a read exited 0 with other bytes than were stored
  exit           a command exited with a code the README does not list
  unverified     a read failed while `audit verify` passed
  not3           a command failed on the damaged file with another exit
                 than 3 (README: a damaged vault file is exit 3, whatever
                 the command)
  rollback       reads failed only because the file holds an older state
                 than a reader saw (its checkpoint refuses it: exit 3,
                 "the history was rolled back"); verify passes, as it
                 cannot know what each user saw (counted apart)
  caught         some command failed with a documented code, verify too
  harmless       every read gave the stored bytes

The first four and `unverified` must stay at 0; so must `not3` with
--strict-exit (CI's run). A trial is replayed with
--seed S --trials 1 --first K (its number K and the run's seed S are printed),
and the same --kind if the run had one: --kind draws one class of damage
only, to hunt it (copy:git:blocks: a page of the `git` table overwritten by
a copy of a page of `blocks`; see damage()). A read's event lands at keys
hashed from its commit, which holds the time, so a replay may take another
path than the run did.

With --mount, each trial mounts the damaged copy instead and reads every
file there: each read gives the stored bytes or fails with EIO (or the
mount ends: ENOTCONN, ECONNABORTED for a read in flight), never hangs,
and the daemon never dies of a signal.
"""
import argparse
import json
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import time

PAGE = 4096
P_BRANCH, P_LEAF, P_OVERFLOW, P_LEAF2 = 0x01, 0x02, 0x04, 0x20
F_BIGDATA, F_SUBDATA, F_DUPDATA = 0x01, 0x02, 0x04
DOCUMENTED = {0, 1, 2, 3, 4, 5}
EXITS = {}      # the exit codes of the commands that failed, over the run


def meta_page(data):
    """0 or 1: the meta page of the newest transaction."""
    ids = [struct.unpack_from("<Q", data, pg * PAGE + 16 + 24 + 96 + 8)[0] for pg in (0, 1)]
    return 0 if ids[0] > ids[1] else 1


def meta(data):
    """The newest meta page: (main db root, last page number, txn id)."""
    best = None
    for pg in (0, 1):
        off = pg * PAGE + 16
        magic, = struct.unpack_from("<I", data, off)
        if magic != 0xBEEFC0DE:
            continue
        dbs = off + 4 + 4 + 8 + 8
        root, = struct.unpack_from("<Q", data, dbs + 48 + 40)
        last, txnid = struct.unpack_from("<QQ", data, dbs + 96)
        if best is None or txnid > best[2]:
            best = (root, last, txnid)
    return best


def used_size(path):
    """The bytes that the pages of the newest meta page take."""
    with open(path, "rb") as f:
        head = f.read(2 * PAGE)
    return (meta(head)[1] + 1) * PAGE


def leaf_nodes(data, root, seen=None, dead=None):
    """(key bytes, flags, value offset, value length) of every leaf node
    under `root`, walking branch pages; the free space of each page goes
    to `dead` (offsets no reader reaches)."""
    seen = set() if seen is None else seen
    stack = [root]
    while stack:
        pg = stack.pop()
        if pg in seen or pg * PAGE + PAGE > len(data):
            continue
        seen.add(pg)
        base = pg * PAGE
        flags, lower, upper = struct.unpack_from("<HHH", data, base + 10)
        if dead is not None and lower < upper <= PAGE:
            dead.append((base + lower, base + upper))
        for i in range((lower - 16) // 2):
            ptr, = struct.unpack_from("<H", data, base + 16 + 2 * i)
            node = base + ptr
            lo, hi, nflags, ksize = struct.unpack_from("<HHHH", data, node)
            key = data[node + 8:node + 8 + ksize]
            if flags & P_BRANCH:
                stack.append(lo | hi << 16 | nflags << 32)
            elif flags & P_LEAF:
                yield key, nflags, node + 8 + ksize, lo | hi << 16


def block_ranges(data):
    """The byte ranges of data.mdb holding blocks' nonces, ciphertexts and
    tags, or that no reader reaches (free space in a page, a page of no
    tree); and the sub-database of each used page (for the report)."""
    root, last, _ = meta(data)
    ranges, owner, dead = [], {0: "meta", 1: "meta"}, []
    dbs = {"freelist": struct.unpack_from("<Q", data, PAGE * meta_page(data) + 16 + 24 + 40)[0]}
    seen = set()
    for key, nflags, off, size in leaf_nodes(data, root, seen, dead):
        if nflags & F_SUBDATA:
            dbs[key.decode(errors="replace")] = struct.unpack_from("<Q", data, off + 40)[0]
    for p in seen:
        owner[p] = "main"
    for name, sub in dbs.items():
        seen = set()
        for key, nflags, off, size in leaf_nodes(data, sub, seen, dead):
            start = off
            if nflags & F_BIGDATA:
                opg, = struct.unpack_from("<Q", data, off)
                npages, = struct.unpack_from("<I", data, opg * PAGE + 12)
                for p in range(opg, opg + npages):
                    owner[p] = name
                start = opg * PAGE + 16
            if name == "blocks":
                # The whole record (format byte, generation, nonce,
                # ciphertext, tag), and the header of its first overflow
                # page, which LMDB does not check when it reads the value.
                ranges.append((start, start + size))
                if nflags & F_BIGDATA:
                    ranges.append((start - 16, start))
        for p in seen:
            owner[p] = name
    dead += [(p * PAGE, (p + 1) * PAGE) for p in range(last + 1) if p not in owner]
    # A meta page is read up to its last field (the transaction id).
    dead += [(p * PAGE + 16 + 24 + 96 + 16, (p + 1) * PAGE) for p in (0, 1)]
    return ranges, dead, owner, last


def inside(pos, ranges):
    return any(a <= pos < b for a, b in ranges)


def classify(found):
    """The trial's class: its worst finding."""
    classes = [c for c, _ in found]
    for c in ("crash", "hang", "wrong", "exit", "unverified", "not3", "rollback", "caught"):
        if c in classes:
            return c
    return "harmless"


class Vault:
    def __init__(self, manifest):
        with open(manifest) as f:
            self.m = json.load(f)
        # Paths are relative to the manifest's folder.
        top = os.path.dirname(os.path.abspath(manifest))
        for key in ("vault", "state"):
            self.m[key] = os.path.join(top, self.m[key])
        for doc in self.m["docs"]:
            doc["file"] = os.path.join(top, doc["file"])
        for user in self.m["pass"]:
            self.m["pass"][user] = os.path.join(top, self.m["pass"][user])
        self.dir = self.m["vault"]
        with open(os.path.join(self.dir, "data.mdb"), "rb") as f:
            self.data = f.read()
        self.blocks, self.dead, self.owner, self.last = block_ranges(self.data)
        self.used = (self.last + 1) * PAGE


def pick_pages(rng, vault, kind):
    """Two pages (a, b): a of sub-database TO, b of FROM, as `kind`
    (swap:TO:FROM, copy:TO:FROM; * is any, and TO and FROM differ);
    random pages if no pair fits."""
    _, to, frm = kind.split(":")
    pages = range(vault.last + 1)

    def owner(p):
        return vault.owner.get(p, "free")
    pairs = [(a, b) for a in pages if to in ("*", owner(a))
             for b in pages if frm in ("*", owner(b)) and owner(a) != owner(b)]
    if not pairs:
        return rng.sample(pages, 2)
    return rng.choice(pairs)


def damage(rng, vault, kind=None):
    """A damaged copy of the used pages: (bytes, description, cut length).
    `kind` (--kind) draws one class of damage only: flip, swap, copy,
    random, cut; or a page of sub-database TO swapped with, or overwritten
    by, a page of sub-database FROM: swap:TO:FROM, copy:TO:FROM (* is any
    other)."""
    data = bytearray(vault.data[:vault.used])
    npages = vault.last + 1
    target = None
    if kind and ":" in kind:
        target = pick_pages(rng, vault, kind)
        kind = kind.split(":")[0]
    elif not kind:
        kind = rng.choice(["flip", "flip", "swap", "copy", "random", "cut"])
    cut = None
    if kind == "flip":
        n = rng.choice([1, 1, 2, 4, 16])
        where = []
        for _ in range(n):
            pos = rng.randrange(len(data))
            data[pos] ^= rng.randrange(1, 256)
            where.append(pos)
        desc = "flip %d byte(s) at %s" % (n, ",".join(
            "%d(p%d %s)" % (p, p // PAGE, vault.owner.get(p // PAGE, "free")) for p in where))
    elif kind in ("swap", "copy"):
        a, b = target or rng.sample(range(npages), 2)
        pa, pb = bytes(data[a * PAGE:(a + 1) * PAGE]), bytes(data[b * PAGE:(b + 1) * PAGE])
        data[a * PAGE:(a + 1) * PAGE] = pb
        if kind == "swap":
            data[b * PAGE:(b + 1) * PAGE] = pa
        desc = "%s pages %d(%s) %d(%s)" % (kind, a, vault.owner.get(a, "free"), b,
                                           vault.owner.get(b, "free"))
    elif kind == "random":
        a = rng.randrange(npages)
        data[a * PAGE:(a + 1) * PAGE] = bytes(rng.randrange(256) for _ in range(PAGE))
        desc = "random page %d(%s)" % (a, vault.owner.get(a, "free"))
    else:
        cut = rng.randrange(2 * PAGE, len(data))
        desc = "cut at %d (of %d)" % (cut, len(data))
    orig = vault.data
    diff = [] if cut is not None else [i for i in range(len(data)) if data[i] != orig[i]]
    return bytes(data), desc, cut, diff


def make_copy(vault, work, data, cut):
    vdir = os.path.join(work, "vault")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(vdir, mode=0o700)
    path = os.path.join(vdir, "data.mdb")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, data[:cut] if cut is not None else data)
    if cut is None:
        os.ftruncate(fd, len(vault.data))
    os.close(fd)
    shutil.copytree(vault.m["state"], os.path.join(work, "state"))
    return vdir


def run(argv, env, timeout):
    """(exit code or 'signal N' / 'hang', stdout bytes, stderr text)."""
    try:
        p = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "hang", b"", ""
    err = p.stderr.decode(errors="replace")
    if p.returncode < 0:
        return "signal %d" % -p.returncode, p.stdout, err
    if p.returncode >= 128 or "Sanitizer" in err or "runtime error:" in err:
        return "crash %d" % p.returncode, p.stdout, err
    return p.returncode, p.stdout, err


def first_line(err):
    for line in err.splitlines():
        if line.startswith("casevault:") and "CASEVAULT_KDF" not in line:
            return line
    return err.strip().splitlines()[0] if err.strip() else ""


def cli_trial(vault, args, env, vdir, work):
    """The trial's findings: a list of (class, detail)."""
    m = vault.m
    found = []
    failed = []
    env = dict(env, XDG_STATE_HOME=os.path.join(work, "state"))

    def cv(user, *rest):
        return run([args.bin, "--vault", vdir, "--user", user, "--passphrase-file",
                    m["pass"][user]] + list(rest), env, args.timeout)

    def judge(what, rc, err):
        if isinstance(rc, str):
            found.append(("hang" if rc == "hang" else "crash", "%s: %s %s" % (what, rc, first_line(err))))
            return False
        if rc not in DOCUMENTED:
            found.append(("exit", "%s: exit %d %s" % (what, rc, first_line(err))))
            return False
        if rc != 0:
            EXITS[rc] = EXITS.get(rc, 0) + 1
        if rc not in (0, 3):
            found.append(("not3", "%s: exit %d %s" % (what, rc, first_line(err))))
        return True

    for doc in m["docs"]:
        rc, out, err = cv(doc["user"], "get", doc["path"], "--version", str(doc["version"]),
                          "--purpose", "check")
        what = "get %s v%d" % (doc["path"], doc["version"])
        if not judge(what, rc, err):
            continue
        if rc == 0:
            with open(doc["file"], "rb") as f:
                if out != f.read():
                    found.append(("wrong", what))
        else:
            failed.append("%s: exit %d %s" % (what, rc, first_line(err)))
    # Other readers of the whole file: judged for signals, hangs and exit
    # codes only.
    for what in (["audit", "log"], ["audit", "export", os.path.join(work, "export.git")]):
        rc, out, err = cv(m["auditor"], *what)
        judge(" ".join(what[:2]), rc, err)
    rc, out, err = cv(m["auditor"], "audit", "verify")
    judge("audit verify", rc, err)
    if rc == 0 and failed and all("the history was rolled back" in f for f in failed):
        # An older state of the file (LMDB's previous meta page, after the
        # two were swapped): the reader's checkpoint refuses it; verify
        # cannot, as it does not know what each user saw.
        found.append(("rollback", "; ".join(failed[:3])))
    elif rc == 0 and failed:
        found.append(("unverified", "; ".join(failed[:3])))
    elif rc != 0 or failed:
        found.append(("caught", "verify: %s; %s" % (rc if rc == 0 else first_line(err),
                                                      failed[0] if failed else "reads ok")))
    return found


def read_mounted(path, timeout):
    """('ok', bytes) or ('err', errno name) or ('hang', '') for one file."""
    code = ("import os,sys\n"
            "try:\n"
            " sys.stdout.buffer.write(open(sys.argv[1],'rb').read())\n"
            "except OSError as e:\n"
            " sys.stderr.write(str(e.errno)); sys.exit(9)\n")
    try:
        p = subprocess.run([sys.executable, "-c", code, path], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "hang", ""
    if p.returncode == 0:
        return "ok", p.stdout
    return "err", p.stderr.decode(errors="replace")


def mount_trial(vault, args, env, vdir, work):
    """The mount runs in the foreground (-f), as a child: its end and its
    exit status are seen."""
    import errno
    m = vault.m
    found = []
    env = dict(env, XDG_STATE_HOME=os.path.join(work, "state"))
    mnt = os.path.join(work, "mnt")
    os.makedirs(mnt)
    user = m["mount_user"]
    errf = open(os.path.join(work, "mount.err"), "w+")
    proc = subprocess.Popen([args.bin, "--vault", vdir, "--user", user, "--passphrase-file",
                             m["pass"][user], "mount", "-f", "--purpose", "check", mnt],
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=errf)
    deadline = time.time() + args.timeout
    while proc.poll() is None and not os.path.ismount(mnt) and time.time() < deadline:
        time.sleep(0.02)
    try:
        if os.path.ismount(mnt):
            for doc in m["docs"]:
                if doc["user"] != user or not doc["latest"]:
                    continue
                rel = doc["mount_path"]
                st, got = read_mounted(os.path.join(mnt, rel), args.timeout)
                if st == "hang":
                    found.append(("hang", "read " + rel))
                    break
                if st == "ok":
                    with open(doc["file"], "rb") as f:
                        if got != f.read():
                            found.append(("wrong", "read " + rel))
                # EIO: a file it cannot read; ENOENT: a folder entry
                # damaged (verify finds it); ENOTCONN, or ECONNABORTED for
                # a read in flight then: the mount ended on damage.
                elif got.strip() in (str(errno.EIO), str(errno.ENOTCONN), str(errno.ECONNABORTED),
                                     str(errno.ENOENT)):
                    found.append(("caught", "read %s: errno %s" % (rel, got.strip())))
                else:
                    found.append(("exit", "read %s: errno %s" % (rel, got.strip())))
    finally:
        subprocess.run(["fusermount3", "-u", "-z", mnt], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    try:
        rc = proc.wait(timeout=args.timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        found.append(("hang", "the mount did not end after its unmount"))
        rc = 0
    errf.seek(0)
    err = errf.read()
    errf.close()
    if rc < 0 or rc >= 128 or "Sanitizer" in err:
        found.append(("crash", "mount: exit %d %s" % (rc, first_line(err))))
    elif rc not in DOCUMENTED:
        found.append(("exit", "mount: exit %d %s" % (rc, first_line(err))))
    elif rc not in (0, 3):
        found.append(("not3", "mount: exit %d %s" % (rc, first_line(err))))
    elif rc != 0:
        found.append(("caught", "mount: exit %d %s" % (rc, first_line(err))))
    return found


def tally(counts):
    order = ["crash", "hang", "wrong", "exit", "unverified", "not3", "rollback", "caught",
             "harmless"]
    return ", ".join("%s %d" % (c, counts.get(c, 0)) for c in order)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--trials", type=int, default=150)
    ap.add_argument("--first", type=int, default=0, help="number of the first trial (to replay one)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--mount", action="store_true")
    ap.add_argument("--kind", default=None,
                    help="one class of damage only (see damage()): flip, swap, copy, random, cut, "
                         "swap:TO:FROM, copy:TO:FROM")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--strict-exit", action="store_true",
                    help="a failed command exiting other than 3 fails the run")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 32)
    vault = Vault(args.manifest)
    env = dict(os.environ)
    print("damage: seed %d, %d trial(s) from %d%s%s; replay one: CASEVAULT_DAMAGE_SEED=%d%s "
          "CASEVAULT_DAMAGE_TRIAL=K" % (seed, args.trials, args.first,
                                        " on the mount" if args.mount else "",
                                        " of kind " + args.kind if args.kind else "", seed,
                                        " CASEVAULT_DAMAGE_KIND=" + args.kind if args.kind else ""),
          flush=True)
    counts = {}
    bad = 0
    t0 = time.time()
    for k in range(args.first, args.first + args.trials):
        rng = random.Random("%d/%d" % (seed, k))
        data, desc, cut, diff = damage(rng, vault, args.kind)
        work = os.path.join(args.work, "trial")
        trial = mount_trial if args.mount else cli_trial
        found = trial(vault, args, env, make_copy(vault, work, data, cut), work)
        cls = classify(found)
        counts[cls] = counts.get(cls, 0) + 1
        serious = cls in ("crash", "hang", "wrong", "exit", "unverified") or \
            (cls == "not3" and args.strict_exit)
        bad += serious
        if serious and os.environ.get("CASEVAULT_DAMAGE_KEEP"):
            # The damaged copy, for a debugger (its passphrases are the
            # test's, in the manifest).
            keep = os.path.join(os.environ["CASEVAULT_DAMAGE_KEEP"], "trial-%d" % k)
            shutil.rmtree(keep, ignore_errors=True)
            shutil.copytree(make_copy(vault, work, data, cut), os.path.join(keep, "vault"))
            shutil.copytree(os.path.join(work, "state"), os.path.join(keep, "state"))
            for user, path in vault.m["pass"].items():
                shutil.copy(path, os.path.join(keep, user + ".pass"))
        if serious or args.verbose or cls == "not3":
            print("trial %d: %s: %s" % (k, cls, desc))
            for c, d in found:
                if c != "caught" or args.verbose:
                    print("    %s: %s" % (c, d))
        shutil.rmtree(work, ignore_errors=True)
        done = k - args.first + 1
        if done % 100 == 0 and done < args.trials:
            # A long hunt's counts so far, should it be stopped.
            print("damage: %d trials in %.0f s: %s" % (done, time.time() - t0, tally(counts)),
                  flush=True)
    print("damage: %d trials in %.0f s: %s" % (args.trials, time.time() - t0, tally(counts)))
    if EXITS:
        print("damage: commands that failed, by exit code: %s" % ", ".join(
            "%d: %d" % (c, n) for c, n in sorted(EXITS.items())))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
