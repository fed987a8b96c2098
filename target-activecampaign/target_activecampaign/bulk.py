"""The bulk importer: request bodies and answers (pure; spec §5.8, §11), then the import,
its polling and the recovery of what did not land (``write_bulk``).

A request holds at most 250 contacts and its body must stay under 400,000 bytes *as sent*. A
JSON encoder's default separators add 7-18 % over a compact estimate, so each body is
serialized once, measured on those bytes and sent as those bytes.
"""

from __future__ import annotations

import functools
import json
import time
import typing as t
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from activecampaign_client import AuthenticationError, FatalAPIError, normalize_email
from activecampaign_client.errors import api_error_text
from target_activecampaign.current import STANDARD_CONTACT_FIELDS, CurrentContact
from target_activecampaign.objects import contacts
from target_activecampaign.outcomes import PushAborted, written
from target_activecampaign.rules import api_id

if t.TYPE_CHECKING:
    from target_activecampaign.context import RunContext
    from target_activecampaign.objects.contacts import ContactPlan


MAX_CONTACTS = 250
MAX_BYTES = 400_000  # documented "< 400,000 bytes": a body must be strictly smaller
RATE_LIMIT_PATIENCE = 300.0  # seconds of "Rate limit exceeded." before giving up
FIRST_RATE_LIMIT_WAIT = 5.0  # then doubling to 60 s: the limit is per minute
POLL_MAX_INTERVAL = 30.0
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


def bulk_entry(plan: ContactPlan) -> dict[str, Any]:
    """One contact of ``POST /import/bulk_import``; absent keys leave AC values untouched."""
    entry: dict[str, Any] = {"email": plan.email}
    for key, value in plan.standard.items():
        entry[STANDARD_CONTACT_FIELDS[key]] = value
    if plan.field_values:
        entry["fields"] = [{"id": api_id(fid), "value": v} for fid, v in plan.field_values.items()]
    if plan.tags_to_add:
        entry["tags"] = list(plan.tags_to_add)
    if plan.lists_to_add:
        entry["subscribe"] = [{"listid": api_id(lid)} for lid in plan.lists_to_add]
    if plan.account is not None:
        entry["customer_acct_name"] = plan.account.name
    return entry


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


