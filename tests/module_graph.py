#!/usr/bin/env python3
"""
The calls between the files of vault/src, for HACKING.md's module graph.

Every `vault_*` function is mapped to the file that defines it (a .c file,
or a header's static inline); each file's uses of functions defined in
another file are its edges (util/ is one module, left out of the output as
every file uses it). Prints one line per module, `A -> B, C` (A calls B and
C), lowest first, then the strongly connected components of more than one
module, which must be none. Exit status 1 if there is a cycle.

    python3 tests/module_graph.py [vault/src]
"""
import os
import re
import sys

IDENT = re.compile(r"\bvault_[A-Za-z0-9_]+\b")


def strip(text):
    """The text without comments, strings and character constants."""
    out = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    out = re.sub(r"//[^\n]*", " ", out)
    out = re.sub(r'"(\\.|[^"\\\n])*"', '""', out)
    return re.sub(r"'(\\.|[^'\\\n])*'", "''", out)


def module_of(root, path):
    rel = os.path.relpath(path, root)
    if rel.startswith("util" + os.sep):
        return "util"
    name = os.path.basename(rel)
    return "vault.c" if name in ("vault.c", "vault.h") else os.path.splitext(name)[0]


def definitions(text):
    """The functions a file defines: a name at the start of a line's
    declaration whose parameter list is followed by a body."""
    found = set()
    for m in re.finditer(r"^[A-Za-z_][^;{}()\n#]*?\b(vault_[A-Za-z0-9_]+)\s*\(", text, re.M):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        rest = text[i:].lstrip()
        if rest.startswith("{"):
            found.add(m.group(1))
    return found


def sccs(nodes, edges):
    """Tarjan's strongly connected components."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(n):
        index[n] = low[n] = len(index)
        stack.append(n)
        on.add(n)
        for m in sorted(edges.get(n, ())):
            if m not in index:
                visit(m)
                low[n] = min(low[n], low[m])
            elif m in on:
                low[n] = min(low[n], index[m])
        if low[n] == index[n]:
            comp = []
            while True:
                m = stack.pop()
                on.discard(m)
                comp.append(m)
                if m == n:
                    break
            out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for n in sorted(nodes):
        if n not in index:
            visit(n)
    return out


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "vault", "src")
    files = []
    for d, _, names in os.walk(root):
        files += [os.path.join(d, n) for n in names if n.endswith((".c", ".h"))]
    text = {f: strip(open(f, encoding="utf-8").read()) for f in sorted(files)}

    owner = {}
    for f, t in text.items():
        for name in definitions(t):
            owner.setdefault(name, module_of(root, f))

    modules = {module_of(root, f) for f in files if f.endswith(".c")}
    edges = {m: set() for m in modules}
    for f, t in text.items():
        if not f.endswith(".c"):
            continue
        me = module_of(root, f)
        for name in IDENT.findall(t):
            other = owner.get(name)
            if other and other != me:
                edges[me].add(other)

    # Lowest first: a module after everything it calls (ties by name).
    shown, order = set(), []
    while len(order) < len(modules):
        ready = sorted(m for m in modules if m not in shown and
                       all(c in shown or c == "util" for c in edges[m] if c != m))
        if not ready:
            break
        for m in ready:
            shown.add(m)
            order.append(m)
    for m in order + sorted(modules - shown):
        if m == "util":
            continue
        calls = sorted(c for c in edges[m] if c != "util")
        print("%-14s -> %s" % (m, ", ".join(calls) if calls else
                               ("util only" if "util" in edges[m] else "nothing")))

    cycles = [c for c in sccs(modules, edges) if len(c) > 1]
    for c in cycles:
        print("cycle: " + ", ".join(c))
    if not cycles:
        print("no cycle")
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main())
