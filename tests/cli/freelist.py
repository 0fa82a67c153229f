#!/usr/bin/env python3
"""Make one list of LMDB's free pages name a page in use.

Usage: freelist.py DATA.MDB. Chooses a free list held in its leaf (not
in overflow pages) and a page some table uses that keeps the list sorted
(highest first), writes it in place of one entry, and prints both page
numbers. Exit 77 when the file has no such pair.
"""
import struct
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
from damage import PAGE, F_BIGDATA, block_ranges, leaf_nodes, meta_page  # noqa: E402


def main():
    path = sys.argv[1]
    with open(path, "rb") as f:
        data = bytearray(f.read())
    _, _, owner, _ = block_ranges(bytes(data))
    used = sorted(p for p, name in owner.items() if name not in ("meta", "freelist"))
    root, = struct.unpack_from("<Q", data, PAGE * meta_page(data) + 16 + 24 + 40)
    for _key, nflags, off, size in leaf_nodes(bytes(data), root):
        if nflags & F_BIGDATA:
            continue
        n, = struct.unpack_from("<Q", data, off)
        ids = list(struct.unpack_from("<%dQ" % n, data, off + 8))
        for i, old in enumerate(ids):
            hi = ids[i - 1] if i > 0 else 1 << 62
            lo = ids[i + 1] if i + 1 < n else 1
            for p in used:
                if lo < p < hi:
                    struct.pack_into("<Q", data, off + 8 + 8 * i, p)
                    with open(path, "r+b") as f:
                        f.seek(0)
                        f.write(data)
                    print(old, p)
                    return 0
    return 77


if __name__ == "__main__":
    sys.exit(main())
