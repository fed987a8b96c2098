"""The run context: the session, ActiveCampaign's metadata read once per run, the outcomes.

Each object module (``objects/``) reads and writes through it. Nothing here sends a request
until asked: ``connect()`` checks the key (``GET users/me``) at the start of the first drain,
and each metadata read (fields, lists, tags, automations, accounts) happens on its first call
and is kept for the run (``cache_clear()`` when ActiveCampaign may have changed it).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from activecampaign_client import (
    ActiveCampaignSession,
    FatalAPIError,
    RetriableAPIError,
    shared_pacer,
)
from activecampaign_client.objects import OBJECTS
from activecampaign_client.paging import PAGE_SIZE, PageGuard, offset_pages
from target_activecampaign.activity import now_iso
from target_activecampaign.current import (
    CurrentAccount,
    NameIndex,
    References,
    account_index,
    accounts_from_api,
)
from target_activecampaign.fields import (
    FieldCatalog,
    account_fields_from_api,
    contact_fields_from_api,
)
from target_activecampaign.objects.contact_index import ContactIndex
from target_activecampaign.outcomes import Outcomes
from target_activecampaign.push_lock import PushLock
from target_activecampaign.related import RelatedReader

PAGE = PAGE_SIZE


def wrap(name: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    """A request body: ``obj`` under the singular key of the OBJECTS entry ``name``."""
    return {OBJECTS[name].singular_key: dict(obj)}


def unwrap(name: str, body: Mapping[str, Any]) -> dict[str, Any]:
    return dict(body.get(OBJECTS[name].singular_key) or {})


class RunContext:
    """State shared by the objects of one target run."""

    def __init__(self, config: Mapping[str, Any], logger: logging.Logger,
                 session: ActiveCampaignSession | None = None) -> None:
        self.config = config
        self.logger = logger
        self.dry_run = bool(config.get("dry_run"))
        self.outcomes = Outcomes(config, logger, dry_run=self.dry_run)
        self.max_records = config.get("max_records")
        self.records_admitted = 0
        self._session = session
        self._push_lock: PushLock | None = None  # taken by connect(), unless a dry run
        self.bulk_threshold = max(2, int(config.get("bulk_threshold") or 10))
        # The importer's 100 requests/minute are per account too: shared like the 5/s.
        self.bulk_pacer = shared_pacer(float(config.get("bulk_requests_per_minute") or 100),
                                       config.get("api_url"), name="bulk-import", window=61.8)
        self.read_strategy = config.get("read_strategy") or "auto"
        self.read_mode_used: set[str] = set()
        self.write_paths: dict[str, int] = {"bulk_requests": 0, "bulk_contacts": 0,
                                            "sync_requests": 0}
        self._related: RelatedReader | None = None
        self.contacts = ContactIndex(self)  # the contacts' current state, for the run
        self.account_names: dict[str, str] = {}  # account id -> name, with the accounts
        # metadata, read on first need and kept for the run
        cache = functools.lru_cache(maxsize=None)
        self.contact_fields = cache(self._read_contact_fields)
        self.account_fields = cache(lambda: FieldCatalog(account_fields_from_api(
            self.get_all("accountCustomFieldMeta"))))
        self.lists = cache(functools.partial(self._names, "lists", "name"))
        self.tags = cache(functools.partial(self._names, "tags", "tag"))
        self.automations = cache(functools.partial(self._names, "automations", "name"))
        self.accounts = cache(self._read_accounts)

    # ------------------------------------------------------------------ session
    def connect(self) -> ActiveCampaignSession:
        """The session, made on the first call, which also checks the key (a rejected key
        fails here with the client's message, before anything is read or written), then
        the account's push lock (``push_lock``: one push per account at a time on this
        machine), held until ``close()``."""
        if self._session is None:
            self._session = ActiveCampaignSession(
                self.config["api_url"], self.config["api_key"],
                requests_per_second=float(self.config.get("requests_per_second") or 5),
                timeout=float(self.config.get("request_timeout") or 60),
                user_agent=self.config.get("user_agent") or "target-activecampaign/0.1.0",
                max_retries=int(self.config.get("max_retries", 6)),
                allow_private_network=bool(self.config.get("allow_private_network")),
            )
            self._session.get("users/me")
        if self._push_lock is None and not self.dry_run and self.config.get("api_url"):
            # before the first planning read: a push that waited reads what the other wrote
            self._push_lock = PushLock(str(self.config["api_url"]), self.logger).acquire()
        return self._session

    @property
    def session(self) -> ActiveCampaignSession:
        if self._session is None:
            raise RuntimeError("RunContext.connect() must come before any request")
        return self._session

    @property
    def related(self) -> RelatedReader:
        if self._related is None:
            self._related = RelatedReader(self.session, self.logger)
        return self._related

    # ------------------------------------------------------------------ reads
    def get_all(self, name: str, params: dict[str, Any] | None = None,
                path: str | None = None) -> list[dict[str, Any]]:
        """Every item of the OBJECTS collection ``name`` (at ``path`` when it is a sub-list,
        e.g. ``contacts/5/contactAutomations``), offset-paged by 100 (see ``read_pages``)."""
        return self.read_pages(name, params, path)[0]

    def read_pages(self, name: str, params: dict[str, Any] | None = None,
                   path: str | None = None) -> tuple[list[dict[str, Any]], bool]:
        """(items, complete). Paging stops as PageGuard decides (short page, ``meta.total``,
        a repeated page, or its hard cap: PagingError). ``complete`` is False when a repeat
        came after a page of exactly ``limit`` rows: such an endpoint cannot give the rest by
        paging (only an answer longer than ``limit`` was all the rows)."""
        obj = OBJECTS[name]
        path = path or obj.path
        guard = PageGuard(f"GET /{path}")
        items = [item for page in offset_pages(self.session.get, path, obj.list_key, params,
                                               PAGE, guard) for item in page]
        return items, not guard.repeated or (guard.first_page_size or 0) > PAGE

    def _read_contact_fields(self) -> FieldCatalog:
        bodies: list[Any] = []

        def get(path: str, params: dict[str, Any]) -> Any:
            bodies.append(self.session.get(path, params))
            return bodies[-1]

        fields: list[dict[str, Any]] = []
        options: list[dict[str, Any]] = []
        for page in offset_pages(get, OBJECTS["fields"].path, OBJECTS["fields"].list_key,
                                 page_size=PAGE, guard=PageGuard("GET /fields")):
            if page:  # the fieldOptions sideload of each page kept
                fields.extend(page)
                options.extend(bodies[-1].get(OBJECTS["fieldOptions"].list_key) or [])
        return FieldCatalog(contact_fields_from_api({"fields": fields, "fieldOptions": options}))

    def _names(self, name: str, name_key: str) -> NameIndex:
        return NameIndex({str(o["id"]): str(o.get(name_key) or "") for o in self.get_all(name)})

    def _read_accounts(self) -> dict[str, CurrentAccount]:
        """domain → account, read once per run (tolerant of www., scheme, path and case)."""
        found = accounts_from_api(self.get_all("accounts"))
        self.account_names.update({a.id: a.name for a in found})
        return account_index(found)

    def remember_account(self, account: CurrentAccount) -> None:
        self.account_names[account.id] = account.name
        if account.domain:
            self.accounts()[account.domain] = account

    def references(self, records: list[dict[str, Any]]) -> References:
        """Only what these records need is read (a push without tags never lists tags)."""
        empty = NameIndex()
        need_tags = bool(self.config.get("sync_tag")) or any(r.get("tags") for r in records)
        need_lists = bool(self.config.get("default_list")) or any(r.get("lists") for r in records)
        return References(
            fields=self.contact_fields() if any(r.get("fields") for r in records)
            else FieldCatalog([]),
            lists=self.lists() if need_lists else empty,
            tags=self.tags() if need_tags else empty,
            automations=self.automations() if any(r.get("automations") for r in records)
            else empty,
            accounts=self.accounts() if any(r.get("account_domain") for r in records) else {},
            account_names=self.account_names,
            default_list=self.config.get("default_list") or None,
            sync_tag=self.config.get("sync_tag") or None,
        )

    def find(self, name: str, params: dict[str, Any], match: Callable[[dict[str, Any]], bool],
             path: str | None = None) -> dict[str, Any] | None:
        """The first item of one list page that ``match``es, wrapped like a create's answer."""
        obj = OBJECTS[name]
        body = self.session.get(path or obj.path, params)
        for item in body.get(obj.list_key) or []:
            if match(item):
                return {obj.singular_key: item}
        return None

    # ------------------------------------------------------------------ writes
    def create(self, name: str, obj: Mapping[str, Any],
               find: Callable[[], dict[str, Any] | None]) -> dict[str, Any]:
        """POST a create that ActiveCampaign does not de-duplicate (an account, a tag, an
        account link, an automation enrolment) and return its answer.

        An attempt that timed out, lost its connection or got a 5xx may have been carried out
        all the same: a blind retry would create a second object (a second enrolment) or fail
        as a duplicate. So before each retry, and on an error answer to a retry, ``find`` looks
        for what the failed attempt may have created; when it is there, that (shaped like the
        POST's answer) is returned and nothing is sent again."""
        session, path, body = self.session, OBJECTS[name].path, wrap(name, obj)
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

    # ------------------------------------------------------------------ admission
    def admit(self, stream: str, object_name: str, record: dict[str, Any], key: str,
              x_sync: dict[str, Any] | None) -> bool:
        """False (and the record reported, not dropped) once ``max_records`` is reached."""
        if self.max_records is None or self.records_admitted < int(self.max_records):
            self.records_admitted += 1
            return True
        self.outcomes.skipped_beyond(stream, object_name, record, key, self.max_records, x_sync)
        return False

    # ------------------------------------------------------------------ summary
    def summary(self) -> str:
        activity = self.outcomes.activity
        usage = self._session.usage.summary() if self._session is not None else {
            "requests": 0, "throttled_429": 0, "retries": 0, "share_of_rate_budget": 0.0}
        lines = ["ActiveCampaign push summary" + (" (DRY RUN: nothing was written)"
                                                  if self.dry_run else ""),
                 activity.summary_table(),
                 f"warnings: {activity.warnings}",
                 "API usage: " + ", ".join(f"{k}={v}" for k, v in usage.items()),
                 "write paths: " + ", ".join(f"{k}={v}" for k, v in self.write_paths.items())]
        if self.read_mode_used:
            lines.append("contact reads: " + ", ".join(sorted(self.read_mode_used)))
        ignored = sorted(self._related.ignored) if self._related is not None else []
        if ignored:
            assert self._related is not None
            lines.append(f"include= ignored by ActiveCampaign: {', '.join(ignored)} (read "
                         f"separately, {self._related.requests} requests)")
        activity.file.write({"timestamp": now_iso(), "type": "summary", "object": "run",
                             "dry_run": self.dry_run, "counts": activity.summary_rows(),
                             "warnings": activity.warnings, "api_usage": usage,
                             "write_paths": self.write_paths, "include_ignored": ignored})
        return "\n".join(lines)

    def close(self) -> None:
        self.outcomes.close()
        if self._session is not None:
            self._session.close()
        if self._push_lock is not None:
            self._push_lock.release()
            self._push_lock = None
