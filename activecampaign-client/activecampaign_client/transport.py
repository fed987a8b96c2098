"""The one HTTP transport of both plugins: no redirects, and no connection to an address the
API URL checks refuse, whatever DNS answers.

``normalize_api_url`` checks the host as written; a host name can still resolve to a
link-local, metadata or private address. ``guarded_session`` checks every address the name
resolves to before connecting, and the connected peer after (an answer that changed in
between), before any byte (TLS handshake, headers, the key) is sent. Through a proxy
(``HTTPS_PROXY``) the peer is the proxy the user configured: not checked.
"""

from __future__ import annotations

import socket
from functools import cache
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from activecampaign_client.errors import URL_HINT, UnsafeAddressError
from activecampaign_client.urls import address_problem


def _refuse(host: str, address: str, problem: str) -> UnsafeAddressError:
    return UnsafeAddressError(
        f"api_url host {host!r} resolves to {address}, which {problem}; refused before "
        f"connecting, nothing was sent. {URL_HINT}")


class _AddressCheck:
    """Mixed into urllib3's connections: ``_new_conn`` is where urllib3 2.x resolves and
    connects (private API of urllib3 2.8, the one place that sees the socket before TLS)."""

    allow_private_network = False
    host: str
    port: int
    _dns_host: str
    _tunnel_host: str | None

    def _check(self, address: str) -> None:
        problem = address_problem(address, allow_private_network=self.allow_private_network)
        if problem:
            raise _refuse(self.host, address, problem)

    def _new_conn(self) -> socket.socket:
        if getattr(self, "_tunnel_host", None):  # through a proxy: its address, the user's own
            return super()._new_conn()  # type: ignore[misc]
        try:
            infos = socket.getaddrinfo(self._dns_host, self.port, type=socket.SOCK_STREAM)
        except OSError:
            infos = []  # urllib3 reports the resolution failure in its own words
        for info in infos:
            self._check(str(info[4][0]))
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        try:
            self._check(str(sock.getpeername()[0]))
        except BaseException:
            sock.close()
            raise
        return sock


@cache
def _pool_classes(allow_private_network: bool) -> dict[str, type[HTTPConnectionPool]]:
    flag = {"allow_private_network": allow_private_network}
    http_conn = type("CheckedHTTPConnection", (_AddressCheck, HTTPConnection), flag)
    https_conn = type("CheckedHTTPSConnection", (_AddressCheck, HTTPSConnection), flag)
    return {
        "http": type("CheckedHTTPConnectionPool", (HTTPConnectionPool,),
                     {"ConnectionCls": http_conn}),
        "https": type("CheckedHTTPSConnectionPool", (HTTPSConnectionPool,),
                      {"ConnectionCls": https_conn}),
    }


class CheckedAdapter(HTTPAdapter):
    """requests' adapter with connections that check the peer address (see module doc)."""

    def __init__(self, *, allow_private_network: bool = False, **kwargs: Any) -> None:
        self.allow_private_network = allow_private_network
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self.allow_private_network)


class GuardedSession(requests.Session):
    """A session that never follows a redirect (ActiveCampaign does not redirect API calls;
    a followed one would carry the ``Api-Token`` header to wherever it points) and connects
    only to addresses the API URL checks allow."""

    def __init__(self, *, allow_private_network: bool = False) -> None:
        super().__init__()
        for prefix in ("https://", "http://"):
            self.mount(prefix, CheckedAdapter(allow_private_network=allow_private_network))

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        kwargs["allow_redirects"] = False  # whatever the caller asked (the SDK asks True)
        return super().send(request, **kwargs)


def guarded_session(*, allow_private_network: bool = False) -> GuardedSession:
    return GuardedSession(allow_private_network=allow_private_network)
