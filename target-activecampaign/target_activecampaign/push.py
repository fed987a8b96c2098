"""One push run: the reads and writes against ActiveCampaign, shared by both sinks.

The decisions live in ``payloads`` (pure); this module only reads what they need, sends what
they return and records each outcome in the activity log (and rejects file).
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from activecampaign_client import (
    ActiveCampaignSession,
    AuthenticationError,
    FatalAPIError,
    RetriableAPIError,
    normalize_domain,
    normalize_email,
    shared_pacer,
)
from activecampaign_client.errors import PermissionDeniedError, api_error_text, error_codes
from activecampaign_client.paging import PageGuard, PagingError, total_of
from target_activecampaign import bulk
from target_activecampaign import payloads as p
from target_activecampaign.activity import MESSAGES, ActivityLog, RejectsFile, now_iso
from target_activecampaign.related import RelatedReader, missing_sideloads

PAGE = 100
MAX_CONSECUTIVE_TRANSIENT_FAILURES = 3
BULK_RATE_LIMIT_PATIENCE = 300.0  # seconds of "Rate limit exceeded." before giving up
BULK_FIRST_RATE_LIMIT_WAIT = 5.0  # then doubling to 60 s: the limit is per minute
BULK_POLL_MAX_INTERVAL = 30.0


def refusable(plan: p.ContactPlan, what: str, write: Callable[..., Any], *args: Any) -> bool:
    """Run one follow-up write of a contact already written. A 4xx that retrying cannot fix
    (a permission 403, a 422, a 404) is a warning for this record, not a failure of the run;
    a rejected key still stops it. False when refused."""
    try:
        write(*args)
        return True
    except AuthenticationError:
        raise
    except FatalAPIError as exc:
        reason = exc.reason if isinstance(exc, PermissionDeniedError) else \
            api_error_text(exc.body)
        note = " (ActiveCampaign allows one account per contact)" if \
            what.startswith("Not linked") and exc.status == 422 else ""
        text = f"{what}: ActiveCampaign refused it (HTTP {exc.status}: {reason}){note}; " \
            "not retried."
        plan.warnings.append(text)
        plan.refusals.append(text)
        return False


def _set_values(account: p.CurrentAccount, data: Iterable[Mapping[str, Any]]) -> None:
    """An account's custom field values (currency ones in cents) and their currencies."""
    account.field_values = {}
    for d in data:
        fid = str(d.get("customFieldId"))
        if d.get("fieldValue") not in (None, ""):
            account.field_values[fid] = str(d["fieldValue"])
        if d.get("fieldCurrency"):
            account.field_currencies[fid] = str(d["fieldCurrency"])


class PushAborted(RuntimeError):
    """The run cannot go on (ActiveCampaign unreachable, bulk import stuck); no STATE moves."""


