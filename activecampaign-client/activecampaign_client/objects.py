"""One table of ActiveCampaign v3 objects: where they live and how they are wrapped.

Used by the tap (stream paths and list keys), the target (request bodies) and the sandbox
(routes and envelopes), so the three never disagree about a path or a wrapper key.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ACObject:
    """An ActiveCampaign collection.

    path: the collection path under /api/3; list_key: the key of the array in a list answer;
    singular_key: the wrapper of one object in bodies and answers; total_is_int: whether
    ``meta.total`` is a JSON int (deals) rather than the usual string; has_meta: whether list
    answers carry ``meta`` at all.
    """

    path: str
    list_key: str
    singular_key: str
    total_is_int: bool = False
    has_meta: bool = True


OBJECTS: dict[str, ACObject] = {
    "contacts": ACObject("contacts", "contacts", "contact"),
    "fields": ACObject("fields", "fields", "field"),
    "fieldValues": ACObject("fieldValues", "fieldValues", "fieldValue"),
    "fieldOptions": ACObject("fieldOptions", "fieldOptions", "fieldOption"),
    "accounts": ACObject("accounts", "accounts", "account"),
    "accountContacts": ACObject("accountContacts", "accountContacts", "accountContact"),
    "accountCustomFieldMeta": ACObject(
        "accountCustomFieldMeta", "accountCustomFieldMeta", "accountCustomFieldMetum",
        has_meta=False,
    ),
    "accountCustomFieldData": ACObject(
        "accountCustomFieldData", "accountCustomFieldData", "accountCustomFieldDatum",
        has_meta=False,
    ),
    "dealCustomFieldMeta": ACObject(
        "dealCustomFieldMeta", "dealCustomFieldMeta", "dealCustomFieldMetum", has_meta=False
    ),
    "dealCustomFieldData": ACObject(
        "dealCustomFieldData", "dealCustomFieldData", "dealCustomFieldDatum", has_meta=False
    ),
    "deals": ACObject("deals", "deals", "deal", total_is_int=True),
    "dealGroups": ACObject("dealGroups", "dealGroups", "dealGroup"),
    "dealStages": ACObject("dealStages", "dealStages", "dealStage"),
    "lists": ACObject("lists", "lists", "list"),
    "contactLists": ACObject("contactLists", "contactLists", "contactList"),
    "tags": ACObject("tags", "tags", "tag"),
    "contactTags": ACObject("contactTags", "contactTags", "contactTag"),
    "segments": ACObject("segments", "segments", "segment"),
    "automations": ACObject("automations", "automations", "automation"),
    "contactAutomations": ACObject("contactAutomations", "contactAutomations", "contactAutomation"),
    "users": ACObject("users", "users", "user"),
}
