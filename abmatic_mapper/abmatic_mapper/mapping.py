"""Pure record transforms: ActiveCampaign tap records -> Abmatic records (import) and Abmatic
records -> ActiveCampaign push records (push). No I/O; joins arrive as plain arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import abmatic_mapper.model as model
from abmatic_mapper.settings import (
    UNMAPPED_IMPORT,
    CustomFieldMap,
    Settings,
    snake_case,
)
from abmatic_mapper.values import (
    as_str_list,
    cents_to_amount,
    clean,
    clean_text,
    status_name,
    to_number,
    to_utc,
)
from activecampaign_client import blank_to_none, normalize_domain, normalize_email
from activecampaign_client.normalize import email_problem
from activecampaign_client.sync_rules import DONT_SYNC, OVERWRITE

# ---------------------------------------------------------------------------------------------
# the plan: settings turned into per-stream lookups used on every record


@dataclass(frozen=True)
class StreamPlan:
    stream: str
    modes: Mapping[str, str]  # Abmatic field -> mode
    excluded: frozenset[str]  # Abmatic fields that never leave (dont_sync)
    custom_by_title: Mapping[str, CustomFieldMap]
    custom_by_key: Mapping[str, CustomFieldMap]
    custom_modes: Mapping[str, str]  # custom_fields key -> mode (mapped keys)
    custom_default: str  # mode of unmapped custom_fields keys
    clear_on_null: frozenset[str]
    custom_clear: frozenset[str]
    create: bool
    update: bool
    import_unmapped: bool
    push_excluded: frozenset[str] = field(default_factory=frozenset)  # push record names


def build_plan(settings: Settings, stream: str) -> StreamPlan:
    modes = dict(settings.modes[stream])
    by_title = dict(settings.custom_fields.get(stream, {}))
    for m in by_title.values():
        if m.top_level and modes.get(m.key) != DONT_SYNC:
            modes[m.key] = m.mode
    custom_modes = settings.custom_modes(stream)
    produced = (
        {f.name for f in model.import_fields(stream)}
        if settings.direction == model.IMPORT
        else set(model.STREAMS[stream].field_names)
    )
    excluded = {f for f, mode in modes.items() if mode == DONT_SYNC and f in produced}
    # A top-level custom-field target only crosses when a custom field is mapped to it.
    mapped_keys = {m.key for m in by_title.values()}
    for f in model.STREAMS[stream].fields:
        if f.custom_field_target and f.name not in mapped_keys and settings.direction == model.PUSH:
            excluded.add(f.name)
    ops = settings.operations.get(stream, {"create": True, "update": True})
    plan = StreamPlan(
        stream=stream,
        modes=modes,
        excluded=frozenset(excluded),
        custom_by_title=by_title,
        custom_by_key={m.key: m for m in by_title.values()},
        custom_modes=custom_modes,
        custom_default=modes.get("custom_fields", OVERWRITE),
        clear_on_null=frozenset(settings.clear_on_null.get(stream, frozenset())),
        custom_clear=settings.custom_clear(stream),
        create=ops["create"],
        update=ops["update"],
        import_unmapped=settings.unmapped_custom_fields == UNMAPPED_IMPORT,
    )
    if stream in model.PUSH_NAMES:
        plan = replace(plan, push_excluded=excluded_push_names(stream, plan))
    return plan


# ---------------------------------------------------------------------------------------------
# import: ActiveCampaign -> Abmatic


def import_custom_fields(
    raw: Any, plan: StreamPlan, money_titles: frozenset[str] | set[str] = frozenset()
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Tap ``custom_fields`` ({title: value}) -> (top-level values, ``custom_fields`` object).

    Mapped titles land under their key (or in a top-level field such as engagement_score);
    unmapped titles under the snake_case of the title when ``import_unmapped``; blanks -> None.
    Currency fields (``money_titles``) hold cents in ActiveCampaign (spec §11) and become
    major units, like every Abmatic amount.
    """
    if not raw or not isinstance(raw, dict):
        return {}, None
    top: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    by_title = plan.custom_by_title
    for title, value in raw.items():
        value = clean(value)
        if title in money_titles:
            value = cents_to_amount(value)
        m = by_title.get(title)
        if m is None:
            if plan.import_unmapped:
                custom[snake_case(title)] = value
        elif m.mode == DONT_SYNC:
            continue
        elif m.top_level:
            top[m.key] = to_number(value) if m.key == "engagement_score" else value
        else:
            custom[m.key] = value
    return top, custom


def currency_titles(definition: Mapping[str, Any]) -> list[str]:
    """The ``custom_fields`` titles under which the tap sends a currency field's values.

    The tap keys values by ``fieldLabel``, and by ``"<label> (<id>)"`` for a second field of
    the same label; both are listed, so the value is converted whichever the tap used."""
    if str(definition.get("fieldType") or "").lower() != "currency":
        return []
    label = str(definition.get("fieldLabel") or f"field {definition.get('id')}")
    return [label, f"{label} ({definition.get('id')})"]


