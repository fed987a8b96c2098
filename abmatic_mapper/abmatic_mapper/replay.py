"""Turn a rejects file back into Singer messages, to pipe through the mapper again.

    python -m abmatic_mapper.replay rejects-abmatic-mapper.jsonl \\
        | abmatic-mapper --config mapper.json | target-...

Fix the records first (in the source system, or in the file, e.g. with jq). Each rejected
input record is emitted as a RECORD of its original stream, after one SCHEMA per stream. On
import, a replayed contact only gets its account link, lists and tags when those tap streams
are replayed too; re-running the tap after fixing the data in ActiveCampaign is usually simpler.
"""

from __future__ import annotations

import json
import sys

from activecampaign_client.rejects import replayable_rejects


def replay_lines(lines: list[str]) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for reject in replayable_rejects(lines):
        stream = reject["stream"]
        if stream not in seen:
            seen.add(stream)
            out.append(json.dumps({"type": "SCHEMA", "stream": stream,
                                   "schema": {"type": "object"}, "key_properties": []}))
        out.append(json.dumps({"type": "RECORD", "stream": stream, "record": reject["record"]}))
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m abmatic_mapper.replay REJECTS_FILE", file=sys.stderr)
        return 2
    with open(args[0], encoding="utf-8") as fh:
        for message in replay_lines(fh.readlines()):
            print(message)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
