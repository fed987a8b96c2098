"""Pure rules of the push: sync modes, field-type checks, current state, plans and bodies.

Nothing here does I/O. The sinks read ActiveCampaign, hand the answers to these functions and
send what they return, so every decision (fill vs overwrite, "no change", type mismatch,
one-account-per-contact) is unit-tested without a server.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from activecampaign_client import is_valid_email, normalize_domain, normalize_email
from target_activecampaign import money

MODES = ("fill", "overwrite")
DEFAULT_MODE = "fill"
# Contact fields the target writes, with the bulk importer's name for each.
STANDARD_CONTACT_FIELDS = {"firstName": "first_name", "lastName": "last_name", "phone": "phone"}
MULTI_VALUE_TYPES = {"listbox", "checkbox", "multiselect"}
SINGLE_OPTION_TYPES = {"dropdown", "radio"}

# Record shapes accepted from any tap (the mapper's push output, see CONTRACTS.md).
_NULLABLE_STRING = {"type": ["string", "null"]}
_NULLABLE_STRINGS = {"type": ["array", "null"], "items": {"type": ["string", "number"]}}
CONTACT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "email": {"type": "string"},
        "firstName": _NULLABLE_STRING,
        "lastName": _NULLABLE_STRING,
        "phone": _NULLABLE_STRING,
        "account_domain": _NULLABLE_STRING,
        "jobTitle": _NULLABLE_STRING,
        "fields": {"type": ["object", "null"], "additionalProperties": True},
        "lists": _NULLABLE_STRINGS,
        "tags": _NULLABLE_STRINGS,
        "automations": _NULLABLE_STRINGS,
        "event": _NULLABLE_STRING,
    },
    "required": ["email"],
}
ACCOUNT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "accountUrl": {"type": "string"},
        "name": _NULLABLE_STRING,
        "fields": {"type": ["object", "null"], "additionalProperties": True},
    },
    "required": ["accountUrl"],
}


class RecordError(Exception):
    """This record cannot be pushed as it is; the message says why and names the field."""


# Standard text fields (names, phone, job title, account name) and `text` custom fields hold at
# most 255 characters in ActiveCampaign; longer values are refused here, naming the field,
# instead of being cut or refused by the API without saying which field.
MAX_TEXT_LENGTH = 255
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_text(name: str, value: Any, max_length: int | None = MAX_TEXT_LENGTH) -> None:
    """RecordError when a text value holds control characters or is too long."""
    if not isinstance(value, str):
        return
    bad = _CONTROL_RE.search(value)
    if bad is not None:
        raise RecordError(
            f"Field {name!r} contains the control character U+{ord(bad.group()):04X} at "
            f"position {bad.start() + 1}; remove it at the source.")
    if max_length is not None and len(value.strip()) > max_length:
        raise RecordError(
            f"Field {name!r} is {len(value.strip())} characters long; ActiveCampaign keeps at "
            f"most {max_length}.")


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


# --------------------------------------------------------------------------- sync rules
@dataclass(frozen=True)
class SyncRules:
    """Operations and per-field modes for one stream."""

    create: bool = True
    update: bool = True
    default_mode: str = DEFAULT_MODE
    modes: Mapping[str, str] = field(default_factory=dict)
    clear_on_null: frozenset[str] = frozenset()

    def mode_for(self, key: str) -> str:
        return self.modes.get(key, self.default_mode)

    def clears(self, key: str) -> bool:
        return key in self.clear_on_null


class SyncRulesError(ValueError):
    """A sync mode in the settings or in a SCHEMA's x-sync is unknown (the stream cannot be
    pushed safely under rules it cannot read)."""


def _check_mode(mode: Any, where: str) -> str:
    if mode not in MODES:
        raise SyncRulesError(f"{where}: sync mode {mode!r} is not one of {', '.join(MODES)}")
    return str(mode)


def sync_rules(stream: str, schema: Mapping[str, Any], config: Mapping[str, Any]) -> SyncRules:
    """Rules for ``stream``: the schema's ``x-sync`` first, then the target settings.

    Modes merge field by field (x-sync > setting ``modes`` > ``default_mode``); operations come
    from x-sync when it names them, else from the ``operations`` setting (default: both on).
    """
    xsync = schema.get("x-sync") or {}
    default_mode = _check_mode(config.get("default_mode") or DEFAULT_MODE, "default_mode")
    modes = {k: _check_mode(v, f"modes.{k}") for k, v in (config.get("modes") or {}).items()}
    modes.update({k: _check_mode(v, f"stream {stream!r} SCHEMA x-sync modes.{k}")
                  for k, v in (xsync.get("modes") or {}).items() if v != "dont_sync"})
    ops = dict(((config.get("operations") or {}).get(stream)) or {})
    ops.update(xsync.get("operations") or {})
    clear = set(config.get("clear_on_null") or []) | set(xsync.get("clear_on_null") or [])
    return SyncRules(
        create=bool(ops.get("create", True)),
        update=bool(ops.get("update", True)),
        default_mode=default_mode,
        modes=modes,
        clear_on_null=frozenset(clear),
    )


# --------------------------------------------------------------------------- custom fields
@dataclass(frozen=True)
class FieldDef:
    """A contact or account custom field as ActiveCampaign defines it."""

    id: str
    title: str
    type: str
    perstag: str | None = None
    options: tuple[str, ...] = ()


class FieldCatalog:
    """Custom fields by title (exact, then case-insensitive) or personalization tag."""

    def __init__(self, defs: Iterable[FieldDef]) -> None:
        self.defs = list(defs)
        self.by_id = {d.id: d for d in self.defs}
        self._title = {d.title: d for d in self.defs}
        self._title_ci = {d.title.strip().lower(): d for d in self.defs}
        self._perstag = {d.perstag.strip("%").upper(): d for d in self.defs if d.perstag}

    def resolve(self, key: str) -> FieldDef | None:
        return (self._title.get(key) or self._title_ci.get(key.strip().lower())
                or self._perstag.get(key.strip().strip("%").upper()))

    def require(self, key: str, object_name: str) -> FieldDef:
        found = self.resolve(key)
        if found is None:
            known = ", ".join(sorted(d.title for d in self.defs)[:15]) or "none"
            raise RecordError(
                f"Unknown {object_name} custom field {key!r}: no ActiveCampaign field has this "
                f"title or personalization tag (known: {known}). Create the field in "
                f"ActiveCampaign or fix the field mapping."
            )
        return found


def contact_fields_from_api(body: Mapping[str, Any]) -> list[FieldDef]:
    """FieldDefs from ``GET /fields`` (``fields`` plus the ``fieldOptions`` sideload)."""
    options: dict[str, list[str]] = {}
    for opt in body.get("fieldOptions") or []:
        value = opt.get("value") if opt.get("value") not in (None, "") else opt.get("label")
        if value is not None:
            options.setdefault(str(opt.get("field")), []).append(str(value))
    defs = []
    for f in body.get("fields") or []:
        fid = str(f["id"])
        opts = options.get(fid) or [str(o) for o in (f.get("options") or [])
                                    if not isinstance(o, dict)]
        defs.append(FieldDef(fid, str(f.get("title") or ""), str(f.get("type") or "text"),
                             f.get("perstag") or None, tuple(opts)))
    return defs


def account_fields_from_api(items: Iterable[Mapping[str, Any]]) -> list[FieldDef]:
    """FieldDefs from ``GET /accountCustomFieldMeta``."""
    defs = []
    for m in items:
        opts = m.get("fieldOptions") or []
        defs.append(FieldDef(str(m["id"]), str(m.get("fieldLabel") or ""),
                             str(m.get("fieldType") or "text"), m.get("personalization") or None,
                             tuple(str(o) for o in opts)))
    return defs


_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _split_multi(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v) for v in value if not is_empty(v)]
    text = str(value)
    if "||" in text:
        return [p for p in text.split("||") if p != ""]
    return [text] if text.strip() else []


def _pick_option(fd: FieldDef, value: str) -> str:
    if not fd.options or value in fd.options:
        return value
    lowered = {o.lower(): o for o in fd.options}
    if value.lower() in lowered:
        return lowered[value.lower()]
    allowed = ", ".join(repr(o) for o in fd.options[:20])
    raise RecordError(
        f"Field {fd.title!r} ({fd.type}) does not accept {value!r}: allowed options are {allowed}."
    )


def _parse_datetime(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace(" ", "T", 1))


def coerce_field_value(fd: FieldDef, value: Any) -> str:
    """The string ActiveCampaign stores for ``value`` in ``fd``, or a RecordError naming the field.

    ActiveCampaign's own 422 does not say which field is wrong; this check does, before writing.
    """
    kind = fd.type.lower()
    if isinstance(value, dict):
        raise RecordError(f"Field {fd.title!r} ({fd.type}) cannot take an object: {value!r}.")
    if kind == "date":
        text = value.isoformat() if isinstance(value, dt.date) else str(value).strip()
        if isinstance(value, dt.datetime):
            text = value.date().isoformat()
        try:
            if not _DATE_RE.match(text):
                raise ValueError(text)
            dt.date.fromisoformat(text)
        except ValueError:
            raise RecordError(
                f"Field {fd.title!r} (date) expects YYYY-MM-DD, got {value!r}."
            ) from None
        return text
    if kind == "datetime":
        text = value.isoformat() if isinstance(value, dt.datetime) else str(value).strip()
        try:
            _parse_datetime(text)
        except ValueError:
            raise RecordError(
                f"Field {fd.title!r} (datetime) expects an ISO 8601 date-time such as "
                f"2024-05-01T14:30:00Z, got {value!r}."
            ) from None
        return text
    if kind in ("number", "currency"):
        if isinstance(value, bool):
            raise RecordError(f"Field {fd.title!r} ({fd.type}) expects a number, got {value!r}.")
        try:
            number = float(str(value).strip())
        except ValueError:
            raise RecordError(
                f"Field {fd.title!r} ({fd.type}) expects a number, got {value!r}."
            ) from None
        if number != number or number in (float("inf"), float("-inf")):
            raise RecordError(f"Field {fd.title!r} ({fd.type}) expects a number, got {value!r}.")
        return str(int(number)) if number.is_integer() else repr(number)
    if kind in SINGLE_OPTION_TYPES:
        if isinstance(value, list | tuple):
            raise RecordError(
                f"Field {fd.title!r} ({fd.type}) takes one option, got a list {value!r}."
            )
        return _pick_option(fd, str(value).strip())
    if kind in MULTI_VALUE_TYPES:
        picked = [_pick_option(fd, v.strip()) for v in _split_multi(value)]
        return "||" + "||".join(picked) + "||" if picked else ""
    if isinstance(value, list | tuple):
        raise RecordError(f"Field {fd.title!r} ({fd.type}) takes text, got a list {value!r}.")
    if isinstance(value, bool):
        return "true" if value else "false"
    check_text(fd.title, str(value), MAX_TEXT_LENGTH if kind == "text" else None)
    return str(value)


def same_field_value(fd: FieldDef, current: Any, new: str) -> bool:
    """Whether ActiveCampaign's stored ``current`` already equals the coerced ``new`` value."""
    if is_empty(current):
        return is_empty(new)
    cur = str(current)
    kind = fd.type.lower()
    try:
        if kind in ("number", "currency"):
            return float(cur) == float(new)
        if kind == "datetime":
            return _parse_datetime(cur) == _parse_datetime(new)
        if kind == "date":
            return cur.strip()[:10] == new
    except ValueError:
        return False
    if kind in MULTI_VALUE_TYPES:
        return sorted(_split_multi(cur)) == sorted(_split_multi(new))
    return cur == new


