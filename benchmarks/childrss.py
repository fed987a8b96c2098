"""Peak RSS and wall time of one child process, free of the harness's own memory.

On Linux a child's ``ru_maxrss`` (from ``os.wait4``) starts at the high-water RSS of the
process that spawned it: ``subprocess`` uses vfork, and ``exec`` records the old (parent's)
address space's peak. A benchmark harness holding an in-process sandbox of 100,000 contacts
(~900 MiB) would therefore report ~900 MiB for every plugin it starts afterwards. So the
harness starts this small launcher (``python -I -S``, ~10 MiB), which starts the command with
``os.posix_spawnp`` (stdin, stdout, stderr and cwd inherited), waits for it with ``os.wait4``
and writes ``{"returncode", "seconds", "maxrss_kib"}`` as JSON to a file: the command's peak
is then max(its own peak, ~10 MiB).

    python -I -S benchmarks/childrss.py RESULT.json COMMAND [ARG ...]
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

LAUNCHER = str(Path(__file__).resolve())


@dataclass
class Measured:
    returncode: int
    seconds: float
    maxrss_kib: int

    @property
    def peak_mib(self) -> float:
        return self.maxrss_kib / 1024


def run_measured(cmd: list[str], *, stdin: IO[Any] | int | None = None,
                 stdout: IO[Any] | int | None = None, stderr: IO[Any] | int | None = None,
                 cwd: str | Path | None = None, result_dir: Path) -> Measured:
    """Run ``cmd`` through the launcher; its own peak RSS and the seconds from start to exit."""
    import json
    import subprocess

    result = result_dir / f"childrss-{os.getpid()}-{time.monotonic_ns()}.json"
    launcher = [sys.executable, "-I", "-S", LAUNCHER, str(result), *cmd]
    done = subprocess.run(launcher, stdin=stdin, stdout=stdout, stderr=stderr, cwd=cwd,
                          check=False)
    if not result.exists():
        raise RuntimeError(f"launcher failed ({done.returncode}) for {cmd[0]}")
    data = json.loads(result.read_text())
    result.unlink()
    return Measured(int(data["returncode"]), float(data["seconds"]), int(data["maxrss_kib"]))


def _launch(argv: list[str]) -> int:
    result, cmd = argv[0], argv[1:]
    started = time.perf_counter()
    pid = os.posix_spawnp(cmd[0], cmd, os.environ)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    with open(result, "w") as fh:
        fh.write(f'{{"returncode": {code}, "seconds": {seconds:.6f}, '
                 f'"maxrss_kib": {usage.ru_maxrss}}}')
    return code


if __name__ == "__main__":
    raise SystemExit(_launch(sys.argv[1:]))
