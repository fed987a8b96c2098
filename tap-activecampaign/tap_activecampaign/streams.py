"""Stream definitions: class attributes over the base classes in client.py.

Order matters: ``STREAM_TYPES`` is the order of CONTRACTS.md ("Tap records"), because the
abmatic mapper joins in one pass and needs referenced streams first.
"""

from __future__ import annotations

import typing as t

from tap_activecampaign.client import (
    ActiveCampaignStream,
    CachedTableStream,
    IncrementalStream,
    response_json,
)
from tap_activecampaign.pagination import ContactKeysetPaginator
from tap_activecampaign.records import custom_fields_object, group_values

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    import requests
    from singer_sdk.helpers.types import Context


class CustomFieldsMixin(ActiveCampaignStream):
    """Adds ``custom_fields`` (title -> value) from a custom-field data table read once."""

    custom_meta: str = ""  # accountCustomFieldMeta / dealCustomFieldMeta
    custom_data: str = ""  # accountCustomFieldData / dealCustomFieldData
    custom_owner_key: str = ""  # accountId / dealId

    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        titles = self._tap.titles(self.custom_meta, "fieldLabel", self)
        values = self._tap.grouped(self.custom_data, self.custom_owner_key, "customFieldId",
                                   "fieldValue", self)
        row["custom_fields"] = custom_fields_object(titles, values.get(str(row.get("id"))))
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


class AccountsStream(CustomFieldsMixin):
    name = "accounts"
    ac_object = "accounts"
    custom_meta = "accountCustomFieldMeta"
    custom_data = "accountCustomFieldData"
    custom_owner_key = "accountId"


class AccountCustomFieldValuesStream(CachedTableStream):
    name = "account_custom_field_values"
    ac_object = "accountCustomFieldData"


class AccountContactsStream(ActiveCampaignStream):
    name = "account_contacts"
    ac_object = "accountContacts"
    member_key = "contact"


class ContactListsStream(ActiveCampaignStream):
    name = "contact_lists"
    ac_object = "contactLists"
    member_key = "contact"


class ContactTagsStream(ActiveCampaignStream):
    name = "contact_tags"
    ac_object = "contactTags"
    member_key = "contact"


class ContactAutomationsStream(ActiveCampaignStream):
    name = "contact_automations"
    ac_object = "contactAutomations"
    member_key = "contact"


class ContactsStream(IncrementalStream):
    """Contacts by key (``orders[id]=ASC`` + ``id_greater``), custom values sideloaded.

    ``include=fieldValues`` returns the page's custom field values in the same response
    (zero extra requests). If an account ignores ``include`` (no ``fieldValues`` key), the
    tap warns once and reads ``/fieldValues`` instead (one table scan per run, shared with
    the ``contact_custom_field_values`` stream).

    With import sources (``list_ids``/``tag_ids``/``segment_ids``) each source is a state
    partition read with the server-side ``listid``/``tagid``/``segmentid`` filter; a contact
    in several sources is emitted once.
    """

    name = "contacts"
    ac_object = "contacts"
    replication_key = "udate"

    def get_new_paginator(self) -> ContactKeysetPaginator:  # type: ignore[override]
        return ContactKeysetPaginator(self.page_items, self.page_size)

    @property
    def partitions(self) -> list[dict] | None:
        return self._tap.source_partitions() or None

    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> dict[str, t.Any]:
        params: dict[str, t.Any] = {
            "limit": self.page_size,
            "orders[id]": "ASC",
            "include": "fieldValues",
        }
        if next_page_token is not None:
            params["id_greater"] = next_page_token
        if since := self.updated_after(context):
            params[self.updated_filter] = since
        if context:
            params[context["source"]] = context["source_id"]
        return params

    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        if not hasattr(self, "_emitted"):
            self._emitted: set[str] = set()
        yield from super().get_records(context)

    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        body = response_json(response)
        if isinstance(body, dict) and "fieldValues" in body:
            values = group_values(body.get("fieldValues") or [], "contact", "field", "value")
        else:
            values = self._tap.contact_values_fallback(self)
        titles = self._tap.titles("fields", "title", self)
        dedupe = bool(self.partitions)
        for item in super().parse_response(response):
            contact_id = str(item.get("id"))
            if dedupe:
                if contact_id in self._emitted:
                    continue
                self._emitted.add(contact_id)
            item["custom_fields"] = custom_fields_object(titles, values.get(contact_id))
            yield item


class ContactCustomFieldValuesStream(ActiveCampaignStream):
    name = "contact_custom_field_values"
    ac_object = "fieldValues"
    member_key = "contact"

    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        cached = self._tap.cached_table("fieldValues")
        if cached is not None:  # the contacts fallback already read the whole table
            yield from cached
            return
        yield from super().get_records(context)


class DealsStream(IncrementalStream, CustomFieldsMixin):
    name = "deals"
    ac_object = "deals"
    replication_key = "mdate"
    custom_meta = "dealCustomFieldMeta"
    custom_data = "dealCustomFieldData"
    custom_owner_key = "dealId"


class DealCustomFieldValuesStream(CachedTableStream):
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
