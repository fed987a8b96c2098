"""Stream definitions: class attributes over the base classes in client.py.

Order matters: ``STREAM_TYPES`` is the order of CONTRACTS.md ("Tap records"), because the
abmatic mapper joins in one pass and needs referenced streams first.
"""

from __future__ import annotations

import logging
import typing as t

from singer_sdk import metrics
from typing_extensions import override

from activecampaign_client.paging import total_of
from tap_activecampaign.bases import CachedTableStream, IncrementalStream
from tap_activecampaign.cadence import CadenceMixin
from tap_activecampaign.client import ActiveCampaignStream, group_rows, response_json
from tap_activecampaign.pagination import ContactKeysetPaginator
from tap_activecampaign.records import custom_fields_object, group_values

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    import requests
    from singer_sdk.helpers.types import Context


class RunCounter(metrics.Counter):
    """A record counter kept for a whole run of a per-contact child stream.

    The SDK enters and leaves the counter once per parent record (a METRIC line each);
    this one ignores that, logs at its interval and once at the end of the run.
    """

    def __enter__(self) -> RunCounter:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    @override
    def with_context(self, value: Context | None) -> None:
        return None


class QuietTimer(metrics.Timer):
    """A sync timer that does not log one METRIC line per parent record."""

    def __exit__(self, *exc: object) -> None:
        return None

    @override
    def with_context(self, value: Context | None) -> None:
        return None


class CustomFieldsMixin(ActiveCampaignStream):
    """Adds ``custom_fields`` (title -> value) from a custom-field data table read once, or,
    when that table is not read in full this run, from the owner's own rows (riders.py)."""

    custom_meta: str = ""  # accountCustomFieldMeta / dealCustomFieldMeta
    custom_data: str = ""  # accountCustomFieldData / dealCustomFieldData
    custom_owner_key: str = ""  # accountId / dealId
    custom_values_stream: str = ""  # account_custom_field_values / deal_custom_field_values
    value_rows_of_last: list[dict] | None = None

    @override
    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        titles = self.ac_tap.titles(self.custom_meta, "fieldLabel", self)
        owner = str(row.get("id"))
        if self.ac_tap.cadence.full.get(self.custom_values_stream) is False:
            rows = self.ac_tap.riders.values(self.custom_data, owner, self)
            self.value_rows_of_last = rows
            values = group_values(rows, self.custom_owner_key, "customFieldId", "fieldValue")
        else:
            values = self.ac_tap.grouped(self.custom_data, self.custom_owner_key,
                                         "customFieldId", "fieldValue", self)
        row["custom_fields"] = custom_fields_object(titles, values.get(owner))
        return super().post_process(row, context)


class UsersStream(ActiveCampaignStream):
    name = "users"
    ac_object = "users"


class ListsStream(ActiveCampaignStream):
    name = "lists"
    ac_object = "lists"


class TagsStream(ActiveCampaignStream):
    name = "tags"
    ac_object = "tags"


class SegmentsStream(ActiveCampaignStream):
    name = "segments"
    ac_object = "segments"


class AutomationsStream(ActiveCampaignStream):
    name = "automations"
    ac_object = "automations"


class ContactCustomFieldsStream(CachedTableStream):
    name = "contact_custom_fields"
    ac_object = "fields"


class AccountCustomFieldsStream(CachedTableStream):
    name = "account_custom_fields"
    ac_object = "accountCustomFieldMeta"


class DealCustomFieldsStream(CachedTableStream):
    name = "deal_custom_fields"
    ac_object = "dealCustomFieldMeta"


class DealPipelinesStream(ActiveCampaignStream):
    name = "deal_pipelines"
    ac_object = "dealGroups"


class DealStagesStream(ActiveCampaignStream):
    name = "deal_stages"
    ac_object = "dealStages"


class AccountsStream(CadenceMixin, CustomFieldsMixin):
    """In incremental runs, the accounts of the contacts and deals read (riders.py)."""

    name = "accounts"
    ac_object = "accounts"
    custom_meta = "accountCustomFieldMeta"
    custom_data = "accountCustomFieldData"
    custom_owner_key = "accountId"
    custom_values_stream = "account_custom_field_values"

    @override
    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> dict[str, t.Any]:
        # contactCount/dealCount are "0" unless asked for (spec §5.3, §11)
        return {**super().get_url_params(context, next_page_token), "count_deals": "true"}


class AccountCustomFieldValuesStream(CadenceMixin, CachedTableStream):
    name = "account_custom_field_values"
    ac_object = "accountCustomFieldData"


class ContactLinkStream(ActiveCampaignStream):
    """Rows linking a contact to something: with import sources, only their members' rows."""

    member_key = "contact"


