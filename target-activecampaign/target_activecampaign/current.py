"""What ActiveCampaign holds now (pure): contacts with their related rows, accounts, and the
names of lists, tags and automations, built from list answers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from activecampaign_client import normalize_domain, normalize_email
from target_activecampaign.fields import FieldCatalog

# Contact fields the target writes, with the bulk importer's name for each.
STANDARD_CONTACT_FIELDS = {"firstName": "first_name", "lastName": "last_name", "phone": "phone"}


@dataclass
class CurrentContact:
    """What ActiveCampaign holds for one contact (from a list page with sideloads)."""

    id: str
    email: str
    firstName: str | None = None  # ActiveCampaign's names
    lastName: str | None = None
    phone: str | None = None
    bounced_hard: bool = False
    field_values: dict[str, str] = field(default_factory=dict)
    account_id: str | None = None
    account_contact_id: str | None = None
    job_title: str | None = None
    tag_ids: set[str] | None = None  # None: not read
    list_status: dict[str, str] | None = None  # None: not read
    automation_ids: set[str] | None = None  # None: not read


def contacts_from_page(body: Mapping[str, Any]) -> list[CurrentContact]:
    """CurrentContacts from ``GET /contacts`` with ``include=`` sideloads (pure)."""
    order = []
    for c in body.get("contacts") or []:
        email = normalize_email(c.get("email"))
        if not email:
            continue
        cur = CurrentContact(
            id=str(c["id"]), email=email, firstName=c.get("firstName") or None,
            lastName=c.get("lastName") or None, phone=c.get("phone") or None,
            bounced_hard=str(c.get("bounced_hard") or "0") not in ("0", "", "False", "false"),
        )
        order.append(cur)
    for kind in SIDELOADS:
        if kind in body:  # an absent key was not sideloaded: not the same as no rows
            apply_related(order, kind, body.get(kind) or [])
    return order


SIDELOADS = ("fieldValues", "accountContacts", "contactTags", "contactLists")


def apply_related(contacts: Iterable[CurrentContact], kind: str,
                  rows: Iterable[Mapping[str, Any]]) -> None:
    """Set what ``contacts`` hold of ``kind`` (a SIDELOADS name) to exactly ``rows``, whether
    they came as a sideload or were read another way; rows of other contacts are ignored."""
    by_id = {c.id: c for c in contacts if c.id}
    for cur in by_id.values():
        if kind == "fieldValues":
            cur.field_values = {}
        elif kind == "accountContacts":
            cur.account_id = cur.account_contact_id = cur.job_title = None
        elif kind == "contactTags":
            cur.tag_ids = set()
        elif kind == "contactLists":
            cur.list_status = {}
    for row in rows:
        owner = by_id.get(str(row.get("contact")))
        if owner is None:
            continue
        if kind == "fieldValues" and row.get("value") not in (None, ""):
            owner.field_values[str(row.get("field"))] = str(row["value"])
        elif kind == "accountContacts":
            owner.account_id = str(row.get("account"))
            owner.account_contact_id = str(row["id"]) if row.get("id") is not None else None
            owner.job_title = row.get("jobTitle") or None
        elif kind == "contactTags" and owner.tag_ids is not None:
            owner.tag_ids.add(str(row.get("tag")))
        elif kind == "contactLists" and owner.list_status is not None:
            owner.list_status[str(row.get("list"))] = str(row.get("status"))


@dataclass
class CurrentAccount:
    id: str
    name: str
    account_url: str | None
    domain: str | None
    field_values: dict[str, str] | None = None  # None: not read
    field_currencies: dict[str, str] = field(default_factory=dict)  # currency fields' codes


def accounts_from_api(items: Iterable[Mapping[str, Any]]) -> list[CurrentAccount]:
    return [CurrentAccount(str(a["id"]), str(a.get("name") or ""), a.get("accountUrl") or None,
                           normalize_domain(a.get("accountUrl"))) for a in items]


def account_index(accounts: Iterable[CurrentAccount]) -> dict[str, CurrentAccount]:
    """domain → account; when two accounts share a domain the oldest (lowest id) wins."""
    index: dict[str, CurrentAccount] = {}
    for acc in sorted(accounts, key=lambda a: (len(a.id), a.id)):
        if acc.domain and acc.domain not in index:
            index[acc.domain] = acc
    return index


@dataclass
class NameIndex:
    """Lists, tags or automations by id and by case-insensitive name."""

    names: dict[str, str] = field(default_factory=dict)  # id -> name

    def __post_init__(self) -> None:
        self._by_name = {n.strip().lower(): i for i, n in self.names.items()}

    def add(self, obj_id: str, name: str) -> None:
        self.names[obj_id] = name
        self._by_name[name.strip().lower()] = obj_id

    def find(self, name_or_id: Any) -> str | None:
        text = str(name_or_id).strip()
        if text.lower() in self._by_name:
            return self._by_name[text.lower()]
        return text if text in self.names else None


@dataclass
class References:
    """Everything a contact plan looks up; built by the sink from one read per run."""

    fields: FieldCatalog
    lists: NameIndex
    tags: NameIndex
    automations: NameIndex
    accounts: dict[str, CurrentAccount]
    account_names: dict[str, str] = field(default_factory=dict)  # account id -> name
    default_list: str | None = None
    sync_tag: str | None = None

