#!/usr/bin/env python3
"""Start target-duckdb only once its first input arrives (meltano.yml: target-duckdb executable).

target-duckdb 0.8.0 opens (and locks) its DuckDB file as soon as it starts, before it reads a
single message. In `tap | abmatic-mapper | target-duckdb` the mapper reads that same file at its
start, to keep `fill` values, and only then emits its first message; DuckDB allows one process
per file, so the mapper's read would fail on the lock. This wrapper waits until stdin is readable
(data or end of input; nothing is consumed), then replaces itself with the real target from the
plugin's virtual environment (Meltano sets VIRTUAL_ENV for the plugin), with the same arguments.
It also creates the folder of the configured DuckDB `path`, which target-duckdb does not do.

Standard library only; ABMATIC_LAZY_TARGET names another executable of that venv if needed.
"""

from __future__ import annotations

import json
import os
import select
import sys


def make_store_folder(argv: list[str]) -> None:
    """Create the parent folder of the `path` in the --config file, if any."""
    for flag in ("--config", "-c"):
        if flag in argv[:-1]:
            try:
                with open(argv[argv.index(flag) + 1], encoding="utf-8") as fh:
                    path = json.load(fh).get("path")
            except (OSError, ValueError, AttributeError):
                return
            if isinstance(path, str) and path and not path.startswith(("md:", ":memory:")):
                os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            return


def main() -> None:
    name = os.environ.get("ABMATIC_LAZY_TARGET") or "target-duckdb"
    venv = os.environ.get("VIRTUAL_ENV")
    exe = os.path.join(venv, "bin", name) if venv else name
    make_store_folder(sys.argv[1:])
    select.select([sys.stdin], [], [])  # blocks until the first byte (or EOF) is there
    os.execvp(exe, [exe, *sys.argv[1:]])


if __name__ == "__main__":
    main()
