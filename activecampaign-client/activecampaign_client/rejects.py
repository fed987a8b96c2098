"""Reading a rejects file (JSON lines written by the mapper and the target) for replay."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from typing import Any


def replayable_rejects(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Each reject that carries its original record, in file order.

    Entries for unreadable input lines (no ``record``) cannot be replayed: they are named on
    stderr so the user fixes them at the source.
    """
    for line in lines:
        if not line.strip():
            continue
        reject = json.loads(line)
        if "record" not in reject:
            print(f"Skipping unreadable input line {reject.get('line')}: fix it at the source.",
                  file=sys.stderr)
            continue
        yield reject
