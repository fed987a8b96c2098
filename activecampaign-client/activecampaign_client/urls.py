"""Checks of the two connection settings: the API URL and the API key."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from activecampaign_client.errors import FIND_KEY_HINT, URL_HINT, ConfigError

LOOPBACK_NAMES = {"localhost"}


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize_api_url(url: str) -> str:
    """The API base ending in ``/api/3``.

    Accepts the URL from Settings -> Developer with or without a trailing ``/`` or ``/api/3``.
    HTTPS is required, except for loopback hosts (the local sandbox).
    """
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(f"api_url is empty. {URL_HINT}")
    raw = url.strip()
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"api_url {raw!r} is not a valid URL. {URL_HINT}")
    if parts.scheme != "https" and not _is_loopback(parts.hostname):
        raise ConfigError(
            f"api_url {raw!r} must use https:// (plain http is allowed only for a local "
            f"sandbox on 127.0.0.1 or localhost). {URL_HINT}"
        )
    if parts.query or parts.fragment:
        raise ConfigError(f"api_url {raw!r} must not contain a query or fragment. {URL_HINT}")
    path = parts.path.rstrip("/")
    if path.endswith("/api/3"):
        path = path[: -len("/api/3")]
    if path:
        raise ConfigError(
            f"api_url {raw!r} has an unexpected path {parts.path!r}; use the bare account URL. "
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