class MembershipStream(CadenceMixin, ContactLinkStream):
    """Full table (with ACTIVATE_VERSION) when a reconciliation is due; in between, each
    contact read brings all its rows (cadence.py, riders.py)."""

    activate_version = True


class AccountContactsStream(MembershipStream):
    name = "account_contacts"
    ac_object = "accountContacts"


class ContactListsStream(MembershipStream):
    name = "contact_lists"
    ac_object = "contactLists"


class ContactTagsStream(MembershipStream):
    name = "contact_tags"
    ac_object = "contactTags"


class ContactAutomationsStream(CadenceMixin, ContactLinkStream):
    """No sideload exists: read in full at the reconciliation cadence only."""

    name = "contact_automations"
    ac_object = "contactAutomations"


class ContactsStream(IncrementalStream):
    """Contacts by key (``orders[id]=ASC`` + ``id_greater``), related rows sideloaded.

    ``include=fieldValues`` returns the page's custom field values in the same response
    (zero extra requests); they fill each contact's ``custom_fields`` and feed the child
    stream ``contact_custom_field_values``. In an incremental run the page also brings the
    memberships (``contactLists``, ``contactTags``, ``accountContacts`` and
    ``accountContacts.account``): riders.py writes each contact's rows just before its
    RECORD. If an account ignores ``include`` (a key is missing), the tap warns once and
    reads those rows per contact or from the table, whichever costs fewer requests.

    With import sources (``list_ids``/``tag_ids``/``segment_ids``) each source is a state
    partition read with the server-side ``listid``/``tagid``/``segmentid`` filter; a contact
    in several sources is emitted once.
    """

    name = "contacts"
    ac_object = "contacts"
    replication_key = "udate"

    @override
    def get_new_paginator(self) -> ContactKeysetPaginator:  # type: ignore[override]
        paginator = ContactKeysetPaginator(self.read_page, self.page_size)
        self._paginator = paginator
        return paginator

    @property
    @override
    def partitions(self) -> list[dict] | None:
        return self.ac_tap.source_partitions() or None

    def sideloads(self) -> list[str]:
        """The sideload keys each page must carry (custom values, riding memberships)."""
        return ["fieldValues", *self.ac_tap.riders.contact_kinds()]

    @override
    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> dict[str, t.Any]:
        includes = ["fieldValues", *self.ac_tap.riders.includes()]
        params: dict[str, t.Any] = {
            "limit": self.page_size,
            "orders[id]": "ASC",
            "include": ",".join(includes),
        }
        if next_page_token is not None:
            params["id_greater"] = next_page_token
        if since := self.updated_after(context):
            params[self.updated_filter] = since
        if context:
            params[context["source"]] = context["source_id"]
        return params

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        if not hasattr(self, "_emitted"):
            self._emitted: set[str] = set()
        self.value_rows: dict[str, list[dict]] = {}
        yield from super().get_records(context)
        self.value_rows = {}

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        body = response_json(response)
        body = body if isinstance(body, dict) else {}
        items = body.get("contacts")
        if isinstance(items, list):
            self.ac_tap.riders.expect(self, self.expected_changes(items, total_of(body)))
        # this page's related rows only: memory stays bounded by one page
        self.page_rows: dict[str, dict[str, list[dict]] | None] = {
            kind: group_rows(body.get(kind) or [], "contact") if kind in body else None
            for kind in self.sideloads()}
        self.page_accounts: dict[str, dict] | None = {
            str(a.get("id")): a for a in body.get("accounts") or []
        } if "accounts" in body else None
        dedupe = bool(self.partitions)
        for item in super().parse_response(response):
            contact_id = str(item.get("id"))
            if dedupe:
                if contact_id in self._emitted:
                    continue
                self._emitted.add(contact_id)
            yield item

    @override
    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        record = super().post_process(row, context)  # drops what the filter margin brought
        if record is None:
            return None
        riders = self.ac_tap.riders
        contact_id = str(record.get("id"))
        values = riders.contact_rows("fieldValues", contact_id, self.page_rows, self)
        self.value_rows = {contact_id: values}
        titles = self.ac_tap.titles("fields", "title", self) if self.selected else {}
        record["custom_fields"] = custom_fields_object(
            titles, group_values(values, "contact", "field", "value").get(contact_id))
        riders.before_contact(contact_id, self.page_rows, self.page_accounts, self)
        return record

    @override
    def get_child_context(self, record: dict, context: Context | None) -> dict:
        """Only the contact's id: its values wait in ``value_rows`` (no request, and no
        personal data in the context, which the SDK logs and could keep in state)."""
        return {"contact_id": str(record["id"])}


