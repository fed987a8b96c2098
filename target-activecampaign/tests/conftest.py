"""Fixtures: a fresh sandbox per test and the config that points the target at it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from activecampaign_client import ActiveCampaignSession, RequestPacer

sys.path.insert(0, str(Path(__file__).parent))  # target_ac_testkit

FAST = 1000.0  # client pace for tests: the sandbox's rate limit is off


@pytest.fixture
def sandbox(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh account; ``indirect`` parametrization passes AccountBehaviour fields (and
    ``contacts``, the demo seed's size)."""
    from activecampaign_sandbox import Sandbox
    from activecampaign_sandbox.behaviour import AccountBehaviour

    param = dict(getattr(request, "param", {}))
    contacts = param.pop("contacts", 40)
    with Sandbox(seed="demo", contacts=contacts, rate_limit=None, api_key="test-key",
                 behaviour=AccountBehaviour(**param)) as sb:
        yield sb


@pytest.fixture
def api(sandbox: Any) -> ActiveCampaignSession:
    return ActiveCampaignSession(sandbox.base_url, sandbox.api_key, requests_per_second=FAST,
                                 pacer=RequestPacer(FAST))


@pytest.fixture
def config(sandbox: Any, tmp_path: Path) -> dict[str, Any]:
    return {"api_url": sandbox.base_url, "api_key": sandbox.api_key,
            "requests_per_second": FAST, "bulk_requests_per_minute": 6000,
            "bulk_poll_interval": 0.05, "activity_log_path": str(tmp_path / "activity.jsonl"),
            "rejects_path": str(tmp_path / "rejects.jsonl")}


