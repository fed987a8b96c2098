"""Errors and the one response classifier shared by every HTTP caller."""

from __future__ import annotations

import json
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import requests

from activecampaign_client.redact import scrub, scrub_value

FIND_KEY_HINT = (
    "Check the API key: in ActiveCampaign open Settings -> Developer -> API Access "
    "and copy the key shown there."
)
URL_HINT = (
    "Check the API URL format: copy it from ActiveCampaign Settings -> Developer, "
    "e.g. https://yourcompany.api-us1.com (include https://)."
)


class ActiveCampaignError(Exception):
    """Base class of every error this package raises; its message never holds the key
    (``redact.scrub``: the second line of defence behind each message's own care)."""

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__(scrub(str(message)), *args)


class ConfigError(ActiveCampaignError):
    """A setting is unusable; the message says which and what to do."""


class UnsafeAddressError(ConfigError):
    """The API host resolved to an address no request may go to (link-local, metadata,
    private without ``allow_private_network``); nothing was sent."""


class FatalAPIError(ActiveCampaignError):
    """A request failed in a way a retry cannot fix (4xx other than 429)."""

    def __init__(self, message: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class RedirectRefusedError(FatalAPIError):
    """A 3xx answer: ActiveCampaign does not redirect API calls, so it is never followed
    (the key would go along) and never retried."""

    def __init__(self, message: str, status: int, location: str | None) -> None:
        super().__init__(message, status=status, body=None)
        self.location = location


class AuthenticationError(FatalAPIError):
    """ActiveCampaign rejected the API key (HTTP 403)."""


class PermissionDeniedError(FatalAPIError):
    """A 403 that refuses one object type or one write, not the key (spec §11).

    Its body says why (``"You do not have permission to view deals."``, ``"Could not create
    SubscriberSeries"``); retrying never heals it. ``reason`` is ActiveCampaign's own text.
    """

    def __init__(self, message: str, reason: str, body: Any = None) -> None:
        super().__init__(message, status=403, body=body)
        self.reason = reason


class RetriableAPIError(ActiveCampaignError):
    """A request failed in a way that may pass on retry (429, 5xx, network, truncated body)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


Verdict = Literal["ok", "retry", "fatal"]


def is_permission_refusal(body: Any) -> bool:
    """Whether a 403 body refuses an object or a write rather than the key (spec §11).

    Only an empty body or the bare ``{"message":"Forbidden"}`` reads as "bad key" (or
    ActiveCampaign's intermittent 403); any other text (``errors[].detail`` "You do not have
    permission to view deals.", ``message`` "Could not create SubscriberSeries") is a refusal.
    """
    text = api_error_text(body).strip().lower()
    return text not in ("", "(empty body)", "forbidden", "forbidden: forbidden")


def classify(status: int, key_accepted: bool = False, body: Any = None) -> Verdict:
    """ok for 2xx; retry for 429 and 5xx; fatal for 3xx (never followed: see
    ``RedirectRefusedError``) and every other 4xx.

    A bare 403 is retried once the key has been accepted earlier in the run: ActiveCampaign
    is known to answer intermittent 403s on a valid key. Before that, it means a rejected key.
    A 403 whose body gives a reason (a missing permission, a refused write) is always fatal.
    """
    if status == 403 and is_permission_refusal(body):
        return "fatal"
    if status == 429 or status >= 500 or (status == 403 and key_accepted):
        return "retry"
    if status >= 300:
        return "fatal"
    return "ok"


def retry_after_seconds(response: requests.Response) -> float | None:
    """The Retry-After header in seconds, if present and numeric."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def api_error_text(body: Any) -> str:
    """ActiveCampaign's own error text from any of its documented error bodies."""
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, str):
            return errors
        if isinstance(errors, list) and errors:
            parts = []
            for err in errors:
                if not isinstance(err, dict):
                    parts.append(str(err))
                    continue
                text = err.get("title") or ""
                if err.get("detail"):
                    text = f"{text}: {err['detail']}" if text else str(err["detail"])
                pointer = (err.get("source") or {}).get("pointer")
                if pointer:
                    text = f"{text} ({pointer})"
                if err.get("code"):
                    text = f"{text} [code={err['code']}]"
                parts.append(text)
            return "; ".join(parts)
        if body.get("message"):
            reasons = body.get("failureReasons")
            if reasons:
                return f"{body['message']} {json.dumps(reasons)[:500]}"
            return str(body["message"])
    if body in (None, "", {}):
        return "(empty body)"
    return " ".join(str(body).split())[:500]  # one line, whatever the page looked like


def error_codes(body: Any) -> list[str]:
    """The ``code`` values of a 422 body (``duplicate``, ``field_missing``, ...)."""
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return [str(e.get("code")) for e in body["errors"] if isinstance(e, dict) and e.get("code")]
    return []


def parse_body(response: requests.Response) -> Any:
    """The JSON body, {} for an empty one; raises ValueError for a truncated or non-JSON one."""
    text = response.text
    if not text.strip():
        return {}
    return json.loads(text)


def body_or_text(response: requests.Response) -> Any:
    """The parsed body, or its first 500 characters when it is not JSON; the key redacted
    (before the cut, so that no part of it is left)."""
    key = sent_key(response)
    try:
        return scrub_value(parse_body(response), key)
    except ValueError:
        return scrub(response.text, key)[:500]


def sent_key(response: requests.Response) -> str | None:
    """The key the request carried (redacted from the answer even if never registered)."""
    request = getattr(response, "request", None)
    key = request.headers.get("Api-Token") if request is not None else None
    return key.decode("latin-1") if isinstance(key, bytes) else key


def shown_location(response: requests.Response) -> str | None:
    """A redirect's target as ``scheme://host:port/path``: no query, fragment or user part."""
    location = response.headers.get("Location")
    if not location:
        return None
    request = getattr(response, "request", None)
    try:
        parts = urlsplit(urljoin(request.url or "", location) if request is not None
                         else location)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(an unreadable location)"
    host = f"[{host}]" if ":" in host else host
    shown = f"{parts.scheme}://{host}{port}{parts.path}" if parts.scheme else parts.path
    return scrub(shown, sent_key(response))


def redirect_error(method: str, path: str, response: requests.Response) -> RedirectRefusedError:
    location = shown_location(response)
    where = f"to {location}" if location else "without a Location"
    return RedirectRefusedError(
        f"The API URL answered HTTP {response.status_code} on {method} {path}, redirecting "
        f"{where}. Not followed, nothing was sent there: ActiveCampaign does not redirect API "
        f"calls, so the api_url setting points somewhere else (a login page, a proxy or an "
        f"old account URL). {URL_HINT}",
        status=response.status_code, location=location)


def fatal_error_for(method: str, path: str, response: requests.Response) -> FatalAPIError:
    """A FatalAPIError carrying ActiveCampaign's text, with the key redacted from it (an echoed
    request puts it there: some servers and proxies repeat the headers in a 4xx body).

    A 3xx becomes a RedirectRefusedError, a 403 with a reason a PermissionDeniedError, a bare
    403 an AuthenticationError."""
    if 300 <= response.status_code < 400:
        return redirect_error(method, path, response)
    body = body_or_text(response)
    text = api_error_text(body)
    if response.status_code == 403 and is_permission_refusal(body):
        return PermissionDeniedError(
            f"ActiveCampaign refused {method} {path} (HTTP 403: {text}). The API key works; "
            "the user it belongs to lacks this permission, or this write is not allowed.",
            reason=text,
            body=body,
        )
    if response.status_code == 403:
        return AuthenticationError(
            f"ActiveCampaign rejected the API key (HTTP 403 on {method} {path}: {text}). "
            + FIND_KEY_HINT,
            status=403,
            body=body,
        )
    return FatalAPIError(
        f"ActiveCampaign answered HTTP {response.status_code} on {method} {path}: {text}",
        status=response.status_code,
        body=body,
    )


def check_key_hint() -> str:
    """Where a user finds the API key (shown with every key problem)."""
    return FIND_KEY_HINT
