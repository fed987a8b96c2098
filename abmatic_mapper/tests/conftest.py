"""One helper pipes a .singer fixture (or lines) through the mapper in process."""

from __future__ import annotations

import io
import json
import sys
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

# pytest's importlib mode names this file "abmatic_mapper.tests.conftest" (the folder is called
# abmatic_mapper) and registers a placeholder "abmatic_mapper" module for the folder, which
# would hide the installed package. Drop the placeholder so the real package is imported.
_placeholder = sys.modules.get("abmatic_mapper")
if _placeholder is not None and getattr(_placeholder, "__file__", None) is None:
    del sys.modules["abmatic_mapper"]

from abmatic_mapper.mapper import AbmaticMapper  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class MapperRun:
    messages: list[dict[str, Any]]
    rejects_path: Path
    mapper: AbmaticMapper
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)

    def records(self, stream: str) -> list[dict[str, Any]]:
        return [m["record"] for m in self.messages
                if m["type"] == "RECORD" and m["stream"] == stream]

    def record(self, stream: str, key: str, value: Any) -> dict[str, Any]:
        matches = [r for r in self.records(stream) if r.get(key) == value]
        assert len(matches) == 1, f"{stream} {key}={value!r}: {matches}"
        return matches[0]

    def streams(self) -> set[str]:
        return {m["stream"] for m in self.messages if m["type"] in ("RECORD", "SCHEMA")}

    def rejects(self) -> list[dict[str, Any]]:
        if not self.rejects_path.exists():
            return []
        return [json.loads(line) for line in self.rejects_path.read_text().splitlines()]


def run_mapper(source: str | list[dict[str, Any]], config: dict[str, Any], tmp_path: Path
               ) -> MapperRun:
    """Run ``source`` (a fixture file name or a list of messages) through the mapper."""
    if isinstance(source, str):
        data = (FIXTURES / source).read_bytes()
    else:
        data = b"".join(json.dumps(m).encode() + b"\n" for m in source)
    rejects = tmp_path / "rejects.jsonl"
    mapper = AbmaticMapper(config={"rejects_path": str(rejects), **config})
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with redirect_stdout(out):
        mapper.listen(io.BytesIO(data))  # type: ignore[arg-type]
    out.seek(0)
    messages = [json.loads(line) for line in out.read().splitlines() if line.strip()]
    run = MapperRun(messages, rejects, mapper)
    run.schemas = {m["stream"]: m for m in messages if m["type"] == "SCHEMA"}
    return run


@pytest.fixture
def mapper_run(tmp_path: Path):
    def _run(source: str | list[dict[str, Any]], config: dict[str, Any] | None = None
             ) -> MapperRun:
        return run_mapper(source, config or {}, tmp_path)

    return _run
