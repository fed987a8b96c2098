"""Turn a rejects file back into Singer messages, to push the records again after a fix.

    python -m target_activecampaign.replay activecampaign-rejects.jsonl \
        | target-activecampaign --config config.json

Each stream gets one SCHEMA (the accepted record shape plus the x-sync annotation the records
were pushed with), then its RECORDs in their original order.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Iterable, Iterator
from typing import IO, Any

from activecampaign_client.rejects import replayable_rejects
from target_activecampaign.registry import SINKS

SCHEMAS = {stream: (sink.schema_shape, [sink.key_field]) for stream, sink in SINKS.items()}


def replay_messages(lines: Iterable[str], outcomes: set[str] | None = None,
                    ) -> Iterator[dict[str, Any]]:
    """SCHEMA + RECORD messages for the rejects in ``lines`` (optionally only some outcomes)."""
    schemas_sent: set[str] = set()
    for reject in replayable_rejects(lines):
        stream = reject["stream"]
        if outcomes and reject.get("outcome") not in outcomes:
            continue
        if stream not in schemas_sent:
            schema, keys = SCHEMAS[stream]
            schema = copy.deepcopy(schema)
            if reject.get("x-sync"):
                schema["x-sync"] = reject["x-sync"]
            yield {"type": "SCHEMA", "stream": stream, "schema": schema, "key_properties": keys}
            schemas_sent.add(stream)
        yield {"type": "RECORD", "stream": stream, "record": reject["record"]}


def main(argv: list[str] | None = None, out: IO[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rejects", help="rejects file (JSON lines)")
    parser.add_argument("--outcome", action="append",
                        choices=["rejected", "failed", "skipped", "refused"],
                        help="replay only these outcomes (repeatable; default all)")
    args = parser.parse_args(argv)
    out = out or sys.stdout
    with open(args.rejects, encoding="utf-8") as fh:
        for msg in replay_messages(fh, set(args.outcome or [])):
            out.write(json.dumps(msg) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
