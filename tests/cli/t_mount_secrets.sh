#!/usr/bin/env bash
# The mount daemon keeps no passphrase: it wipes it once it has unlocked,
# and its keys are in locked memory (memory locks do not pass the fork
# that detaches it, so the daemon takes its own).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mount_lib.sh"
require_fuse

mount_setup noy "Secrets test"
mount_vault noy || finish
pass=$(head -n 1 "$T/noy.pass")

# Every readable mapping of the daemon, searched for the passphrase (not
# under the sanitizers, whose shadow memory is most of the address space).
found=0
[ -n "${CASEVAULT_SANITIZED:-}" ] || found=$(python3 - "$MOUNT_PID" "$pass" <<'PY'
import re, sys
pid, secret = sys.argv[1], sys.argv[2].encode()
hits, chunk = 0, 1 << 24
with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
    for line in maps:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) r", line)
        # The vault file's map holds only what was stored, encrypted.
        if not m or "[vvar]" in line or "[vsyscall]" in line or "data.mdb" in line:
            continue
        start, end = int(m.group(1), 16), int(m.group(2), 16)
        if end - start > 1 << 30:          # reserved address space, not data
            continue
        for at in range(start, end, chunk):
            try:
                mem.seek(at)
                data = mem.read(min(chunk + len(secret), end - at))
            except (OSError, ValueError, OverflowError):
                break
            hits += data.count(secret)
print(hits)
PY
)
check_eq "the daemon's memory holds no copy of the passphrase" 0 "$found"
# (The sanitizers take mlock over and lock nothing.)
if [ -z "${CASEVAULT_SANITIZED:-}" ]; then
	locked=$(awk '/^VmLck:/ {print $2}' "/proc/$MOUNT_PID/status")
	check "the daemon's keys are in locked memory (VmLck $locked kB)" test "${locked:-0}" -gt 0
fi
cat "$CASEDIR"/* > /dev/null 2>&1
umount_vault
verify_ok "after the mount"
finish
