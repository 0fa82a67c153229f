#!/usr/bin/env python3
"""swap_after_read.py PATH TARGET: put a symbolic link to TARGET in
PATH's place (a folder is moved aside first), as another local user who
can write PATH's folder could: once PATH has been opened and closed (read,
as put -r's walk checks it), or, if PATH does not exist yet, once it is
made (get -r's new folder). Prints "ready" once it watches; exits 0 after
the swap, 1 if none came in 60 s.
"""
import ctypes
import os
import select
import struct
import sys

IN_CLOSE_NOWRITE = 0x10
IN_CREATE = 0x100

path, target = sys.argv[1], sys.argv[2]
made = not os.path.lexists(path)
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init()
watched = os.path.dirname(path) if made else path
if fd < 0 or libc.inotify_add_watch(fd, watched.encode(), IN_CREATE if made else IN_CLOSE_NOWRITE) < 0:
    sys.exit("swap_after_read: inotify: %s" % os.strerror(ctypes.get_errno()))
print("ready", flush=True)


def came():
    """Wait for the event: PATH read, or PATH made in its folder."""
    while True:
        ready, _, _ = select.select([fd], [], [], 60)
        if not ready:
            return False
        buf = os.read(fd, 65536)
        if not made:
            return True
        at = 0
        while at < len(buf):
            _, _, _, size = struct.unpack_from("iIII", buf, at)
            name = buf[at + 16:at + 16 + size].rstrip(b"\0")
            at += 16 + size
            if name == os.path.basename(path).encode():
                return True


if not came():
    sys.exit(1)
tmp = path + ".swap"
os.symlink(target, tmp)
if os.path.isdir(path) and not os.path.islink(path):
    os.rename(path, path + ".aside")   # a link cannot replace a folder at once
os.rename(tmp, path)
sys.exit(0)
