"""Normalization of the two match keys (email, website domain) and of blank values.

Both directions use these, so a contact or account matches the same way on import and push.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

# Pragmatic address check: one @, no spaces, a dotted domain with a 2+ letter TLD.
_EMAIL_RE = re.compile(r"^[^@\s\x00-\x1f]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}$")
_DOMAIN_RE = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$")


def blank_to_none(value: Any) -> Any:
    """``""`` (or whitespace) becomes None; anything else is returned as is."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


def normalize_email(value: Any) -> str | None:
    """Trimmed, lower-cased email, or None when blank. Does not validate (see is_valid_email)."""
    if not isinstance(value, str):
        return None
    email = value.strip().lower()
    return email or None


def is_valid_email(value: Any) -> bool:
    """True when ``value`` (already normalized or not) looks like a deliverable address."""
    email = normalize_email(value)
    return bool(email) and len(email) <= 254 and bool(_EMAIL_RE.match(email))  # type: ignore[arg-type]


def normalize_domain(value: Any) -> str | None:
    """The bare registrable host of a website: ``https://www.Acme.com/about`` -> ``acme.com``.

    Tolerates a missing scheme, ``www.``, ports, paths, queries, trailing dots and case.
    Returns None for blanks and for values that are not a domain name.
    """
    if not isinstance(value, str):
        return None
    raw = value.strip()
    if not raw:
        return None
    if "://" not in raw:
        raw = "//" + raw
    try:
        host = urlsplit(raw).hostname
    except ValueError:
        return None
    if not host:
        return None
    host = host.strip(".").lower()
    if host.startswith("www."):
        host = host[4:]
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    if not _DOMAIN_RE.match(host):
        return None
    return host