def applied(plan: ContactPlan, fresh: CurrentContact | None,
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


def post_bulk(ctx: RunContext, chunk: Chunk, failed: dict[str, str]) -> str | None:
    """POST one import request (its exact bytes); returns its batchId. The per-minute
    limit's 400 is waited out and the same bytes resent; contacts AC's validation refuses
    are put in ``failed`` (email → reason) and the rest re-sent; any other refusal fails
    this request's contacts, not the run."""
    entries, body = chunk.entries, chunk.body
    waited, wait = 0.0, FIRST_RATE_LIMIT_WAIT
    while entries:
        try:
            with ctx.bulk_pacer.slot():
                answer = ctx.session.post("import/bulk_import", data=body)
        except AuthenticationError:
            raise
        except FatalAPIError as exc:
            if is_rate_limited(exc.status, exc.body):
                if waited >= RATE_LIMIT_PATIENCE:
                    raise PushAborted(
                        f"The bulk importer still answers 'Rate limit exceeded.' after "
                        f"{waited:.0f} s of waiting (another integration may be importing); "
                        "stopping without moving STATE.") from exc
                ctx.logger.warning("Bulk import per-minute limit reached (%s); waiting "
                                    "%.0f s, then resending", api_error_text(exc.body), wait)
                ctx.bulk_pacer.pause(wait)
                waited += wait
                wait = min(wait * 2, 60.0)
                continue
            bad = refused_contacts(exc.body, len(entries)) if exc.status == 400 else {}
            if bad:
                for idx, reason in bad.items():
                    failed[entries[idx]["email"]] = (
                        f"Bulk import refused this contact: {reason}")
                entries = [e for i, e in enumerate(entries) if i not in bad]
                body = body_of([encode(e) for e in entries])
                continue
            for entry in entries:
                failed[entry["email"]] = f"Bulk import refused the request: {exc}"
            return None
        ctx.write_paths["bulk_requests"] += 1
        ctx.write_paths["bulk_contacts"] += len(entries)
        batch_id = answer.get("batchId") if isinstance(answer, dict) else None
        if not batch_id:
            raise PushAborted(f"Bulk import answered without a batchId: {answer!r}"[:300])
        return str(batch_id)
    return None


def wait_for_imports(ctx: RunContext, batch_ids: list[str],
                     ) -> tuple[set[str], set[str], list[str]]:
    """Poll ``/import/info`` → (success ids, failure emails, batches still queued after
    ``bulk_import_timeout``). Batches are asked oldest first, and a round stops at the
    first still queued: while ActiveCampaign's queue is busy this is one request per
    interval, the interval growing to 30 s (well under 1 % of the 5/s budget)."""
    timeout = float(ctx.config.get("bulk_import_timeout") or 900)
    interval = float(ctx.config.get("bulk_poll_interval") or 1.0)
    deadline = time.monotonic() + timeout
    pending = list(batch_ids)
    ok_ids: set[str] = set()
    failed: set[str] = set()
    while pending:
        info = ctx.session.get("import/info", {"batchId": pending[0]})
        if str(info.get("status")).lower() == "completed":
            ok_ids.update(str(i) for i in info.get("success") or [])
            failed.update(normalize_email(e) or str(e) for e in info.get("failure") or [])
            pending.pop(0)
            continue
        if time.monotonic() + interval > deadline:
            break
        time.sleep(interval)
        interval = min(interval * 1.5, POLL_MAX_INTERVAL)
    if pending:
        message = (f"{len(pending)} bulk import batch(es) still in ActiveCampaign's import "
                   f"queue after {timeout:g} s (batchIds {', '.join(pending[:3])}); "
                   "reading those contacts to see what landed before resending the rest")
        ctx.logger.warning("%s", message)
        ctx.outcomes.activity.warn("run", "bulk import", message)
    return ok_ids, failed, pending


def confirm_queued(ctx: RunContext, plans: list[ContactPlan], includes: set[str],
                   ) -> dict[str, CurrentContact]:
    """Contacts of a still-queued import that already hold what their plan wrote, read
    fresh from ActiveCampaign (email → contact)."""
    if not plans:
        return {}
    needs = set(includes)
    for pl in plans:
        needs |= {"fieldValues"} if pl.field_values else set()
        needs |= {"contactTags"} if pl.tags_to_add else set()
        needs |= {"contactLists"} if pl.lists_to_add else set()
        needs |= {"accountContacts"} if pl.account is not None else set()
    ctx.tags.cache_clear()  # the importer may have created tags by name
    tag_ids = {n.strip().lower(): i for i, n in ctx.tags().names.items()}
    fresh = ctx.contacts.current_contacts([pl.email for pl in plans], needs, fresh=True)
    return {pl.email: fresh[pl.email] for pl in plans
            if applied(pl, fresh.get(pl.email), tag_ids)}


def write_bulk(ctx: RunContext, plans: list[ContactPlan], includes: set[str],
               ) -> dict[str, tuple[str, str]]:
    """Write ``plans`` with the bulk importer. Returns email → (outcome, message)."""
    results: dict[str, tuple[str, str]] = {}
    creates = [pl for pl in plans if pl.action == "create"]
    before_max = ctx.contacts.highest_id() if creates else 0
    refused: dict[str, str] = {}
    chunks, too_big = chunk_bulk([bulk_entry(pl) for pl in plans])
    resend = {e["email"] for e in too_big}  # over 400,000 bytes alone: contact/sync
    queued: dict[str, list[str]] = {}
    for chunk in chunks:
        if batch_id := post_bulk(ctx, chunk, refused):
            queued[batch_id] = [e["email"] for e in chunk.entries]
    ok_ids, failed_emails, pending = wait_for_imports(ctx, list(queued))
    slow = {email for b in pending for email in queued[b]} - set(refused)
    confirmed = confirm_queued(ctx, [pl for pl in plans if pl.email in slow], includes)
    resend |= slow - set(confirmed)
    if any(pl.tags_to_add for pl in plans):
        ctx.tags.cache_clear()  # the importer created tags by name: re-read their ids
    # /import/info accounts for every contact sent (success ids + failed emails); only
    # when it does not, or when new contacts need follow-ups (automations, job titles),
    # are the new contacts read back (id_greater scan: 1 request per 100).
    sent = len(plans) - len(refused) - len(slow) - len(resend - slow)
    accounted = len(ok_ids) + len(failed_emails & {pl.email for pl in plans})
    need_ids = any(pl.automations or pl.job_title for pl in creates)
    created: dict[str, CurrentContact] | None = None
    if creates and (need_ids or accounted < sent):
        created = {c.email: c for c in ctx.contacts.scan_contacts(includes, after_id=before_max)}
    for pl in plans:
        if pl.email in refused:
            results[pl.email] = ("failed", refused[pl.email])
            continue
        if pl.email in failed_emails or pl.email in resend:
            # The importer gives no reason (or never got to it, or it cannot carry the
            # contact): one contact/sync writes it or returns AC's own error text.
            failure, synced_id = ctx.outcomes.try_write(
                functools.partial(contacts.write_sync, ctx, pl))
            results[pl.email] = ("failed", failure) if failure is not None else written(pl)
            if failure is None:
                ctx.contacts.apply(pl, synced_id)
            continue
        contact_id = pl.current.id if pl.current is not None else None
        if pl.action == "create" and pl.email in confirmed:
            pl.current = confirmed[pl.email]
            contact_id = pl.current.id
        elif pl.action == "create" and created is None:
            results[pl.email] = written(pl)
            ctx.contacts.apply(pl, "")  # id read lazily if a later write needs it
            continue
        elif pl.action == "create":
            assert created is not None
            fresh = created.get(pl.email)
            if fresh is None:
                results[pl.email] = ("failed", "The bulk import reported no failure, but the "
                                     "contact is not in ActiveCampaign afterwards.")
                continue
            contact_id = fresh.id
            pl.current = fresh
        failure, _ = ctx.outcomes.try_write(functools.partial(_follow_up, ctx, pl, contact_id))
        results[pl.email] = ("failed", failure) if failure is not None else written(pl)
        if failure is None and pl.action != "create":
            ctx.contacts.apply(pl, contact_id)
    return results


def _follow_up(ctx: RunContext, plan: ContactPlan, contact_id: str | None) -> None:
    """What the importer cannot do: job titles on account links and automations."""
    if contact_id is None:
        return
    cur = plan.current
    if cur is not None and not contact_id:
        contact_id = ctx.contacts.resolve_id(cur)
    if plan.job_title and cur is not None and cur.account_contact_id and \
            (plan.update_job_title or (plan.account is not None
                                       and cur.job_title != plan.job_title)) and \
            contacts.write_job_title(ctx, plan, cur.account_contact_id):
        cur.job_title = plan.job_title
    contacts.start_automations(ctx, plan, contact_id)
    if cur is not None and cur.automation_ids is not None:
        cur.automation_ids.update(plan.automations)