class ContactCustomFieldValuesStream(ActiveCampaignStream):
    """Contact custom field values, a child of ``contacts``: zero requests of its own.

    Each contact's values are the rows its page already returned (``include=fieldValues``,
    or the fallback's per-contact or table reads); they are written just before that
    contact's record. The stream therefore follows contacts incrementally: values are
    written for exactly the contacts read in this run (all on a full sync, the changed ones
    on an incremental one), and the contacts bookmark, which moves only after the whole
    scan, is written after them.
    """

    name = "contact_custom_field_values"
    ac_object = "fieldValues"
    parent_stream_type = ContactsStream

    def __init__(self, tap: t.Any) -> None:
        super().__init__(tap)
        self.state_partitioning_keys = []  # one (empty) state, not one entry per contact
        self._schema_written = False
        self._run_counter: RunCounter | None = None
        self._contacts: ContactsStream | None = None

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        parent = self._parent()
        contact_id = (context or {}).get("contact_id")
        yield from getattr(parent, "value_rows", {}).get(str(contact_id), [])

    def _parent(self) -> ContactsStream:
        if self._contacts is None:  # looked up once, not once per contact
            self._contacts = t.cast("ContactsStream", self.ac_tap.streams[ContactsStream.name])
        return self._contacts

    # The SDK runs a child stream once per parent record; keep that to records only. Private
    # in singer-sdk 0.54.9: no public hook writes SCHEMA or STATE (sync() is final).

    def _write_schema_message(self) -> None:
        if not self._schema_written:  # once per run, not once per contact
            self._schema_written = True
            super()._write_schema_message()

    def _write_state_message(self) -> None:
        """No STATE per contact: the contacts stream writes the (shared) state after them."""

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        return False  # a per-contact "full table" version would erase the other contacts

    @override
    def get_batch_config(self, config: t.Mapping) -> None:
        return None  # RECORD messages: a BATCH file per contact would be absurd

    @override
    def get_record_counter(self, *, endpoint: str | None = None,
                           log_interval: float = metrics.DEFAULT_LOG_INTERVAL
                           ) -> metrics.Counter:
        if self._run_counter is None:
            self._run_counter = RunCounter(metrics.Metric.RECORD_COUNT,
                                           {metrics.Tag.STREAM: self.name},
                                           log_interval=log_interval)
        return self._run_counter

    @override
    def get_sync_timer(self) -> metrics.Timer:
        return QuietTimer(metrics.Metric.SYNC_DURATION, {metrics.Tag.STREAM: self.name})

    @override
    def log(self, message: str, *args: t.Any, level: int = logging.INFO,
            **kwargs: t.Any) -> None:
        # singer-sdk 0.54.9: the final sync() logs this at INFO for every context, no hook
        # sets its level, so the per-contact child matches the SDK's text here.
        if message.startswith("Beginning sync of"):
            level = logging.DEBUG  # once per contact
        super().log(message, *args, level=level, **kwargs)

    @override
    def log_sync_costs(self) -> None:
        if self._run_counter is not None:
            self._run_counter.exit()  # the run's total record count, logged once
        super().log_sync_costs()


class DealsStream(IncrementalStream, CustomFieldsMixin):
    name = "deals"
    ac_object = "deals"
    replication_key = "mdate"
    custom_meta = "dealCustomFieldMeta"
    custom_data = "dealCustomFieldData"
    custom_owner_key = "dealId"
    custom_values_stream = "deal_custom_field_values"

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        body = response_json(response)
        items = body.get(self.list_key) if isinstance(body, dict) else None
        if isinstance(items, list):
            self.ac_tap.riders.expect(self, self.expected_changes(items, total_of(body)))
        yield from super().parse_response(response)

    @override
    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        self.value_rows_of_last = None
        record = super().post_process(row, context)
        if record is None:
            return None
        riders = self.ac_tap.riders
        riders.account(t.cast("str | None", record.get("account")), self)  # before the deal
        if self.value_rows_of_last is not None and riders.rides(self.custom_values_stream):
            # written at that stream's turn, after its SCHEMA (it follows deals)
            riders.deferred.setdefault(self.custom_values_stream, []).extend(
                self.value_rows_of_last)
        return record


class DealCustomFieldValuesStream(CadenceMixin, CachedTableStream):
    """In incremental runs, the values of the deals read (they wait for this turn)."""

    name = "deal_custom_field_values"
    ac_object = "dealCustomFieldData"


STREAM_TYPES: list[type[ActiveCampaignStream]] = [
    UsersStream,
    ListsStream,
    TagsStream,
    SegmentsStream,
    AutomationsStream,
    ContactCustomFieldsStream,
    AccountCustomFieldsStream,
    DealCustomFieldsStream,
    DealPipelinesStream,
    DealStagesStream,
    AccountsStream,
    AccountCustomFieldValuesStream,
    AccountContactsStream,
    ContactListsStream,
    ContactTagsStream,
    ContactAutomationsStream,
    ContactsStream,
    ContactCustomFieldValuesStream,
    DealsStream,
    DealCustomFieldValuesStream,
]