class PushRun:
    """State of one target run: session, caches of AC metadata, the contact index, logs."""

    def __init__(self, config: Mapping[str, Any], logger: logging.Logger,
                 session: ActiveCampaignSession | None = None) -> None:
        self.config = config
        self.logger = logger
        self.dry_run = bool(config.get("dry_run"))
        self.activity = ActivityLog(config.get("activity_log_path"), dry_run=self.dry_run)
        self.rejects = RejectsFile(config.get("rejects_path"))
        self.max_records = config.get("max_records")
        self.records_admitted = 0
        self._session = session
        self._checked = False
        self.bulk_threshold = max(2, int(config.get("bulk_threshold") or 10))
        # The importer's 100 requests/minute are per account too: shared like the 5/s.
        self.bulk_pacer = shared_pacer(float(config.get("bulk_requests_per_minute") or 100),
                                       config.get("api_url"), name="bulk-import", window=61.8)
        self.read_strategy = config.get("read_strategy") or "auto"
        # caches, filled on first need
        self._contact_fields: p.FieldCatalog | None = None
        self._account_fields: p.FieldCatalog | None = None
        self._lists: p.NameIndex | None = None
        self._tags: p.NameIndex | None = None
        self._automations: p.NameIndex | None = None
        self._accounts: dict[str, p.CurrentAccount] | None = None
        self._account_names: dict[str, str] = {}
        self._contact_total: int | None = None
        self.contact_index: dict[str, p.CurrentContact] | None = None
        self._index_includes: set[str] = set()
        self._related: RelatedReader | None = None
        self._transient_failures = 0
        self.temporary_failures = 0  # records failed on retriable errors: STATE must not move
        self.read_mode_used: set[str] = set()
        self.write_paths: dict[str, int] = {"bulk_requests": 0, "bulk_contacts": 0,
                                            "sync_requests": 0}

    # ------------------------------------------------------------------ session
    @property
    def related(self) -> RelatedReader:
        if self._related is None:
            self._related = RelatedReader(self.session, self.logger)
        return self._related

    @property
    def session(self) -> ActiveCampaignSession:
        if self._session is None:
            self._session = ActiveCampaignSession(
                self.config["api_url"], self.config["api_key"],
                requests_per_second=float(self.config.get("requests_per_second") or 5),
                timeout=float(self.config.get("request_timeout") or 60),
                user_agent=self.config.get("user_agent") or "target-activecampaign/0.1.0",
                max_retries=int(self.config.get("max_retries", 6)),
            )
        if not self._checked:
            self._checked = True
            self._session.get("users/me")  # a rejected key fails here with the client's message
        return self._session

    def get_all(self, path: str, list_key: str, params: dict[str, Any] | None = None,
                ) -> list[dict[str, Any]]:
        """Every item of a collection, offset-paged by 100 (see ``read_pages``)."""
        return self.read_pages(path, list_key, params)[0]

    def read_pages(self, path: str, list_key: str, params: dict[str, Any] | None = None,
                   ) -> tuple[list[dict[str, Any]], bool]:
        """(items, complete). Stops on a short page, on ``meta.total``, on a page repeating
        the previous one (an endpoint that ignores offset) or at PageGuard's hard cap
        (PagingError). ``complete`` is False when a repeat came after a page of exactly
        ``limit`` rows: such an endpoint cannot give the rest by paging."""
        guard = PageGuard(f"GET /{path}")
        items: list[dict[str, Any]] = []
        first = -1
        while guard.more:
            body = self.session.get(path, {**(params or {}), "limit": PAGE,
                                           "offset": guard.pages * PAGE})
            page = body.get(list_key) or [] if isinstance(body, dict) else body or []
            first = len(page) if first < 0 else first
            kept = guard.page(page, total_of(body), guard.pages * PAGE)
            if page and not kept:  # repeated: only an answer longer than limit was all rows
                return items, first > PAGE
            items.extend(kept)
        return items, True

    # ------------------------------------------------------------------ admission
    def admit(self, stream: str, record: dict[str, Any], key: str,
              x_sync: dict[str, Any] | None) -> bool:
        """False (and the record reported, not dropped) once ``max_records`` is reached."""
        if self.max_records is None or self.records_admitted < int(self.max_records):
            self.records_admitted += 1
            return True
        msg = (f"Not pushed: beyond max_records={self.max_records} (test sync limit); "
               "replay it from the rejects file.")
        self.activity.record("skipped", stream[:-1], key, msg, event=record.get("event"))
        self.rejects.write(stream, record, msg, "skipped", x_sync)
        return False

    # ------------------------------------------------------------------ metadata
    @property
    def contact_fields(self) -> p.FieldCatalog:
        if self._contact_fields is None:
            fields: list[dict[str, Any]] = []
            options: list[dict[str, Any]] = []
            guard = PageGuard("GET /fields")
            while guard.more:
                body = self.session.get("fields", {"limit": PAGE, "offset": guard.pages * PAGE})
                if guard.page(body.get("fields") or [], total_of(body), guard.pages * PAGE):
                    fields.extend(body.get("fields") or [])
                    options.extend(body.get("fieldOptions") or [])
            self._contact_fields = p.FieldCatalog(
                p.contact_fields_from_api({"fields": fields, "fieldOptions": options}))
        return self._contact_fields

    @property
    def account_fields(self) -> p.FieldCatalog:
        if self._account_fields is None:
            self._account_fields = p.FieldCatalog(p.account_fields_from_api(
                self.get_all("accountCustomFieldMeta", "accountCustomFieldMeta")))
        return self._account_fields

    def _names(self, path: str, key: str, name_key: str) -> p.NameIndex:
        return p.NameIndex({str(o["id"]): str(o.get(name_key) or "")
                            for o in self.get_all(path, key)})

    @property
    def lists(self) -> p.NameIndex:
        if self._lists is None:
            self._lists = self._names("lists", "lists", "name")
        return self._lists

    @property
    def tags(self) -> p.NameIndex:
        if self._tags is None:
            self._tags = self._names("tags", "tags", "tag")
        return self._tags

    @property
    def automations(self) -> p.NameIndex:
        if self._automations is None:
            self._automations = self._names("automations", "automations", "name")
        return self._automations

    @property
    def accounts(self) -> dict[str, p.CurrentAccount]:
        """domain → account, read once per run (tolerant of www., scheme, path and case)."""
        if self._accounts is None:
            found = p.accounts_from_api(self.get_all("accounts", "accounts"))
            self._account_names = {a.id: a.name for a in found}
            self._accounts = p.account_index(found)
        return self._accounts

    def remember_account(self, account: p.CurrentAccount) -> None:
        self._account_names[account.id] = account.name
        if account.domain:
            self.accounts[account.domain] = account

    def references(self, records: list[dict[str, Any]]) -> p.References:
        """Only what these records need is read (a push without tags never lists tags)."""
        empty = p.NameIndex()
        need_tags = bool(self.config.get("sync_tag")) or any(r.get("tags") for r in records)
        need_lists = bool(self.config.get("default_list")) or any(r.get("lists") for r in records)
        return p.References(
            fields=self.contact_fields if any(r.get("fields") for r in records)
            else p.FieldCatalog([]),
            lists=self.lists if need_lists else empty,
            tags=self.tags if need_tags else empty,
            automations=self.automations if any(r.get("automations") for r in records)
            else empty,
            accounts=self.accounts if any(r.get("account_domain") for r in records) else {},
            account_names=self._account_names,
            default_list=self.config.get("default_list") or None,
            sync_tag=self.config.get("sync_tag") or None,
        )

    # ------------------------------------------------------------------ contact reads
    def contact_total(self) -> int:
        if self._contact_total is None:
            body = self.session.get("contacts", {"limit": 1})
            try:
                self._contact_total = int((body.get("meta") or {}).get("total") or 0)
            except (TypeError, ValueError):
                self._contact_total = 10**9
        return self._contact_total

    def current_contacts(self, emails: list[str], includes: set[str], *, fresh: bool = False,
                         ) -> dict[str, p.CurrentContact]:
        """Current AC state for ``emails``: one keyset scan per run when that costs fewer
        requests than one ``GET /contacts?email=`` per record, else per-record look-ups."""
        if not emails:
            return {}
        if not fresh and self.contact_index is not None and includes <= self._index_includes:
            return {e: self.contact_index[e] for e in emails if e in self.contact_index}
        strategy = self.read_strategy
        if strategy == "auto":
            scan_cost = math.ceil(self.contact_total() / PAGE) + 1
            strategy = "scan" if scan_cost <= len(emails) else "lookup"
        self.read_mode_used.add(strategy)
        if strategy == "scan":
            self.scan_contacts(includes | self._index_includes)
            assert self.contact_index is not None
            return {e: self.contact_index[e] for e in emails if e in self.contact_index}
        found: dict[str, p.CurrentContact] = {}
        missing: set[str] = set()
        for email in emails:
            body = self.session.get("contacts", {"email": email, "include": ",".join(
                sorted(includes))})
            for cur in p.contacts_from_page(body):
                if cur.email == email:
                    found[email] = cur
                    missing |= missing_sideloads(body, includes)
                    break
        if missing:
            self.related.fill(list(found.values()), missing)
        return found

    def scan_contacts(self, includes: set[str], after_id: int = 0,
                      ) -> list[p.CurrentContact]:
        """Keyset scan ``orders[id]=ASC&id_greater=`` in pages of 100.

        From id 0 it (re)builds the run's index of every contact; from a later id (the new
        contacts of a bulk import) it extends the index only when one exists.
        """
        if after_id == 0:
            self.contact_index = {}
            self._index_includes = set(includes)
        seen: list[p.CurrentContact] = []
        missing: set[str] = set()
        last = after_id
        guard = PageGuard("GET /contacts (id_greater)")
        while guard.more:
            body = self.session.get("contacts", {
                "orders[id]": "ASC", "id_greater": last, "limit": PAGE,
                "include": ",".join(sorted(includes))})
            raw = body.get("contacts") or []
            # keyset: meta.total counts what is left, so the offset passed is 0
            if raw and not guard.page(raw, total_of(body), 0):
                raise PagingError(
                    "GET /contacts answered the same page for a higher id_greater (the "
                    "account ignores keyset paging); set read_strategy: lookup.")
            if not raw:
                guard.more = False
            page = p.contacts_from_page(body)
            if self.contact_index is not None:
                for cur in page:
                    self.contact_index[cur.email] = cur
            seen.extend(page)
            if raw:
                missing |= missing_sideloads(body, includes)
                last = max(int(c["id"]) for c in raw)
        if missing:  # once for the whole scan: the table costs the same for 1 page or 50
            self.related.fill(seen, missing)
        return seen

    def max_contact_id(self) -> int:
        body = self.session.get("contacts", {"orders[id]": "DESC", "limit": 1})
        ids = [int(c["id"]) for c in body.get("contacts") or []]
        return max(ids, default=0)

    def resolve_id(self, current: p.CurrentContact) -> str:
        """The id of a contact this run created through the importer without reading it back."""
        if not current.id:
            body = self.session.get("contacts", {"email": current.email})
            found = [c for c in p.contacts_from_page(body) if c.email == current.email]
            if not found:
                raise PushAborted(f"Contact {current.email} vanished from ActiveCampaign.")
            current.id = found[0].id
        return current.id

    def read_automations(self, current: p.CurrentContact) -> None:
        self.resolve_id(current)
        items = self.get_all(f"contacts/{current.id}/contactAutomations", "contactAutomations")
        current.automation_ids = {str(a.get("automation") or a.get("seriesid")) for a in items}

    # ------------------------------------------------------------------ outcomes
    def finish_contact(self, plan: p.ContactPlan, outcome: str, message: str,
                       x_sync: dict[str, Any] | None) -> None:
        event = plan.record.get("event")
        for warning in plan.warnings:
            self.activity.warn("contact", plan.email or str(plan.record.get("email")), warning,
                               event)
        if plan.refusals and outcome in ("created", "updated"):
            # written, but part of it AC refused for good: replayable once the cause is fixed
            self.rejects.write("contacts", plan.record, " ".join(plan.refusals), "refused",
                               x_sync)
        changes = plan.change_dict() if outcome in ("created", "updated") else None
        self.activity.record(outcome, "contact", plan.email or str(plan.record.get("email")),
                             message, changes=changes, event=event)
        if outcome in ("rejected", "failed"):
            self.rejects.write("contacts", plan.record, message, outcome, x_sync)

    def finish_account(self, plan: p.AccountPlan, outcome: str, message: str,
                       x_sync: dict[str, Any] | None) -> None:
        changes = plan.change_dict() if outcome in ("created", "updated") else None
        self.activity.record(outcome, "account", plan.domain or str(plan.record.get("accountUrl")),
                             message, changes=changes)
        if outcome in ("rejected", "failed"):
            self.rejects.write("accounts", plan.record, message, outcome, x_sync)

    def reject_input(self, stream: str, record: Any, line: int, message: str,
                     x_sync: dict[str, Any] | None) -> None:
        """A record refused before any lookup (shape or order of the input), named by its key
        when it has one, else by its input line."""
        key_field = "email" if stream == "contacts" else "accountUrl"
        raw_key = record.get(key_field) if isinstance(record, dict) else None
        key = (normalize_email(raw_key) if stream == "contacts" else None) or \
            (str(raw_key).strip() if isinstance(raw_key, str) and raw_key.strip() else "")
        key = f"{key} (input line {line})" if key else f"input line {line}"
        obj = stream[:-1] if stream in ("contacts", "accounts") else stream
        event = record.get("event") if isinstance(record, dict) else None
        self.logger.warning("Rejected %s %s: %s", obj, key, message)
        self.activity.record("rejected", obj, key, f"Error: {message}",
                             event=event if isinstance(event, str) else None)
        if stream in ("contacts", "accounts"):
            self.rejects.write(stream, record, message, "rejected", x_sync, line=line)

    def reject_unreadable(self, line: int, message: str, raw: str) -> None:
        """An input line that is not a Singer message: logged, raw text kept for inspection."""
        self.activity.record("rejected", "input", f"input line {line}", f"Error: {message}")
        self.rejects.write_unreadable(line, message, raw)

    def failure_message(self, exc: Exception) -> str:
        """The API's own text for a record that finally failed; aborts on systemic trouble."""
        if isinstance(exc, AuthenticationError):
            raise exc
        if isinstance(exc, RetriableAPIError):
            self._transient_failures += 1
            self.temporary_failures += 1
            if self._transient_failures >= MAX_CONSECUTIVE_TRANSIENT_FAILURES:
                raise PushAborted(
                    f"{MAX_CONSECUTIVE_TRANSIENT_FAILURES} records in a row failed after "
                    f"retries; stopping so that no STATE moves on. Last error: {exc}") from exc
            return str(exc)
        if isinstance(exc, FatalAPIError):
            if "duplicate" in error_codes(exc.body):
                return f"{MESSAGES['duplicate']} ({api_error_text(exc.body)})"
            return str(exc)
        raise exc

    def ok(self) -> None:
        self._transient_failures = 0

    # ------------------------------------------------------------------ creates
    def create(self, path: str, body: dict[str, Any],
               find: Callable[[], dict[str, Any] | None]) -> dict[str, Any]:
        """POST a create that ActiveCampaign does not de-duplicate (an account, a tag, an
        account link, an automation enrolment) and return its answer.

        An attempt that timed out, lost its connection or got a 5xx may have been carried out
        all the same: a blind retry would create a second object (a second enrolment) or fail
        as a duplicate. So before each retry, and on an error answer to a retry, ``find`` looks
        for what the failed attempt may have created; when it is there, that (shaped like the
        POST's answer) is returned and nothing is sent again."""
        session = self.session
        attempts = session.max_retries + 1
        for attempt in range(attempts):
            try:
                return dict(session.request("POST", path, json=body, max_retries=0))
            except FatalAPIError:
                if attempt == 0 or (found := find()) is None:
                    raise
                return found
            except RetriableAPIError as exc:
                if attempt + 1 >= attempts:
                    raise RetriableAPIError(
                        f"POST {path} failed after {attempts} attempts, each retry sent only "
                        f"after checking that the previous one had not been carried out "
                        f"(last: {exc})") from exc
                self.logger.warning("POST %s: %s; checking whether it was carried out before "
                                    "retry %d/%d", path, exc, attempt + 1, attempts - 1)
            time.sleep(session.backoff(attempt))  # a late attempt may still be landing
            found = find()
            if found is not None:
                self.logger.info("POST %s had been carried out; not sent again", path)
                return found
        raise AssertionError("unreachable")  # pragma: no cover

    def _find_account(self, name: str, domain: str | None) -> dict[str, Any] | None:
        body = self.session.get("accounts", {"search": name, "limit": PAGE})
        for acc in body.get("accounts") or []:
            if str(acc.get("name") or "").strip().lower() == name.strip().lower() or (
                    domain and normalize_domain(acc.get("accountUrl")) == domain):
                return {"account": acc}
        return None

    def _find_tag(self, name: str) -> dict[str, Any] | None:
        body = self.session.get("tags", {"search": name, "limit": PAGE})
        for tag in body.get("tags") or []:
            if str(tag.get("tag") or "").strip().lower() == name.strip().lower():
                return {"tag": tag}
        return None

    def _find_link(self, contact_id: str, account_id: str) -> dict[str, Any] | None:
        body = self.session.get("accountContacts", {"filters[contact]": contact_id})
        for link in body.get("accountContacts") or []:
            if str(link.get("contact")) == contact_id and str(link.get("account")) == account_id:
                return {"accountContact": link}
        return None

    def _find_enrolment(self, contact_id: str, automation_id: str) -> dict[str, Any] | None:
        body = self.session.get(f"contacts/{contact_id}/contactAutomations")
        for item in body.get("contactAutomations") or []:
            if str(item.get("automation") or item.get("seriesid")) == automation_id:
                return {"contactAutomation": item}
        return None

    # ------------------------------------------------------------------ contact writes
    def ensure_tag(self, name: str) -> str:
        tag_id = self.tags.find(name)
        if tag_id is None:
            body = self.create("tags", {"tag": {"tag": name, "tagType": "contact",
                                                "description": ""}},
                               lambda: self._find_tag(name))
            tag_id = str(body["tag"]["id"])
            self.tags.add(tag_id, name)
        return tag_id

    def write_sync(self, plan: p.ContactPlan) -> str:
        """Write one contact with ``contact/sync`` and its links; returns the contact id."""
        contact_id = plan.current.id if plan.current is not None else None
        if plan.needs_contact_write or not contact_id:
            body = self.session.post("contact/sync", p.sync_body(plan))
            self.write_paths["sync_requests"] += 1
            contact_id = str(body["contact"]["id"])
        if plan.account is not None:
            link: dict[str, Any] = {"account": plan.account.id, "contact": contact_id}
            if plan.job_title:
                link["jobTitle"] = plan.job_title
            account_id, name = plan.account.id, plan.account.name
            if not refusable(plan, f"Not linked to account {name!r}", lambda: self.create(
                    "accountContacts", {"accountContact": link},
                    lambda: self._find_link(contact_id, account_id))):
                plan.account = None
        elif plan.update_job_title and plan.current is not None and \
                plan.current.account_contact_id:
            link_id = plan.current.account_contact_id
            if not refusable(plan, "Job title not written", lambda: self.session.put(
                    f"accountContacts/{link_id}", {"accountContact": {
                        "jobTitle": plan.job_title}})):
                plan.update_job_title = False
        for tag in list(plan.tags_to_add):
            if not refusable(plan, f"Tag {tag!r} not added", self._tag, contact_id, tag):
                plan.tags_to_add.remove(tag)
        for list_id in list(plan.lists_to_add):
            if not refusable(plan, f"Not subscribed to list {self.lists.names.get(list_id)!r}",
                             self.session.post, "contactLists", {"contactList": {
                                 "list": list_id, "contact": contact_id, "status": 1}}):
                plan.lists_to_add.remove(list_id)
        self.start_automations(plan, contact_id)
        return contact_id

    def _tag(self, contact_id: str, name: str) -> None:
        self.session.post("contactTags", {"contactTag": {"contact": contact_id,
                                                         "tag": self.ensure_tag(name)}})

    def start_automations(self, plan: p.ContactPlan, contact_id: str) -> None:
        """Enrol in each automation; one AC refuses (e.g. not active: 403 "Could not create
        SubscriberSeries") is a warning for this record, never retried."""
        for auto_id in list(plan.automations):
            if not refusable(plan, f"Not enrolled in automation "
                             f"{self.automations.names.get(auto_id, auto_id)!r}",
                             self.create, "contactAutomations", {"contactAutomation": {
                                 "contact": contact_id, "automation": auto_id}},
                             functools.partial(self._find_enrolment, contact_id, auto_id)):
                plan.automations.remove(auto_id)

    def apply_to_index(self, plan: p.ContactPlan, contact_id: str | None) -> None:
        """Keep the run's index equal to what AC now holds, so a later batch diffs correctly."""
        if self.contact_index is None or contact_id is None:
            return
        cur = plan.current or self.contact_index.get(plan.email) or p.CurrentContact(
            id=contact_id, email=plan.email, tag_ids=set(), list_status={})
        if contact_id and not cur.id:
            cur.id = contact_id
        if plan.action == "create":
            for key in p.STANDARD_CONTACT_FIELDS:
                if not p.is_empty(plan.record.get(key)):
                    setattr(cur, key, str(plan.record[key]).strip())
        for key, value in plan.standard.items():
            setattr(cur, key, value or None)
        for fid, value in plan.field_values.items():
            if value:
                cur.field_values[fid] = value
            else:
                cur.field_values.pop(fid, None)
        if plan.account is not None and cur.account_id is None:
            cur.account_id, cur.job_title = plan.account.id, plan.job_title
        if plan.update_job_title:
            cur.job_title = plan.job_title
        if cur.tag_ids is not None:
            for name in plan.tags_to_add:
                tag_id = self.tags.find(name)
                if tag_id:
                    cur.tag_ids.add(tag_id)
        if cur.list_status is not None:
            for list_id in plan.lists_to_add:
                cur.list_status[list_id] = "1"
        if cur.automation_ids is not None:
            cur.automation_ids.update(plan.automations)
        self.contact_index[plan.email] = cur

    # ------------------------------------------------------------------ bulk import
    def post_bulk(self, chunk: bulk.Chunk, failed: dict[str, str]) -> str | None:
        """POST one import request (its exact bytes); returns its batchId. The per-minute
        limit's 400 is waited out and the same bytes resent; contacts AC's validation refuses
        are put in ``failed`` (email → reason) and the rest re-sent; any other refusal fails
        this request's contacts, not the run."""
        entries, body = chunk.entries, chunk.body
        waited, wait = 0.0, BULK_FIRST_RATE_LIMIT_WAIT
        while entries:
            try:
                with self.bulk_pacer.slot():
                    answer = self.session.post("import/bulk_import", data=body)
            except AuthenticationError:
                raise
            except FatalAPIError as exc:
                if bulk.is_rate_limited(exc.status, exc.body):
                    if waited >= BULK_RATE_LIMIT_PATIENCE:
                        raise PushAborted(
                            f"The bulk importer still answers 'Rate limit exceeded.' after "
                            f"{waited:.0f} s of waiting (another integration may be importing); "
                            "stopping without moving STATE.") from exc
                    self.logger.warning("Bulk import per-minute limit reached (%s); waiting "
                                        "%.0f s, then resending", api_error_text(exc.body), wait)
                    self.bulk_pacer.pause(wait)
                    waited += wait
                    wait = min(wait * 2, 60.0)
                    continue
                bad = bulk.refused_contacts(exc.body, len(entries)) if exc.status == 400 else {}
                if bad:
                    for idx, reason in bad.items():
                        failed[entries[idx]["email"]] = (
                            f"Bulk import refused this contact: {reason}")
                    entries = [e for i, e in enumerate(entries) if i not in bad]
                    body = bulk.body_of([bulk.encode(e) for e in entries])
                    continue
                for entry in entries:
                    failed[entry["email"]] = f"Bulk import refused the request: {exc}"
                return None
            self.write_paths["bulk_requests"] += 1
            self.write_paths["bulk_contacts"] += len(entries)
            batch_id = answer.get("batchId") if isinstance(answer, dict) else None
            if not batch_id:
                raise PushAborted(f"Bulk import answered without a batchId: {answer!r}"[:300])
            return str(batch_id)
        return None

    def wait_for_imports(self, batch_ids: list[str],
                         ) -> tuple[set[str], set[str], list[str]]:
        """Poll ``/import/info`` → (success ids, failure emails, batches still queued after
        ``bulk_import_timeout``). Batches are asked oldest first, and a round stops at the
        first still queued: while ActiveCampaign's queue is busy this is one request per
        interval, the interval growing to 30 s (well under 1 % of the 5/s budget)."""
        timeout = float(self.config.get("bulk_import_timeout") or 900)
        interval = float(self.config.get("bulk_poll_interval") or 1.0)
        deadline = time.monotonic() + timeout
        pending = list(batch_ids)
        ok_ids: set[str] = set()
        failed: set[str] = set()
        while pending:
            info = self.session.get("import/info", {"batchId": pending[0]})
            if str(info.get("status")).lower() == "completed":
                ok_ids.update(str(i) for i in info.get("success") or [])
                failed.update(normalize_email(e) or str(e) for e in info.get("failure") or [])
                pending.pop(0)
                continue
            if time.monotonic() + interval > deadline:
                break
            time.sleep(interval)
            interval = min(interval * 1.5, BULK_POLL_MAX_INTERVAL)
        if pending:
            message = (f"{len(pending)} bulk import batch(es) still in ActiveCampaign's import "
                       f"queue after {timeout:g} s (batchIds {', '.join(pending[:3])}); "
                       "reading those contacts to see what landed before resending the rest")
            self.logger.warning("%s", message)
            self.activity.warn("run", "bulk import", message)
        return ok_ids, failed, pending

    def confirm_queued(self, plans: list[p.ContactPlan], includes: set[str],
                       ) -> dict[str, p.CurrentContact]:
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
        self._tags = None  # the importer may have created tags by name
        tag_ids = {n.strip().lower(): i for i, n in self.tags.names.items()}
        fresh = self.current_contacts([pl.email for pl in plans], needs, fresh=True)
        return {pl.email: fresh[pl.email] for pl in plans
                if bulk.applied(pl, fresh.get(pl.email), tag_ids)}

    def write_bulk(self, plans: list[p.ContactPlan], includes: set[str],
                   ) -> dict[str, tuple[str, str]]:
        """Write ``plans`` with the bulk importer. Returns email → (outcome, message)."""
        results: dict[str, tuple[str, str]] = {}
        creates = [pl for pl in plans if pl.action == "create"]
        before_max = 0
        if creates:
            index_ids = [int(c.id) for c in (self.contact_index or {}).values() if c.id]
            before_max = max(index_ids) if index_ids else self.max_contact_id()
        refused: dict[str, str] = {}
        chunks, too_big = bulk.chunk_bulk([p.bulk_entry(pl) for pl in plans])
        resend = {e["email"] for e in too_big}  # over 400,000 bytes alone: contact/sync
        queued: dict[str, list[str]] = {}
        for chunk in chunks:
            if batch_id := self.post_bulk(chunk, refused):
                queued[batch_id] = [e["email"] for e in chunk.entries]
        ok_ids, failed_emails, pending = self.wait_for_imports(list(queued))
        slow = {email for b in pending for email in queued[b]} - set(refused)
        confirmed = self.confirm_queued([pl for pl in plans if pl.email in slow], includes)
        resend |= slow - set(confirmed)
        if any(pl.tags_to_add for pl in plans):
            self._tags = None  # the importer created tags by name: re-read their ids
        # /import/info accounts for every contact sent (success ids + failed emails); only
        # when it does not, or when new contacts need follow-ups (automations, job titles),
        # are the new contacts read back (id_greater scan: 1 request per 100).
        sent = len(plans) - len(refused) - len(slow) - len(resend - slow)
        accounted = len(ok_ids) + len(failed_emails & {pl.email for pl in plans})
        need_ids = any(pl.automations or pl.job_title for pl in creates)
        created: dict[str, p.CurrentContact] | None = None
        if creates and (need_ids or accounted < sent):
            created = {c.email: c for c in self.scan_contacts(includes, after_id=before_max)}
        for pl in plans:
            if pl.email in refused:
                results[pl.email] = ("failed", refused[pl.email])
                continue
            if pl.email in failed_emails or pl.email in resend:
                # The importer gives no reason (or never got to it, or it cannot carry the
                # contact): one contact/sync writes it or returns AC's own error text.
                try:
                    synced_id = self.write_sync(pl)
                    self.ok()
                except (FatalAPIError, RetriableAPIError) as exc:
                    results[pl.email] = ("failed", self.failure_message(exc))
                    continue
                results[pl.email] = self._done(pl)
                self.apply_to_index(pl, synced_id)
                continue
            contact_id = pl.current.id if pl.current is not None else None
            if pl.action == "create" and pl.email in confirmed:
                pl.current = confirmed[pl.email]
                contact_id = pl.current.id
            elif pl.action == "create" and created is None:
                results[pl.email] = self._done(pl)
                self.apply_to_index(pl, "")  # id read lazily if a later write needs it
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
            try:
                self._bulk_follow_up(pl, contact_id)
                self.ok()
            except (FatalAPIError, RetriableAPIError) as exc:
                results[pl.email] = ("failed", self.failure_message(exc))
                continue
            results[pl.email] = self._done(pl)
            if pl.action != "create":
                self.apply_to_index(pl, contact_id)
        return results

    def _bulk_follow_up(self, plan: p.ContactPlan, contact_id: str | None) -> None:
        """What the importer cannot do: job titles on account links and automations."""
        if contact_id is None:
            return
        cur = plan.current
        if cur is not None and not contact_id:
            contact_id = self.resolve_id(cur)
        if plan.job_title and cur is not None and cur.account_contact_id and \
                (plan.update_job_title or (plan.account is not None
                                           and cur.job_title != plan.job_title)):
            link_id = cur.account_contact_id
            if refusable(plan, "Job title not written", lambda: self.session.put(
                    f"accountContacts/{link_id}", {"accountContact": {
                        "jobTitle": plan.job_title}})):
                cur.job_title = plan.job_title
        self.start_automations(plan, contact_id)
        if cur is not None and cur.automation_ids is not None:
            cur.automation_ids.update(plan.automations)

    @staticmethod
    def _done(plan: p.ContactPlan) -> tuple[str, str]:
        if plan.action == "create":
            return "created", MESSAGES["created"]
        return "updated", MESSAGES["updated"]

    # ------------------------------------------------------------------ accounts
    def account_values(self, accounts: Iterable[p.CurrentAccount]) -> None:
        """Fill ``field_values`` of these accounts (needed for fill mode and no-change checks)."""
        todo = [a for a in accounts if a.field_values is None and not a.id.startswith("dry-run")]
        if not todo:
            return
        n_fields = max(1, len(self.account_fields.defs))
        scan_cost = math.ceil(len(self._account_names) * n_fields / PAGE) + 1
        table, complete = ([], False) if scan_cost >= len(todo) else self.read_pages(
            "accountCustomFieldData", "accountCustomFieldData")
        if complete:  # else (an endpoint that ignores offset) one filtered read per account
            by_account: dict[str, list[dict[str, Any]]] = {}
            for d in table:
                owner = str(d.get("accountId") or d.get("customerAccountId"))
                by_account.setdefault(owner, []).append(d)
            for acc in todo:
                _set_values(acc, by_account.get(acc.id, []))
            return
        for acc in todo:
            items = self.get_all("accountCustomFieldData", "accountCustomFieldData",
                                 {"filters[customerAccountId]": acc.id})
            _set_values(acc, [d for d in items if str(
                d.get("accountId") or d.get("customerAccountId") or acc.id) == acc.id])

    def write_account(self, plan: p.AccountPlan) -> None:
        if plan.action == "create":
            body = self.create("accounts", plan.body, lambda: self._find_account(
                plan.body["account"]["name"], plan.domain))
            acc = body.get("account") or {}
            created = p.CurrentAccount(
                str(acc.get("id")), str(acc.get("name") or plan.body["account"]["name"]),
                acc.get("accountUrl") or plan.body["account"].get("accountUrl"), plan.domain)
            _set_values(created, plan.body["account"].get("fields") or [])
            self.remember_account(created)
            return
        assert plan.current is not None
        self.session.put(f"accounts/{plan.current.id}", plan.body)
        cur = plan.current
        if "name" in plan.body["account"]:
            cur.name = plan.body["account"]["name"]
            self._account_names[cur.id] = cur.name
        for f in plan.body["account"].get("fields") or []:
            (cur.field_values if cur.field_values is not None else {})[
                str(f["customFieldId"])] = str(f["fieldValue"])
            if f.get("fieldCurrency"):
                cur.field_currencies[str(f["customFieldId"])] = str(f["fieldCurrency"])

    # ------------------------------------------------------------------ summary
    def summary(self) -> str:
        usage = self._session.usage.summary() if self._session is not None else {
            "requests": 0, "throttled_429": 0, "retries": 0, "share_of_rate_budget": 0.0}
        lines = ["ActiveCampaign push summary" + (" (DRY RUN: nothing was written)"
                                                  if self.dry_run else ""),
                 self.activity.summary_table(),
                 f"warnings: {self.activity.warnings}",
                 "API usage: " + ", ".join(f"{k}={v}" for k, v in usage.items()),
                 "write paths: " + ", ".join(f"{k}={v}" for k, v in self.write_paths.items())]
        if self.read_mode_used:
            lines.append("contact reads: " + ", ".join(sorted(self.read_mode_used)))
        if self._related is not None and self._related.ignored:
            lines.append(f"include= ignored by ActiveCampaign: "
                         f"{', '.join(sorted(self._related.ignored))} (read separately, "
                         f"{self._related.requests} requests)")
        self.activity.file.write({"timestamp": now_iso(), "type": "summary", "object": "run",
                                  "dry_run": self.dry_run,
                                  "counts": self.activity.summary_rows(),
                                  "warnings": self.activity.warnings, "api_usage": usage,
                                  "write_paths": self.write_paths,
                                  "include_ignored": sorted(self._related.ignored)
                                  if self._related is not None else []})
        return "\n".join(lines)

    def close(self) -> None:
        self.activity.file.close()
        self.rejects.file.close()
        if self._session is not None:
            self._session.close()