def field_decision(
    key: str, record: Mapping[str, Any], current: Any, rules: SyncRules,
    same: Callable[[Any, Any], bool],
) -> tuple[bool, Any]:
    """(write?, value) for one field under its mode.

    Absent key → no write. Null → no write, unless ``clear_on_null`` names the field and AC
    holds a value (then write ``""``). ``fill`` writes only where AC is empty; ``overwrite``
    writes whenever the value differs.
    """
    if key not in record:
        return False, None
    value = record[key]
    if is_empty(value):
        if rules.clears(key) and not is_empty(current):
            return True, ""
        return False, None
    if rules.mode_for(key) == "fill" and not is_empty(current):
        return False, None
    if same(current, value):
        return False, None
    return True, value


# --------------------------------------------------------------------------- current state
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


# --------------------------------------------------------------------------- references
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


# --------------------------------------------------------------------------- contact plans
@dataclass
class Change:
    field: str
    old: Any
    new: Any

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.old, "to": self.new}


@dataclass
class ContactPlan:
    """What to do for one contact record. ``action``: create, update, unchanged, skip, reject."""

    email: str
    record: dict[str, Any]
    action: str
    message: str = ""
    current: CurrentContact | None = None
    changes: list[Change] = field(default_factory=list)
    standard: dict[str, str] = field(default_factory=dict)
    field_values: dict[str, str] = field(default_factory=dict)  # field id -> value
    tags_to_add: list[str] = field(default_factory=list)  # names
    lists_to_add: list[str] = field(default_factory=list)  # list ids
    account: CurrentAccount | None = None  # link to create
    job_title: str | None = None
    update_job_title: bool = False
    automations: list[str] = field(default_factory=list)  # automation ids
    warnings: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)  # follow-up writes AC refused for good

    @property
    def needs_contact_write(self) -> bool:
        return bool(self.action == "create" or self.standard or self.field_values)

    def change_dict(self) -> dict[str, Any]:
        return {c.field: c.as_dict() for c in self.changes}


