"""A requests client for one sandbox, and throw-away accounts with chosen behaviours."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests

from activecampaign_sandbox import Sandbox
from activecampaign_sandbox.behaviour import AccountBehaviour

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


@contextmanager
def account(contacts: int = 50, **behaviour: Any) -> Iterator[Client]:
    """A fresh demo account (no rate limit) with the given ``AccountBehaviour`` switches."""
    with Sandbox(seed="demo", contacts=contacts, rate_limit=None, api_key=KEY,
                 import_delay=0.05, behaviour=AccountBehaviour(**behaviour)) as sandbox:
        client = Client(sandbox)
        yield client
        client.http.close()
