from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from activecampaign_sandbox import Sandbox

sys.path.insert(0, str(Path(__file__).parent))  # sandbox_client (pytest runs importlib mode)
from sandbox_client import KEY, Client


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed="demo", contacts=200, rate_limit=None, api_key=KEY,
                 import_delay=0.05) as sandbox:
        yield sandbox


@pytest.fixture
def ac(sb: Sandbox) -> Iterator[Client]:
    client = Client(sb)
    yield client
    client.http.close()


@pytest.fixture(scope="module")
def shared() -> Iterator[Client]:
    """A read-only sandbox shared by a module's tests (do not write through it)."""
    with Sandbox(seed="demo", contacts=300, rate_limit=None, api_key=KEY) as sandbox:
        client = Client(sandbox)
        yield client
        client.http.close()