def _standard_same(current: Any, new: Any) -> bool:
    return (current or "") == str(new).strip()


def plan_contact(
    record: Mapping[str, Any], current: CurrentContact | None, rules: SyncRules, refs: References,
) -> ContactPlan:
    """Decide create / update / unchanged / skip / reject for one contact record (pure)."""
    email = normalize_email(record.get("email")) or ""
    plan = ContactPlan(email=email, record=dict(record), action="unchanged", current=current)
    if not is_valid_email(email):
        plan.action, plan.message = "reject", (
            f"Invalid email address {record.get('email')!r} in field 'email'.")
        return plan
    if current is not None and current.bounced_hard:
        plan.action = "skip"
        plan.message = ("Contact is hard-bounced in ActiveCampaign; not pushed (clean up the "
                        "address in Abmatic or ActiveCampaign).")
        return plan
    try:
        for key in (*STANDARD_CONTACT_FIELDS, "jobTitle"):
            check_text(key, record.get(key))
        _plan_values(plan, record, current, rules, refs)
        _plan_memberships(plan, record, current, refs)
    except RecordError as exc:
        plan.action, plan.message = "reject", str(exc)
        return plan
    _plan_account(plan, record, current, rules, refs)
    touched = bool(plan.changes)
    if current is None:
        plan.action = "create" if rules.create else "skip"
        if not rules.create:
            plan.message = "Not created: the create operation is off for contacts."
    elif touched:
        plan.action = "update" if rules.update else "skip"
        if not rules.update:
            plan.message = "Not updated: the update operation is off for contacts."
    if plan.action in ("create", "update") and refs.sync_tag:
        have = current.tag_ids if current is not None else set()
        tag_id = refs.tags.find(refs.sync_tag)
        if (tag_id is None or tag_id not in (have or set())) and \
                refs.sync_tag not in plan.tags_to_add:
            plan.tags_to_add.append(refs.sync_tag)
    return plan


