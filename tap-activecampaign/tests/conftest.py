"""Fixtures and helpers: in-process sandboxes (rate limit off), fast retries, in-process runs."""

from __future__ import annotations

import contextlib
import io
import json
import typing as t
from dataclasses import dataclass, field

import pytest

from tap_activecampaign.client import ActiveCampaignStream
from tap_activecampaign.tap import TapActiveCampaign

API_KEY = "test-key"


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries wait milliseconds instead of seconds (the schedule itself is unit-tested)."""
    monkeypatch.setattr(ActiveCampaignStream, "backoff_base", 0.005)
    monkeypatch.setattr(ActiveCampaignStream, "backoff_cap", 0.02)
    monkeypatch.setattr(ActiveCampaignStream, "segment_wait", 0.005)
    monkeypatch.setattr(ActiveCampaignStream, "segment_wait_cap", 0.02)


def tap_config(sb: t.Any, **extra: t.Any) -> dict:
    return {"api_url": sb.base_url, "api_key": API_KEY, "requests_per_second": 1000, **extra}


@pytest.fixture(scope="module")
def shared_sandbox() -> t.Iterator[t.Any]:
    """Read-only tests share one sandbox (250 contacts: three pages)."""
    from activecampaign_sandbox import Sandbox

    with Sandbox(seed="demo", contacts=250, rate_limit=None, api_key=API_KEY) as sb:
        yield sb


@pytest.fixture
def sandbox() -> t.Iterator[t.Any]:
    """A fresh sandbox for tests that change data or inject faults."""
    from activecampaign_sandbox import Sandbox

    with Sandbox(seed="demo", contacts=250, rate_limit=None, api_key=API_KEY) as sb:
        yield sb


@dataclass
class SyncResult:
    records: dict[str, list[dict]] = field(default_factory=dict)
    states: list[dict] = field(default_factory=list)
    stream_order: list[str] = field(default_factory=list)
    error: BaseException | None = None
    tap: TapActiveCampaign | None = None

    @property
    def state(self) -> dict:
        return self.states[-1] if self.states else {}

    def ids(self, stream: str) -> list[str]:
        return [r["id"] for r in self.records.get(stream, [])]

    def bookmark(self, stream: str) -> str | None:
        entry = self.state.get("bookmarks", {}).get(stream, {})
        return entry.get("replication_key_value")


class _Capture(io.TextIOBase):
    """A stdout stand-in that parses each Singer message as it is written."""

    def __init__(self, on_message: t.Callable[[dict], None]) -> None:
        self._buffer = ""
        self._on_message = on_message

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:  # type: ignore[override]
        self._buffer += text
        while "\n" in self._buffer:
            line, self._buffer = self._buffer.split("\n", 1)
            if line.strip():
                self._on_message(json.loads(line))
        return len(text)


def run_tap(
    config: dict,
    *,
    state: dict | None = None,
    streams: t.Iterable[str] | None = None,
    on_message: t.Callable[[dict, SyncResult], None] | None = None,
    raise_errors: bool = True,
) -> SyncResult:
    """Sync in-process; ``streams`` limits the selection; errors kept when not raised."""
    result = SyncResult()

    def handle(message: dict) -> None:
        kind = message["type"]
        if kind == "RECORD":
            result.records.setdefault(message["stream"], []).append(message["record"])
        elif kind == "STATE":
            result.states.append(message["value"])
        elif kind == "SCHEMA" and message["stream"] not in result.stream_order:
            result.stream_order.append(message["stream"])
        if on_message:
            on_message(message, result)

    tap = TapActiveCampaign(config=config, state=state, validate_config=True)
    result.tap = tap
    if streams is not None:
        wanted = set(streams)
        for name, stream in tap.streams.items():
            stream.selected = name in wanted
    with contextlib.redirect_stdout(_Capture(handle)):
        try:
            tap.sync_all()
        except Exception as exc:
            if raise_errors:
                raise
            result.error = exc
    return result


@pytest.fixture(scope="session")
def run() -> t.Callable[..., SyncResult]:
    return run_tap


@pytest.fixture(scope="session")
def config_for() -> t.Callable[..., dict]:
    return tap_config


@pytest.fixture
def include_ignored(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The test's sandbox becomes an account that ignores include= on the contacts list
    (the sandbox option ``AccountBehaviour.sideloads=False``), for this test only."""
    for name in ("sandbox", "shared_sandbox"):
        if name in request.fixturenames:
            sb = request.getfixturevalue(name)
            monkeypatch.setattr(sb.api.behaviour, "sideloads", False)
