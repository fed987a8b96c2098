"""Check Singer stream schemas: valid JSON Schema, key properties present, no drift.

Reads a catalog (the output of ``--discover``) or Singer messages (any SCHEMA lines) from a
file or stdin, checks each stream's schema against the JSON Schema meta-schema (Draft 7, what
Singer uses), checks that every key property is a declared property, and compares the schema
and keys with a committed snapshot (one JSON file per stream). Drift prints a unified diff and
exits 1; ``--update`` rewrites the snapshot instead.

    tap-activecampaign --config config.json --discover > catalog.json
    python scripts/check_schemas.py --snapshot schemas/tap-activecampaign catalog.json
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import SchemaError


def read_streams(text: str) -> dict[str, dict[str, Any]]:
    """stream name -> {"schema", "key_properties"} from a catalog or from Singer lines."""
    stripped = text.lstrip()
    if stripped.startswith("{") and '"streams"' in stripped[:2000]:
        try:
            catalog = json.loads(text)
        except json.JSONDecodeError:
            catalog = None
        if isinstance(catalog, dict) and isinstance(catalog.get("streams"), list):
            return {
                s["tap_stream_id"]: {
                    "schema": s["schema"],
                    "key_properties": list(s.get("key_properties") or []),
                }
                for s in catalog["streams"]
            }
    streams: dict[str, dict[str, Any]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            message = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SystemExit(f"line {number}: not JSON ({exc.msg})") from exc
        if message.get("type") == "SCHEMA":
            streams[message["stream"]] = {
                "schema": message["schema"],
                "key_properties": list(message.get("key_properties") or []),
            }
    return streams


def problems_of(name: str, entry: dict[str, Any]) -> list[str]:
    """Why a stream's schema is unusable (empty when it is fine)."""
    problems = []
    try:
        Draft7Validator.check_schema(entry["schema"])
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        problems.append(f"{name}: not valid JSON Schema at {where}: {exc.message}")
    properties = entry["schema"].get("properties") or {}
    for key in entry["key_properties"]:
        if key not in properties:
            problems.append(f"{name}: key property {key!r} is not among the schema's properties")
    return problems


def render(entry: dict[str, Any]) -> str:
    return json.dumps(entry, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", nargs="?", help="catalog or Singer lines (default: stdin)")
    parser.add_argument("--snapshot", required=True, type=Path, help="snapshot folder")
    parser.add_argument("--update", action="store_true", help="rewrite the snapshot")
    args = parser.parse_args(argv)

    text = Path(args.source).read_text() if args.source else sys.stdin.read()
    streams = read_streams(text)
    if not streams:
        print("no stream schemas found in the input", file=sys.stderr)
        return 1

    problems = [p for name, entry in streams.items() for p in problems_of(name, entry)]
    drift: list[str] = []
    if args.update:
        args.snapshot.mkdir(parents=True, exist_ok=True)
        for old in args.snapshot.glob("*.json"):
            if old.stem not in streams:
                old.unlink()
    for name, entry in sorted(streams.items()):
        path = args.snapshot / f"{name}.json"
        current = render(entry)
        if args.update:
            path.write_text(current)
            continue
        before = path.read_text() if path.exists() else ""
        if before != current:
            drift.extend(difflib.unified_diff(
                before.splitlines(keepends=True), current.splitlines(keepends=True),
                fromfile=f"{path} (snapshot)", tofile=f"{name} (now)",
            ))
    if not args.update and args.snapshot.exists():
        for old in sorted(args.snapshot.glob("*.json")):
            if old.stem not in streams:
                drift.append(f"stream {old.stem!r} is in the snapshot but no longer emitted\n")

    for problem in problems:
        print(f"INVALID {problem}", file=sys.stderr)
    if drift:
        sys.stderr.writelines(drift)
        print(f"\nschemas drifted from {args.snapshot}; if the change is intended, rerun with "
              "--update and commit the snapshot", file=sys.stderr)
    if problems or drift:
        return 1
    verb = "written to" if args.update else "match"
    print(f"{len(streams)} stream schemas valid and {verb} {args.snapshot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
