#!/usr/bin/env python3
"""swap_after_read.py FILE TARGET: once FILE has been opened and closed
(read, as put -r's walk checks it), put a symbolic link to TARGET in its
place (a folder is moved aside first), as another local user who can
write FILE's folder could. Prints
"ready" once it watches; exits 0 after the swap, 1 if none came in 60 s.
"""
import ctypes
import os
import select
import sys

IN_CLOSE_NOWRITE = 0x10

path, target = sys.argv[1], sys.argv[2]
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init()
if fd < 0 or libc.inotify_add_watch(fd, path.encode(), IN_CLOSE_NOWRITE) < 0:
    sys.exit("swap_after_read: inotify: %s" % os.strerror(ctypes.get_errno()))
print("ready", flush=True)
ready, _, _ = select.select([fd], [], [], 60)
if not ready:
    sys.exit(1)
os.read(fd, 4096)
tmp = path + ".swap"
os.symlink(target, tmp)
if os.path.isdir(path) and not os.path.islink(path):
    os.rename(path, path + ".aside")   # a link cannot replace a folder at once
os.rename(tmp, path)
sys.exit(0)
