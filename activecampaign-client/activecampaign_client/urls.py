"""Checks of the two connection settings: the API URL and the API key."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from activecampaign_client.errors import FIND_KEY_HINT, URL_HINT, ConfigError

LOOPBACK_NAMES = {"localhost"}
_HOSTLIKE = re.compile(r"^[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/?$")


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _shown(raw: str) -> str:
    """The URL as error messages may echo it: no user:password@, query or fragment (a key
    pasted into the URL must not reach a log)."""
    try:
        parts = urlsplit(raw)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(unreadable URL)"
    if not parts.scheme:
        # Show a bare host name ("acme.api-us1.com"); hide anything else (it may be the key
        # pasted into the wrong setting).
        if _HOSTLIKE.match(raw):
            return repr(raw)
        return "(value hidden: it does not look like a URL)"
    hidden = bool(parts.username or parts.password or parts.query or parts.fragment)
    shown = f"{parts.scheme}://{host}{port}{parts.path}" if parts.scheme else f"{host}{parts.path}"
    return repr(shown + (" (credentials, query and fragment hidden)" if hidden else ""))


def normalize_api_url(url: str) -> str:
    """The API base ending in ``/api/3``.

    Accepts the URL from Settings -> Developer with or without a trailing ``/`` or ``/api/3``.
    HTTPS is required, except for loopback hosts (the local sandbox).
    """
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(f"api_url is empty. {URL_HINT}")
    raw = url.strip()
    shown = _shown(raw)
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises ValueError on a non-numeric port
    except ValueError:
        raise ConfigError(f"api_url {shown} is not a valid URL. {URL_HINT}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"api_url {shown} is not a valid URL. {URL_HINT}")
    if parts.username or parts.password:
        raise ConfigError(
            f"api_url {shown} must not contain a user name or password (the key goes in "
            f"api_key). {URL_HINT}"
        )
    if parts.scheme != "https" and not _is_loopback(parts.hostname):
        raise ConfigError(
            f"api_url {shown} must use https:// (plain http is allowed only for a local "
            f"sandbox on 127.0.0.1 or localhost). {URL_HINT}"
        )
    if parts.query or parts.fragment:
        raise ConfigError(f"api_url {shown} must not contain a query or fragment. {URL_HINT}")
    path = parts.path.rstrip("/")
    if path.endswith("/api/3"):
        path = path[: -len("/api/3")]
    if path:
        raise ConfigError(
            f"api_url {shown} has an unexpected path {parts.path!r}; use the bare account URL. "
            f"{URL_HINT}"
        )
    return f"{parts.scheme}://{parts.netloc}/api/3"


def check_api_key(key: str) -> str:
    """The key, or a ConfigError that never echoes the key itself."""
    if not isinstance(key, str) or not key:
        raise ConfigError(f"api_key is empty. {FIND_KEY_HINT}")
    if key != key.strip() or any(c.isspace() for c in key):
        raise ConfigError(
            "api_key contains whitespace (often a copy-paste slip): remove spaces and line "
            f"breaks. {FIND_KEY_HINT}"
        )
    return key
