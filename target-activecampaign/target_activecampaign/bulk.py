"""The bulk importer's request bodies and answers (pure; spec §5.8, §11).

A request holds at most 250 contacts and its body must stay under 400,000 bytes *as sent*. A
JSON encoder's default separators add 7-18 % over a compact estimate, so each body is
serialized once, measured on those bytes and sent as those bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from target_activecampaign import payloads as p

MAX_CONTACTS = 250
MAX_BYTES = 400_000  # documented "< 400,000 bytes": a body must be strictly smaller
_OPEN, _CLOSE, _COMMA = b'{"contacts":[', b"]}", b","


def encode(obj: Any) -> bytes:
    """The exact bytes sent for ``obj`` (compact separators, UTF-8)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass
class Chunk:
    """One import request: its contacts and the body bytes that go over the wire."""

    entries: list[dict[str, Any]]
    body: bytes


def body_of(encoded: list[bytes]) -> bytes:
    return _OPEN + _COMMA.join(encoded) + _CLOSE


def chunk_bulk(entries: list[dict[str, Any]], max_contacts: int = MAX_CONTACTS,
               max_bytes: int = MAX_BYTES) -> tuple[list[Chunk], list[dict[str, Any]]]:
    """(requests of <= max_contacts whose body is < max_bytes, entries too big for any
    request). Requests are balanced so none holds a single contact when that can be avoided
    (single-contact imports have their own 20/min limit)."""
    encoded = [(e, encode(e)) for e in entries]
    fits = [(e, b) for e, b in encoded if len(_OPEN) + len(b) + len(_CLOSE) < max_bytes]
    too_big = [e for e, b in encoded if len(_OPEN) + len(b) + len(_CLOSE) >= max_bytes]
    chunks: list[Chunk] = []
    if not fits:
        return chunks, too_big
    n_chunks = -(-len(fits) // max_contacts)
    target = -(-len(fits) // n_chunks)
    current: list[tuple[dict[str, Any], bytes]] = []
    size = len(_OPEN) + len(_CLOSE)
    for entry, raw in fits:
        extra = len(raw) + (len(_COMMA) if current else 0)
        if current and (len(current) >= target or size + extra >= max_bytes):
            chunks.append(Chunk([e for e, _ in current], body_of([b for _, b in current])))
            current, size = [], len(_OPEN) + len(_CLOSE)
            extra = len(raw)
        current.append((entry, raw))
        size += extra
    chunks.append(Chunk([e for e, _ in current], body_of([b for _, b in current])))
    return chunks, too_big


def is_rate_limited(status: int | None, body: Any) -> bool:
    """The importer's per-minute limit: 400 "Rate limit exceeded." whose ``failureReasons``
    are strings (``"Up to 100 imports may be requested per minute..."``)."""
    if status != 400 or not isinstance(body, Mapping):
        return False
    reasons = body.get("failureReasons")
    texts = [str(body.get("message") or "")]
    texts += [r for r in reasons if isinstance(r, str)] if isinstance(reasons, list) else []
    return any("rate limit" in t.lower() or "per minute" in t.lower() for t in texts)


def refused_contacts(body: Any, n: int) -> dict[int, str]:
    """Index in the request → reason, from a validation 400's ``failureReasons`` objects;
    anything else in that list (strings, objects without a usable index) is ignored."""
    reasons = body.get("failureReasons") if isinstance(body, Mapping) else None
    out: dict[int, str] = {}
    for r in reasons if isinstance(reasons, list) else []:
        if not isinstance(r, Mapping):
            continue
        try:
            idx = int(r.get("contact"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        if 0 <= idx < n:
            out[idx] = str(r.get("failureReason") or "refused")
    return out


def applied(plan: p.ContactPlan, fresh: p.CurrentContact | None,
            tag_ids: Mapping[str, str]) -> bool:
    """Whether ``fresh`` (read back from ActiveCampaign) already holds what ``plan`` wrote:
    a queued import that landed must not be sent again."""
    if fresh is None:
        return False
    if any((getattr(fresh, k) or "") != v for k, v in plan.standard.items()):
        return False
    for fid, value in plan.field_values.items():
        if not _same(fresh.field_values.get(fid, ""), value):
            return False
    if plan.tags_to_add and not all(
            tag_ids.get(n.strip().lower()) in (fresh.tag_ids or set())
            for n in plan.tags_to_add):
        return False
    if plan.lists_to_add and not all((fresh.list_status or {}).get(lid) == "1"
                                     for lid in plan.lists_to_add):
        return False
    return plan.account is None or fresh.account_id == plan.account.id


def _same(current: str, new: str) -> bool:
    if current == new:
        return True
    if new.startswith("||"):
        return sorted(x for x in current.split("||") if x) == sorted(
            x for x in new.split("||") if x)
    try:
        return float(current) == float(new)
    except ValueError:
        return False
