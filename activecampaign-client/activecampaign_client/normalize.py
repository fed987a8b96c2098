"""Normalization of the two match keys (email, website domain) and of blank values.

Both directions use these, so a contact or account matches the same way on import and push.
Emails are checked with email-validator (syntax only, never DNS); domains are reduced to their
registrable domain with tldextract's bundled Public Suffix List (never downloaded).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import tldextract
from email_validator import EmailNotValidError, validate_email

_DOMAIN_RE = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$")
# A dot-atom local part of plain ASCII and an ASCII domain: email-validator's verdict then
# depends on the domain only, which repeats across contacts, so it is asked once per domain.
_PLAIN = re.compile(r"([a-z0-9!#$%&'*+/=?^_`{|}~-]{1,64}(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
                    r"@([\x21-\x3f\x41-\x7e]+)\Z")
# The Public Suffix List snapshot bundled with tldextract: no download, no cache file, ever.
# Private suffixes count (github.io, herokuapp.com): a site hosted there is its own account.
_SUFFIXES = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None,
                                  include_psl_private_domains=True)


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
    """True when ``value`` (normalized first) is a syntactically valid address for sending:
    email-validator's syntax rules (no DNS), so ``a..b@c.com``, ``.a@b.com`` and reserved
    domains (``.test``, ``.local``, ``localhost``) are refused."""
    email = normalize_email(value)
    if not email:
        return False
    plain = _PLAIN.match(email)
    if plain is not None and len(email) <= 254 and len(plain[1]) <= 64:
        return _domain_accepts_mail(plain[2])
    return _email_validator_accepts(email)


@lru_cache(maxsize=8192)
def _domain_accepts_mail(domain: str) -> bool:
    return _email_validator_accepts("a@" + domain)


def _email_validator_accepts(email: str) -> bool:
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def normalize_domain(value: Any) -> str | None:
    """The registrable domain of a website, what Abmatic matches accounts on.

    ``https://www.Acme.com/about``, ``blog.acme.com`` -> ``acme.com``; ``shop.acme.co.uk`` ->
    ``acme.co.uk``; a site on a private suffix stays itself (``acme.github.io``). A host whose
    suffix the bundled list does not know is kept whole (a TLD newer than the list); a bare
    public suffix (``co.uk``) names no company: None. Tolerates a missing scheme, ports,
    paths, queries, trailing dots and case. None for blanks and for values that are not a
    domain name.
    """
    if not isinstance(value, str):
        return None
    return _normalize_domain(value)


@lru_cache(maxsize=8192)
def _normalize_domain(value: str) -> str | None:
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
    parts = _SUFFIXES(host)
    if not parts.suffix:
        return host
    if not parts.domain:
        return None
    return f"{parts.domain}.{parts.suffix}"
