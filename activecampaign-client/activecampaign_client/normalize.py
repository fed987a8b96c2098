"""Normalization of the two match keys (email, website domain) and of blank values.

Both directions use these, so a contact or account matches the same way on import and push.
Emails are checked with email-validator (syntax only, never DNS); domains are reduced to their
registrable domain with tldextract's bundled Public Suffix List (never downloaded).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import tldextract
from email_validator import EmailNotValidError, validate_email

_DOMAIN_RE = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$")
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
    """The match key of an address: trimmed (ASCII spaces, tabs, line breaks only) and
    lower-cased, None when blank. A valid address is also brought to the one spelling
    email-validator gives it (NFC local part, IDNA-normalized domain), so two spellings a
    person reads alike are one key. An invalid one is only trimmed and lower-cased: nothing
    is stripped from it that would make it another, valid address (see ``email_problem``)."""
    if not isinstance(value, str):
        return None
    email = value.strip(_TRIM).lower()
    if not email:
        return None
    if _fast_plain(email) is not None:
        return email
    return _checked(value)[1]


def is_valid_email(value: Any) -> bool:
    """True when ``value`` is an address a contact can have (``email_problem`` is None)."""
    return email_problem(value) is None


def email_problem(value: Any) -> str | None:
    """Why ``value`` is not an address a contact can have, or None when it is one.

    Syntax only, never DNS: characters a person cannot see (Unicode categories Cc, Cf, Co,
    Cs, Cn, Zs, Zl, Zp and the other default-ignorable code points: bidi controls, zero-width
    joiners, soft hyphens, fillers), named with their position (1 = first character of
    ``value``); look-alike compatibility characters in the part before the @-sign; a
    ``mailto:`` link; angle brackets; a leading, trailing or doubled dot before the @-sign;
    more than 64 characters before it or 254 in all; then email-validator's own rules
    (reserved domains such as ``.test``, quoted local parts, ...). International addresses
    (``zoë@exämple.de``, ``王伟@example.cn``) are valid.
    """
    if not isinstance(value, str) or not value.strip(_TRIM):
        return "is empty"
    lowered = value.strip(_TRIM).lower()
    domain = _fast_plain(lowered)
    if domain is not None:
        return _domain_problem(domain)
    return _checked(value)[0]


_TRIM = " \t\r\n"  # trimmed around an address; any other space or control is refused
# A dot-atom local part of plain ASCII and a plain lower-case ASCII domain: email-validator's
# verdict then depends on the domain only, which repeats across contacts, so it is asked once
# per domain (punycode labels take the long way: they are normalized to Unicode).
_PLAIN = re.compile(r"([a-z0-9!#$%&'*+/=?^_`{|}~-]{1,64}(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
                    r"@([a-z0-9.-]+)\Z")
_INVISIBLE = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zs", "Zl", "Zp"})
# Default_Ignorable_Code_Point (Unicode DerivedCoreProperties) outside those categories:
# the combining grapheme joiner, Hangul and Khmer fillers, variation selectors; and the
# blank Braille pattern. Each renders as nothing (or a blank).
_IGNORABLE_RANGES = ((0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F),
                     (0x2800, 0x2800), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0),
                     (0xE0000, 0xE0FFF))


def _fast_plain(email: str) -> str | None:
    """The domain of a lower-cased plain-ASCII address within the length limits, else None."""
    plain = _PLAIN.match(email)
    if plain is None or len(plain[1]) > 64 or len(email) > 254 or "xn--" in plain[2]:
        return None
    return plain[2]


def _invisible(ch: str) -> bool:
    if unicodedata.category(ch) in _INVISIBLE:
        return True
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _IGNORABLE_RANGES)


def _describe(ch: str, position: int) -> str:
    name = unicodedata.name(ch, "")
    what = name if name else ("a control character" if unicodedata.category(ch) == "Cc"
                              else "an unassigned or private character")
    return f"contains {what} (U+{ord(ch):04X}) at position {position}"


@lru_cache(maxsize=8192)
def _checked(value: str) -> tuple[str | None, str]:
    """(why ``value`` is refused or None, its match key) off the plain-ASCII path: one
    email-validator call for both, so normalizing then checking an address costs one."""
    email = value.strip(_TRIM)
    problem = _syntax_problem(value)
    if problem is None:
        try:
            valid = validate_email(email, check_deliverability=False, strict=True)
        except EmailNotValidError as exc:
            problem = _reason(exc)
        else:
            local = unicodedata.normalize("NFC", valid.local_part.lower())
            return None, f"{local}@{valid.domain.lower()}"
    return problem, email.lower()


def _syntax_problem(value: str) -> str | None:
    """What email-validator would say less clearly, or not at all (invisible characters,
    look-alikes, a 65-character local part), with the position in ``value``."""
    offset = len(value) - len(value.lstrip(_TRIM))  # leading whitespace is trimmed
    email = value.strip(_TRIM)
    if email.lower().startswith("mailto:"):
        return "starts with 'mailto:' (a link, not an address); give the address alone"
    for i, ch in enumerate(email):
        if ch in "<>":
            return (f"contains {ch!r} at position {i + 1 + offset}; give the bare address, "
                    "without a name or angle brackets")
    for i, ch in enumerate(email):
        if (not ch.isascii() or not ch.isprintable() or ch == " ") and _invisible(ch):
            why = "an address holds no spaces" if unicodedata.category(ch) == "Zs" else \
                "it cannot be seen, so the address would look like another one"
            return f"{_describe(ch, i + 1 + offset)}; {why}: remove it at the source"
    if email.count("@") != 1:
        return "has no @-sign" if "@" not in email else \
            f"has {email.count('@')} @-signs; an address has exactly one"
    local = email.split("@", 1)[0]
    if local.startswith("."):
        return "starts with a dot; the part before the @-sign cannot begin with '.'"
    if local.endswith("."):
        return "has a dot right before the @-sign; the part before it cannot end with '.'"
    if ".." in local:
        return (f"has two dots in a row at position {local.index('..') + 1 + offset}; the "
                "part before the @-sign cannot contain '..'")
    if len(local) > 64:
        return f"has {len(local)} characters before the @-sign; at most 64 are allowed"
    if len(email) > 254:
        return f"is {len(email)} characters long; at most 254 are allowed"
    for i, ch in enumerate(local):
        plain = unicodedata.normalize("NFKC", ch)
        if not ch.isascii() and plain != unicodedata.normalize("NFC", ch):
            return (f"{_describe(ch, i + 1 + offset)}, a look-alike of {plain!r}; type the "
                    "address in plain characters")
    return None


@lru_cache(maxsize=8192)
def _domain_problem(domain: str) -> str | None:
    try:
        validate_email("a@" + domain, check_deliverability=False, strict=True)
    except EmailNotValidError as exc:
        return _reason(exc)
    return None


def _reason(exc: EmailNotValidError) -> str:
    text = str(exc).rstrip(".")
    return text[:1].lower() + text[1:]


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
