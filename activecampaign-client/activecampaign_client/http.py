"""The HTTP session every ActiveCampaign caller uses: auth, pacing, retries, usage counts."""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any

import requests

from activecampaign_client.errors import (
    URL_HINT,
    ActiveCampaignError,
    FatalAPIError,
    RetriableAPIError,
    body_or_text,
    classify,
    fatal_error_for,
    parse_body,
    retry_after_seconds,
)
from activecampaign_client.pacing import Pacer, shared_pacer
from activecampaign_client.transport import guarded_session
from activecampaign_client.urls import check_api_key, normalize_api_url

LOGGER = logging.getLogger("activecampaign_client")
JSON_HEADERS = {"Content-Type": "application/json"}


@dataclass
class ApiUsage:
    """What a run spent against the account's rate budget."""

    rate: float
    requests: int = 0
    throttled: int = 0
    retries: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def share_of_budget(self) -> float:
        """Requests made / requests the rate limit would have allowed since the start.

        The window admits one second's worth at once, so a short run may spend
        ``rate * (elapsed + 1)``; counting that keeps the share at most 1 (100%)."""
        elapsed = max(time.monotonic() - self.started, 0.0)
        return self.requests / (max(self.rate, 1e-6) * (elapsed + 1.0))

    def summary(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "throttled_429": self.throttled,
            "retries": self.retries,
            "elapsed_seconds": round(time.monotonic() - self.started, 2),
            "share_of_rate_budget": round(self.share_of_budget(), 3),
        }


class ActiveCampaignSession:
    """Paced, retrying JSON client for ``<api_url>/api/3``.

    429 and 5xx, timeouts, dropped connections and truncated JSON are retried with bounded
    exponential backoff and jitter (a 429's Retry-After is honoured by pausing the shared
    pacer); other 4xx raise FatalAPIError with ActiveCampaign's own text (the key redacted
    from it). A 3xx is never followed (RedirectRefusedError), and no connection goes to an
    address the URL checks refuse (``transport``). The API key is sent only in the
    ``Api-Token`` header and never appears in messages.
    """

    def __init__(
        self,
        api_url: str,
        api_key: str,
        *,
        requests_per_second: float = 5.0,
        timeout: float = 60.0,
        user_agent: str = "activecampaign-client",
        max_retries: int = 6,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        pacer: Pacer | None = None,
        allow_private_network: bool = False,
    ) -> None:
        self.base_url = normalize_api_url(api_url, allow_private_network=allow_private_network)
        self._session = guarded_session(allow_private_network=allow_private_network)
        self._session.headers.update(
            {
                "Api-Token": check_api_key(api_key),
                "Accept": "application/json",
                "User-Agent": user_agent,
            }
        )
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        # One budget per account, shared with every other process on this machine.
        self.pacer = pacer or shared_pacer(requests_per_second, self.base_url)
        self.usage = ApiUsage(rate=requests_per_second)
        self.key_accepted = False  # set by the first successful answer (see errors.classify)

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff, bounded by backoff_max."""
        ceiling = min(self.backoff_max, self.backoff_base * (2**attempt))
        return random.uniform(ceiling / 2, ceiling)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | list[tuple[str, Any]] | None = None,
        json: Any = None,
        data: bytes | None = None,
        max_retries: int | None = None,
    ) -> Any:
        """Send one request (retrying what can be retried) and return the parsed JSON body.

        ``max_retries`` overrides the session's for this request (0: one attempt, for a caller
        that must check what a failed write did before it retries)."""
        retries = self.max_retries if max_retries is None else max_retries
        last_problem = ""
        for attempt in range(retries + 1):
            if attempt:
                self.usage.retries += 1
            self.usage.requests += 1
            try:
                with self.pacer.slot():
                    response = self._session.request(
                        method, self.url(path), params=params, json=json, timeout=self.timeout,
                        # pre-serialized JSON, sent as is (a caller measured these bytes)
                        data=data, headers=None if data is None else JSON_HEADERS,
                        allow_redirects=False,  # the key must not follow a redirect
                    )
            except requests.Timeout:
                last_problem = f"timed out after {self.timeout:g} s"
                self._sleep_before_retry(attempt, path, last_problem, retries)
                continue
            except requests.ConnectionError as exc:
                last_problem = f"connection failed ({type(exc).__name__})"
                self._sleep_before_retry(attempt, path, last_problem, retries)
                continue
            status = response.status_code
            self.usage.by_status[status] = self.usage.by_status.get(status, 0) + 1
            verdict = classify(status, self.key_accepted,
                               body_or_text(response) if status == 403 else None)
            if verdict == "fatal":
                raise fatal_error_for(method, path, response)
            if verdict == "retry":
                wait = retry_after_seconds(response) if status == 429 else None
                if status == 429:
                    self.usage.throttled += 1
                last_problem = f"HTTP {status}"
                if status == 403:
                    last_problem += (" although the key was accepted earlier in this run "
                                     "(intermittent, or the user lacks permission for this)")
                if wait is not None:
                    self.pacer.pause(wait)
                    LOGGER.warning("HTTP 429 on %s %s; pausing %.1f s (Retry-After)",
                                   method, path, wait)
                    continue
                self._sleep_before_retry(attempt, path, last_problem, retries)
                continue
            try:
                body = parse_body(response)
            except ValueError:
                last_problem = "truncated or malformed JSON body"
                self._sleep_before_retry(attempt, path, last_problem, retries)
                continue
            self.key_accepted = True
            return body
        host_hint = f" {URL_HINT}" if "connection failed" in last_problem else ""
        raise RetriableAPIError(
            f"{method} {path} failed after {retries + 1} attempts "
            f"(last problem: {last_problem}); retried with exponential backoff.{host_hint}"
        )

    def _sleep_before_retry(self, attempt: int, path: str, problem: str, retries: int) -> None:
        if attempt >= retries:
            return
        delay = self.backoff(attempt)
        LOGGER.warning("%s on %s; retry %d/%d in %.1f s", problem, path, attempt + 1,
                       retries, delay)
        time.sleep(delay)

    def get(self, path: str, params: dict[str, Any] | list[tuple[str, Any]] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any = None, *, data: bytes | None = None) -> Any:
        return self.request("POST", path, json=body, data=data)

    def put(self, path: str, body: Any) -> Any:
        return self.request("PUT", path, json=body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def close(self) -> None:
        self._session.close()


__all__ = ["ActiveCampaignError", "ActiveCampaignSession", "ApiUsage", "FatalAPIError"]