@dataclass(frozen=True)
class AccountLink:
    """What a contact inherits from its account link (account_contacts + accounts)."""

    company_name: str | None
    job_title: str | None
    account_domain: str | None


def import_contact(
    rec: Mapping[str, Any],
    plan: StreamPlan,
    link: AccountLink | None = None,
    lists: list[str] | None = None,
    tags: list[str] | None = None,
) -> dict[str, Any]:
    """A tap ``contacts`` record -> an Abmatic ``contacts`` record (before key validation)."""
    top, custom = import_custom_fields(rec.get("custom_fields"), plan)
    cid = rec.get("id")
    out = {
        "work_email": normalize_email(rec.get("email")),
        "first_name": clean(rec.get("firstName")),
        "last_name": clean(rec.get("lastName")),
        "phone": clean(rec.get("phone")),
        "company_name": link.company_name if link else None,
        "job_title": link.job_title if link else None,
        "account_domain": link.account_domain if link else None,
        "lists": lists,
        "tags": tags,
        "custom_fields": custom,
        "engagement_score": None,
        "activecampaign_id": None if cid is None else str(cid),
        "created_at": to_utc(rec.get("cdate")),
        "updated_at": to_utc(rec.get("udate")),
    }
    if top:
        out.update(top)
    return out


def import_account(rec: Mapping[str, Any], plan: StreamPlan,
                   money_titles: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
    """A tap ``accounts`` record -> an Abmatic ``accounts`` record (before key validation)."""
    top, custom = import_custom_fields(rec.get("custom_fields"), plan, money_titles)
    aid = rec.get("id")
    out = {
        "website_domain": normalize_domain(rec.get("accountUrl")),
        "company_name": clean(rec.get("name")),
        "phone": None,
        "custom_fields": custom,
        "activecampaign_id": None if aid is None else str(aid),
        "created_at": to_utc(rec.get("createdTimestamp")),
        "updated_at": to_utc(rec.get("updatedTimestamp")),
    }
    if top:
        out.update(top)
    return out


def import_deal(
    rec: Mapping[str, Any],
    plan: StreamPlan,
    pipeline: str | None = None,
    stage: str | None = None,
    account_domain: str | None = None,
    contact_email: str | None = None,
    money_titles: frozenset[str] | set[str] = frozenset(),
) -> dict[str, Any]:
    """A tap ``deals`` record -> an Abmatic ``opportunities`` record."""
    _top, custom = import_custom_fields(rec.get("custom_fields"), plan, money_titles)
    currency = clean(rec.get("currency"))
    did = rec.get("id")
    return {
        "activecampaign_id": None if did is None else str(did),
        "name": clean(rec.get("title")),
        "amount": cents_to_amount(rec.get("value")),
        "currency": currency.upper() if isinstance(currency, str) else None,
        "status": status_name(rec.get("status")),
        "pipeline": pipeline,
        "stage": stage,
        "account_domain": account_domain,
        "contact_email": contact_email,
        "custom_fields": custom,
        "created_at": to_utc(rec.get("cdate")),
        "updated_at": to_utc(rec.get("mdate")),
    }


def without(record: dict[str, Any], excluded: frozenset[str]) -> dict[str, Any]:
    """``record`` minus the ``dont_sync`` fields."""
    if not excluded:
        return record
    return {k: v for k, v in record.items() if k not in excluded}


def key_problem(stream: str, record: Mapping[str, Any], raw_value: Any) -> str | None:
    """Why a mapped record cannot be written (its match key), or None when it can."""
    if stream == "contacts":
        if record.get("work_email") is None:
            return "missing email"
        if (problem := email_problem(raw_value)) is not None:
            return f"invalid email: {problem}"
    elif stream == "accounts":
        if record.get("website_domain") is None:
            if blank_to_none(raw_value) is None:
                return "missing website domain"
            return "website has no domain"
    elif record.get("activecampaign_id") is None:
        return "missing id"
    return None


# ---------------------------------------------------------------------------------------------
# push: Abmatic -> ActiveCampaign


@dataclass
class PushResult:
    record: dict[str, Any]
    ignored_fields: list[str]  # input fields that do not cross (extra or without AC counterpart)
    unmapped_custom: list[str]  # custom_fields keys with no mapping


_LIST_FIELDS = frozenset({"add_to_lists", "add_tags", "start_automations"})


def push_record(stream: str, rec: Mapping[str, Any], plan: StreamPlan) -> PushResult:
    """An Abmatic ``contacts``/``accounts`` record -> a target-activecampaign record."""
    names = model.PUSH_NAMES[stream]
    excluded = plan.excluded
    out: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    ignored: list[str] = []
    unmapped: list[str] = []
    by_key = plan.custom_by_key
    for name, value in rec.items():
        m = by_key.get(name)
        if m is not None and m.top_level:
            if name not in excluded and m.mode != DONT_SYNC:
                fields[m.title] = clean(value)
            continue
        push_name = names.get(name)
        if push_name is None:
            ignored.append(name)
            continue
        if name in excluded:
            continue
        if name == "custom_fields":
            if isinstance(value, dict):
                for key, cf_value in value.items():
                    cm = by_key.get(key)
                    if cm is None or cm.top_level:
                        unmapped.append(key)
                    elif cm.mode != DONT_SYNC:
                        fields[cm.title] = clean(cf_value)
            continue
        if name in _LIST_FIELDS:
            out[push_name] = as_str_list(value)
        elif name == "work_email":
            out[push_name] = normalize_email(value)
        elif name in ("website_domain", "account_domain"):
            out[push_name] = normalize_domain(value)
        else:
            out[push_name] = clean_text(value)
    key = model.STREAMS[stream].push_key
    assert key is not None
    out.setdefault(key, None)
    if "fields" not in plan.push_excluded:
        out["fields"] = fields or None
    return PushResult(out, ignored, unmapped)


def excluded_push_names(stream: str, plan: StreamPlan) -> frozenset[str]:
    """Push record fields removed by ``dont_sync`` (``fields`` only when no custom field
    can cross)."""
    names = model.PUSH_NAMES[stream]
    excluded = {names[f] for f in plan.excluded if f in names and f != "custom_fields"}
    crossing = [
        m for m in plan.custom_by_key.values()
        if m.mode != DONT_SYNC
        and (m.key not in plan.excluded if m.top_level else "custom_fields" not in plan.excluded)
    ]
    if not crossing:
        excluded.add("fields")
    return frozenset(excluded)


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", bool: "a boolean", str: "a string"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


def push_field_problem(stream: str, rec: Mapping[str, Any]) -> tuple[str, str] | None:
    """(field, reason) for the first Abmatic field whose value has the wrong shape to push.

    Numbers in text fields are accepted (written as text); objects, lists and booleans in text
    fields, non-numbers in ``engagement_score``, a non-object ``custom_fields`` and lists that
    hold objects are refused, so the record is rejected here with the field named instead of
    reaching ActiveCampaign half-written.
    """
    smodel = model.STREAMS[stream]
    for f in smodel.fields:
        if f.name not in rec:
            continue
        value = rec[f.name]
        if value is None:
            continue
        kind = f.schema["type"]
        kind = kind[0] if isinstance(kind, list) else kind
        if kind == "string":
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                return f.name, f"{f.name} must be text, got {_type_name(value)}"
        elif kind == "number":
            if isinstance(value, bool) or (not isinstance(value, (int, float))
                                           and to_number(value) is None):
                return f.name, f"{f.name} must be a number, got {_type_name(value)}"
        elif kind == "object":
            if not isinstance(value, dict):
                return f.name, f"{f.name} must be an object, got {_type_name(value)}"
        elif kind == "array":
            items = value if isinstance(value, (list, tuple)) else [value]
            if any(isinstance(v, (dict, list, tuple, bool)) for v in items):
                return f.name, f"{f.name} must be a list of names, got {_type_name(value)} " \
                    "holding objects, lists or booleans"
    return None


def push_key_problem(stream: str, record: Mapping[str, Any], raw: Mapping[str, Any]) -> str | None:
    """Why a push record cannot be sent (its match key), or None when it can."""
    if stream == "contacts":
        email = record.get("email")
        if email is None:
            return "missing work_email"
        if (problem := email_problem(raw.get("work_email"))) is not None:
            return f"invalid work_email: {problem}"  # the target's reason too
    elif record.get("accountUrl") is None:
        if blank_to_none(raw.get("website_domain")) is None:
            return "missing website_domain"
        return "website_domain is not a domain"
    return None


def x_sync(stream: str, plan: StreamPlan) -> dict[str, Any]:
    """The ``x-sync`` annotation (CONTRACTS.md) for a push stream's SCHEMA."""
    smodel = model.STREAMS[stream]
    modes: dict[str, str] = {}
    clear: list[str] = []
    for f in smodel.fields:
        if f.push_mode is None or f.name in plan.excluded:
            continue
        assert f.push_name is not None
        modes[f.push_name] = plan.modes[f.name]
        if f.name in plan.clear_on_null:
            clear.append(f.push_name)
    for m in plan.custom_by_key.values():
        if m.mode == DONT_SYNC:
            continue
        if m.top_level:
            if m.key in plan.excluded:
                continue
            cleared = m.key in plan.clear_on_null
        else:
            if "custom_fields" in plan.excluded:
                continue
            cleared = m.key in plan.custom_clear
        modes[f"fields.{m.title}"] = m.mode
        if cleared:
            clear.append(f"fields.{m.title}")
    return {
        "operations": {"create": plan.create, "update": plan.update},
        "modes": modes,
        "clear_on_null": clear,
    }


def push_schema_for(stream: str, plan: StreamPlan) -> dict[str, Any]:
    """The push SCHEMA body: ActiveCampaign fields minus ``dont_sync`` ones, with ``x-sync``."""
    return model.push_schema(stream, plan.push_excluded, x_sync(stream, plan))
