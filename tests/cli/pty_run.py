#!/usr/bin/env python3
"""Run a command on a pseudo-terminal, as if typed at a terminal.

    pty_run.py [--wait-for TEXT] [--send TEXT] [--timeout S] -- CMD...

The command gets the pty as its standard input, output and error (and as
its controlling terminal, /dev/tty). Once TEXT appears in what it wrote
(at once without --wait-for), SEND is typed (backslash escapes such as
\\n and \\x04, Ctrl-D, are understood); SEND goes once, never again. What
the command wrote is printed; the exit code is the command's, or 124 if it
did not end within S seconds (it is then killed).
"""
import argparse
import codecs
import os
import pty
import select
import signal
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wait-for", default="")
    ap.add_argument("--send", default="")
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    send = codecs.decode(a.send, "unicode_escape").encode("latin-1")

    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)

    out = b""
    sent = not send
    deadline = time.monotonic() + a.timeout
    status = None
    while time.monotonic() < deadline:
        if not sent and a.wait_for.encode() in out:
            # Typed as a person would: the text first, then each control key.
            os.write(fd, send)
            sent = True
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:   # EIO: the command closed the terminal
                chunk = b""
            out += chunk
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
            break
    if status is None:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        sys.stdout.write(out.decode("utf-8", "replace"))
        sys.stdout.write("\n[pty_run: no end within %g s%s]\n"
                         % (a.timeout, "" if sent else "; nothing was typed"))
        return 124
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if not ready:
                break
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            out += chunk
    except OSError:
        pass
    sys.stdout.write(out.decode("utf-8", "replace"))
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
