from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from activecampaign_sandbox import Sandbox

KEY = "test-key"


class Client:
    """requests against one sandbox, with the key and /api/3 prefix filled in."""

    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb
        self.http = requests.Session()
        self.http.headers["Api-Token"] = sb.api_key

    def url(self, path: str) -> str:
        return f"{self.sb.base_url}/api/3/{path.lstrip('/')}"

    def get(self, path: str, **params: object) -> requests.Response:
        return self.http.get(self.url(path), params=params, timeout=10)

    def post(self, path: str, body: object) -> requests.Response:
        return self.http.post(self.url(path), json=body, timeout=10)

    def put(self, path: str, body: object) -> requests.Response:
        return self.http.put(self.url(path), json=body, timeout=10)

    def patch(self, path: str, body: object) -> requests.Response:
        return self.http.patch(self.url(path), json=body, timeout=10)

    def delete(self, path: str) -> requests.Response:
        return self.http.delete(self.url(path), timeout=10)


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
