"""Run one command the way a user meets it, under an address-space limit, and report what it cost.

    python launch.py RESULT.json AS_BYTES -- argv...

The child gets ``RLIMIT_AS`` (a safety net: an input that escaped every limit dies with MemoryError
instead of swapping the machine) and no core dumps; the parent waits with ``wait4`` so the peak RSS
and CPU time are the child's own, and writes ``{"rc", "wall", "cpu", "maxrss_kb"}``. stdin, stdout
and stderr are the child's. Exit code: the child's.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time


def main() -> int:
    result, limit, sep, *argv = sys.argv[1:]
    assert sep == "--" and argv
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:  # child
        try:
            resource.setrlimit(resource.RLIMIT_AS, (int(limit), int(limit)))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    with open(result, "w") as fh:
        json.dump({"rc": code, "wall": time.monotonic() - start, "cpu": usage.ru_utime + usage.ru_stime,
                   "maxrss_kb": usage.ru_maxrss}, fh)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
