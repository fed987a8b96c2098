"""One table of ActiveCampaign v3 objects: where they live and how they are wrapped.

Used by the tap (stream paths and list keys), the target (request bodies) and the sandbox
(routes, envelopes and 404 answers), so the three never disagree about a path or a key.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ACObject:
    """An ActiveCampaign collection.

    path: the collection path under /api/3; list_key: the key of the array in a list answer;
    singular_key: the wrapper of one object in bodies and answers; total_is_int: whether
    ``meta.total`` is a JSON int (deals) rather than the usual string; has_meta: whether list
    answers carry ``meta`` at all; id_field: the key of the object's id; created / updated:
    the names of its creation and last-change timestamps (None where it has none);
    offset_paging: whether the list documents ``offset`` (custom-field meta/data do not,
    spec §11); model: the model named in a 404 ``No Result found for <model> with id N``
    ("" where the 404 is the ``errors[]`` form).
    """

    path: str
    list_key: str
    singular_key: str
    total_is_int: bool = False
    has_meta: bool = True
    id_field: str = "id"
    created: str | None = "cdate"
    updated: str | None = "udate"
    offset_paging: bool = True
    model: str = ""


def _custom(name: str, singular: str) -> ACObject:
    """Account / deal custom-field meta and data: no meta, no offset, errors[] 404s."""
    return ACObject(name, name, singular, has_meta=False, created="createdTimestamp",
                    updated="updatedTimestamp", offset_paging=False)


OBJECTS: dict[str, ACObject] = {
    "contacts": ACObject("contacts", "contacts", "contact", model="Subscriber"),
    "fields": ACObject("fields", "fields", "field", model="Field"),
    "fieldValues": ACObject("fieldValues", "fieldValues", "fieldValue", model="FieldValue"),
    "fieldOptions": ACObject("fieldOptions", "fieldOptions", "fieldOption"),
    "fieldRels": ACObject("fieldRels", "fieldRels", "fieldRel", updated=None),
    "accounts": ACObject("accounts", "accounts", "account", created="createdTimestamp",
                         updated="updatedTimestamp", model="Account"),
    "accountContacts": ACObject("accountContacts", "accountContacts", "accountContact",
                                created="createdTimestamp", updated="updatedTimestamp",
                                model="CustomerAccountSubscriber"),
    "accountCustomFieldMeta": _custom("accountCustomFieldMeta", "accountCustomFieldMetum"),
    "accountCustomFieldData": _custom("accountCustomFieldData", "accountCustomFieldDatum"),
    "dealCustomFieldMeta": _custom("dealCustomFieldMeta", "dealCustomFieldMetum"),
    "dealCustomFieldData": _custom("dealCustomFieldData", "dealCustomFieldDatum"),
    "deals": ACObject("deals", "deals", "deal", total_is_int=True, updated="mdate",
                      model="Deal"),
    "dealGroups": ACObject("dealGroups", "dealGroups", "dealGroup", model="Pipeline"),
    "dealStages": ACObject("dealStages", "dealStages", "dealStage", model="DealStage"),
    "lists": ACObject("lists", "lists", "list", model="List"),
    "contactLists": ACObject("contactLists", "contactLists", "contactList", created="sdate",
                             model="SubscriberList"),
    "tags": ACObject("tags", "tags", "tag", updated=None, model="Tag"),
    "contactTags": ACObject("contactTags", "contactTags", "contactTag", updated=None,
                            model="SubscriberTag"),
    "segments": ACObject("segments", "segments", "segment", created="created_timestamp",
                         updated="updated_timestamp", model="Segment"),
    "automations": ACObject("automations", "automations", "automation", updated="mdate",
                            model="Series"),
    "contactAutomations": ACObject("contactAutomations", "contactAutomations",
                                   "contactAutomation", created="adddate", updated="lastdate",
                                   model="SubscriberSeries"),
    "users": ACObject("users", "users", "user", created=None, updated=None, model="User"),
}