def _plan_values(plan: ContactPlan, record: Mapping[str, Any], current: CurrentContact | None,
                 rules: SyncRules, refs: References) -> None:
    for key in STANDARD_CONTACT_FIELDS:
        cur_value = getattr(current, key) if current is not None else None
        write, value = field_decision(key, record, cur_value, rules, _standard_same)
        if write:
            plan.standard[key] = str(value).strip()
            plan.changes.append(Change(key, cur_value, plan.standard[key]))
    custom = record.get("fields") or {}
    if not isinstance(custom, Mapping):
        raise RecordError(f"'fields' must be an object keyed by field title, got {custom!r}.")
    for key, raw in custom.items():
        fd = refs.fields.require(str(key), "contact")
        value = None if is_empty(raw) else coerce_field_value(fd, raw)
        mode_key = f"fields.{key}"
        cur_value = current.field_values.get(fd.id) if current is not None else None
        sub = {mode_key: value}
        write, out = field_decision(mode_key, sub, cur_value, rules,
                                    partial(same_field_value, fd))
        if write:
            plan.field_values[fd.id] = out
            plan.changes.append(Change(mode_key, cur_value, out))


def _names(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        raise RecordError(f"'{what}' must be a list of names or ids, got {value!r}.")
    return [str(v).strip() for v in value if not is_empty(v)]


def _plan_memberships(plan: ContactPlan, record: Mapping[str, Any],
                      current: CurrentContact | None, refs: References) -> None:
    wanted_lists = _names(record.get("lists"), "lists")
    if not wanted_lists and record.get("lists") is None and refs.default_list:
        wanted_lists = [refs.default_list]
    for name in wanted_lists:
        list_id = refs.lists.find(name)
        if list_id is None:
            raise RecordError(f"Unknown list {name!r}: no ActiveCampaign list has this name or id.")
        status = (current.list_status or {}).get(list_id) if current is not None else None
        if status == "1" or list_id in plan.lists_to_add:
            continue
        if status == "2":
            plan.warnings.append(f"Unsubscribed from list {refs.lists.names[list_id]!r}; "
                                 "not re-subscribed.")
            continue
        if status is not None:
            continue
        plan.lists_to_add.append(list_id)
        plan.changes.append(Change("lists", None, refs.lists.names.get(list_id, name)))
    have_tags = (current.tag_ids or set()) if current is not None else set()
    for name in _names(record.get("tags"), "tags"):
        tag_id = refs.tags.find(name)
        if (tag_id is not None and tag_id in have_tags) or name in plan.tags_to_add:
            continue
        plan.tags_to_add.append(name)
        plan.changes.append(Change("tags", None, name))
    have_autos = (current.automation_ids or set()) if current is not None else set()
    for name in _names(record.get("automations"), "automations"):
        auto_id = refs.automations.find(name)
        if auto_id is None:
            raise RecordError(f"Unknown automation {name!r}: no ActiveCampaign automation has "
                              "this name or id.")
        if auto_id in have_autos or auto_id in plan.automations:
            continue
        plan.automations.append(auto_id)
        plan.changes.append(Change("automations", None, refs.automations.names.get(auto_id)))


def _plan_account(plan: ContactPlan, record: Mapping[str, Any], current: CurrentContact | None,
                  rules: SyncRules, refs: References) -> None:
    raw = record.get("account_domain")
    if is_empty(raw):
        return
    domain = normalize_domain(raw)
    if domain is None:
        plan.warnings.append(f"account_domain {raw!r} is not a website domain; not linked.")
        return
    account = refs.accounts.get(domain)
    if account is None:
        plan.warnings.append(f"No ActiveCampaign account has the domain {domain!r}; contact not "
                             "linked (push the account in the accounts stream).")
        return
    job_title = None if is_empty(record.get("jobTitle")) else str(record["jobTitle"]).strip()
    linked = current.account_id if current is not None else None
    if linked is None:
        plan.account, plan.job_title = account, job_title
        plan.changes.append(Change("account", None, account.name))
        if job_title:
            plan.changes.append(Change("jobTitle", None, job_title))
        return
    if linked != account.id:
        other = refs.account_names.get(linked, f"id {linked}")
        plan.warnings.append(
            f"Already linked to account {other!r}; ActiveCampaign allows one account per "
            f"contact, so the link to {account.name!r} ({domain}) was not made."
        )
        return
    cur_title = current.job_title if current is not None else None
    write, value = field_decision("jobTitle", record, cur_title, rules, _standard_same)
    if write:
        plan.job_title, plan.update_job_title = str(value).strip(), True
        plan.changes.append(Change("jobTitle", cur_title, plan.job_title))


# --------------------------------------------------------------------------- request bodies
def _api_id(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def sync_body(plan: ContactPlan) -> dict[str, Any]:
    """``POST /contact/sync`` body: email plus only the fields that change."""
    contact: dict[str, Any] = {"email": plan.email, **plan.standard}
    if plan.action == "create":
        for key in STANDARD_CONTACT_FIELDS:
            if key not in contact and not is_empty(plan.record.get(key)):
                contact[key] = str(plan.record[key]).strip()
    if plan.field_values:
        contact["fieldValues"] = [{"field": fid, "value": v} for fid, v in
                                  plan.field_values.items()]
    return {"contact": contact}


def bulk_entry(plan: ContactPlan) -> dict[str, Any]:
    """One contact of ``POST /import/bulk_import``; absent keys leave AC values untouched."""
    entry: dict[str, Any] = {"email": plan.email}
    for key, value in plan.standard.items():
        entry[STANDARD_CONTACT_FIELDS[key]] = value
    if plan.field_values:
        entry["fields"] = [{"id": _api_id(fid), "value": v} for fid, v in plan.field_values.items()]
    if plan.tags_to_add:
        entry["tags"] = list(plan.tags_to_add)
    if plan.lists_to_add:
        entry["subscribe"] = [{"listid": _api_id(lid)} for lid in plan.lists_to_add]
    if plan.account is not None:
        entry["customer_acct_name"] = plan.account.name
    return entry


# --------------------------------------------------------------------------- account plans
@dataclass
class AccountPlan:
    domain: str
    record: dict[str, Any]
    action: str
    message: str = ""
    current: CurrentAccount | None = None
    changes: list[Change] = field(default_factory=list)
    body: dict[str, Any] = field(default_factory=dict)

    def change_dict(self) -> dict[str, Any]:
        return {c.field: c.as_dict() for c in self.changes}


def plan_account(record: Mapping[str, Any], current: CurrentAccount | None, rules: SyncRules,
                 catalog: FieldCatalog,
                 default_currency: str = money.DEFAULT_CURRENCY) -> AccountPlan:
    """Decide create / update / unchanged / skip / reject for one account record (pure)."""
    domain = normalize_domain(record.get("accountUrl")) or ""
    plan = AccountPlan(domain=domain, record=dict(record), action="unchanged", current=current)
    if not domain:
        plan.action = "reject"
        plan.message = f"accountUrl {record.get('accountUrl')!r} is not a website domain."
        return plan
    try:
        check_text("name", record.get("name"))
    except RecordError as exc:
        plan.action, plan.message = "reject", str(exc)
        return plan
    body: dict[str, Any] = {}
    cur_name = current.name if current is not None else None
    write, name = field_decision("name", record, cur_name, rules, _standard_same)
    if write and name != "":
        body["name"] = str(name).strip()
        plan.changes.append(Change("name", cur_name, body["name"]))
    fields_out = []
    try:
        custom = record.get("fields") or {}
        if not isinstance(custom, Mapping):
            raise RecordError(f"'fields' must be an object keyed by field label, got {custom!r}.")
        for key, raw in custom.items():
            fd = catalog.require(str(key), "account")
            mode_key = f"fields.{key}"
            cur_value = (current.field_values or {}).get(fd.id) if current is not None else None
            currency = None
            same: Callable[[Any, Any], bool] = partial(same_field_value, fd)
            if fd.type.lower() == "currency":  # cents + fieldCurrency, compared in cents
                value, currency = _money(fd, raw, default_currency)
                cur_currency = (current.field_currencies.get(fd.id) if current is not None
                                else None)
                same = _cents_same(cur_currency, currency)
            else:
                value = None if is_empty(raw) else coerce_field_value(fd, raw)
            write, out = field_decision(mode_key, {mode_key: value}, cur_value, rules, same)
            if write:
                item: dict[str, Any] = {"customFieldId": _api_id(fd.id), "fieldValue": out}
                if currency is not None:
                    item["fieldCurrency"] = currency
                fields_out.append(item)
                plan.changes.append(Change(mode_key, cur_value, out))
    except RecordError as exc:
        plan.action, plan.message = "reject", str(exc)
        return plan
    if fields_out:
        body["fields"] = fields_out
    if current is None:
        body.setdefault("name", domain)
        body["accountUrl"] = str(record["accountUrl"]).strip()
        plan.changes.insert(0, Change("accountUrl", None, body["accountUrl"]))
        if not any(c.field == "name" for c in plan.changes):
            plan.changes.insert(1, Change("name", None, body["name"]))
        plan.action = "create" if rules.create else "skip"
        if not rules.create:
            plan.message = "Not created: the create operation is off for accounts."
    elif body:
        plan.action = "update" if rules.update else "skip"
        if not rules.update:
            plan.message = "Not updated: the update operation is off for accounts."
    plan.body = {"account": body}
    return plan


def _money(fd: FieldDef, raw: Any, default_currency: str) -> tuple[str | None, str]:
    if is_empty(raw) or (isinstance(raw, dict) and is_empty(raw.get("amount"))):
        currency = raw.get("currency") if isinstance(raw, dict) else None
        return None, str(currency or default_currency).upper()
    try:
        return money.currency_value(fd.title, raw, default_currency)
    except ValueError as exc:
        raise RecordError(str(exc)) from None


def _cents_same(cur_currency: str | None, currency: str) -> Callable[[Any, Any], bool]:
    def same(current: Any, new: Any) -> bool:
        return money.same_money(current, cur_currency, str(new), currency)
    return same


def merge_duplicates(records: list[dict[str, Any]], key: Callable[[dict[str, Any]], str | None],
                     ) -> list[dict[str, Any]]:
    """One record per key, in first-seen order; later values win, lists are united."""
    merged: dict[str, dict[str, Any]] = {}
    out: list[dict[str, Any]] = []
    for rec in records:
        k = key(rec)
        if not k:
            out.append(rec)
            continue
        if k not in merged:
            merged[k] = dict(rec)
            out.append(merged[k])
            continue
        target = merged[k]
        for name, value in rec.items():
            if name in ("lists", "tags", "automations") and isinstance(value, list):
                target[name] = list(dict.fromkeys([*(target.get(name) or []), *value]))
            elif name == "fields" and isinstance(value, dict):
                target[name] = {**(target.get(name) or {}), **value}
            elif value is not None or name not in target:
                target[name] = value
    return out
