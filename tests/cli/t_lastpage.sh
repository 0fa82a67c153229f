#!/usr/bin/env bash
# A meta page whose last page number is so large that its pages' size
# wraps around 2^64 to the file's own size: the open's size check and
# `audit verify`'s page walk must see a file too short for it (exit 3),
# never allocate or walk by the wrapped figure.
. "$(dirname "$0")/lib.sh"

mkpass dpo
mkpass aud
expect_exit 0 cv dpo init --admin dpo
add_user dpo aud auditor
expect_exit 0 cv aud audit verify

python3 - "$VAULT/data.mdb" <<'PY'
import struct, sys
import os
sys.path.insert(0, os.environ["TESTS_DIR"] + "/cli")
from damage import PAGE, meta_page
path = sys.argv[1]
data = bytearray(open(path, "rb").read())
at = PAGE * meta_page(data) + 16 + 24 + 96
last, = struct.unpack_from("<Q", data, at)
struct.pack_into("<Q", data, at, last + (1 << 52))
open(path, "r+b").write(data)
PY
expect_exit 3 cv aud audit verify
check_contains "the error names the damaged file" "the vault file is damaged" "$ERR"
finish
