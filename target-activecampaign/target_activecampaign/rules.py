"""The target's sync rules for one stream: which mode each field has, which operations run.

The rule itself (fill / overwrite / dont_sync, emptiness, clear on null) is
``activecampaign_client.sync_rules``, shared with the mapper; this module only reads the
settings and a SCHEMA's ``x-sync`` into a ``SyncRules`` and applies the rule to record fields.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from activecampaign_client.objects import OBJECTS
from activecampaign_client.sync_rules import (
    CREATE,
    DONT_SYNC,
    FILL,
    MODES,
    PASS,
    UPDATE,
    WRITE_MODES,
    decide,
    operation_outcome,
)
from target_activecampaign.fields import FieldDef, same_field_value


@dataclass(frozen=True)
class SyncRules:
    """Operations and per-field modes for one stream."""

    create: bool = True
    update: bool = True
    default_mode: str = FILL
    modes: Mapping[str, str] = field(default_factory=dict)
    clear_on_null: frozenset[str] = frozenset()

    def mode_for(self, key: str) -> str:
        return self.modes.get(key, self.default_mode)

    def clears(self, key: str) -> bool:
        return key in self.clear_on_null


class SyncRulesError(ValueError):
    """A sync mode in the settings or in a SCHEMA's x-sync is unknown (the stream cannot be
    pushed safely under rules it cannot read)."""


def _check_mode(mode: Any, where: str, allowed: tuple[str, ...] = MODES) -> str:
    if mode not in allowed:  # dont_sync (x-sync only): that field is never written
        raise SyncRulesError(f"{where}: sync mode {mode!r} is not one of {', '.join(allowed)}")
    return str(mode)


def sync_rules(stream: str, schema: Mapping[str, Any], config: Mapping[str, Any]) -> SyncRules:
    """Rules for ``stream``: the schema's ``x-sync`` first, then the target settings.

    Modes merge field by field (x-sync > setting ``modes`` > ``default_mode``); operations come
    from x-sync when it names them, else from the ``operations`` setting (default: both on).
    """
    xsync = schema.get("x-sync") or {}
    default_mode = _check_mode(config.get("default_mode") or FILL, "default_mode", WRITE_MODES)
    modes = {k: _check_mode(v, f"modes.{k}", WRITE_MODES)
             for k, v in (config.get("modes") or {}).items()}
    modes.update({k: _check_mode(v, f"stream {stream!r} SCHEMA x-sync modes.{k}")
                  for k, v in (xsync.get("modes") or {}).items()})
    ops = dict(((config.get("operations") or {}).get(stream)) or {})
    ops.update(xsync.get("operations") or {})
    clear = set(config.get("clear_on_null") or []) | set(xsync.get("clear_on_null") or [])
    return SyncRules(
        create=bool(ops.get(CREATE, True)),
        update=bool(ops.get(UPDATE, True)),
        default_mode=default_mode,
        modes=modes,
        clear_on_null=frozenset(clear),
    )


def field_decision(
    key: str, record: Mapping[str, Any], current: Any, rules: SyncRules,
    same: Callable[[Any, Any], bool],
) -> tuple[bool, Any]:
    """(write?, value) for one field under its mode, by ``sync_rules.decide``; a clear is
    written as ``""`` (what ActiveCampaign takes). An absent key is never written."""
    mode = rules.mode_for(key)
    if key not in record or mode == DONT_SYNC:
        return False, None
    # decide() may hand back AC's own value (fill over a value): that is no change, whatever
    # ``same`` says of it (a date stored with a time, a currency field in another currency)
    write, value = decide(mode, record[key], current, rules.clears(key),
                          lambda cur, new: cur is new or same(cur, new))
    return write, "" if write and value is None else value


def custom_field_decision(key: str, fd: FieldDef, value: str | None, current: Any,
                          rules: SyncRules, same: Callable[[Any, Any], bool] | None = None,
                          ) -> tuple[bool, Any]:
    """``field_decision`` for the custom field ``fields.<key>`` (mode key ``fields.<key>``);
    values compare by the field's type unless ``same`` says otherwise (currency: cents)."""
    mode_key = f"fields.{key}"
    return field_decision(mode_key, {mode_key: value}, current, rules,
                          same or functools.partial(same_field_value, fd))


@dataclass
class Change:
    field: str
    old: Any
    new: Any

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.old, "to": self.new}


@dataclass(kw_only=True)
class Plan:
    """What to do for one record (each object's plan adds its own fields).

    ``action``: create, update, unchanged, skip, reject; ``changes`` go to the activity log;
    ``refusals`` are follow-up writes ActiveCampaign refused for good.
    """

    stream: ClassVar[str] = ""
    object_name: ClassVar[str] = ""  # OBJECTS' singular ("contact"), for the activity log
    key_attr: ClassVar[str] = ""  # the normalized key's attribute
    key_field: ClassVar[str] = ""  # the record's key field
    has_event: ClassVar[bool] = False  # records carry an ``event`` for the activity log
    record: dict[str, Any]
    action: str
    message: str = ""
    changes: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)

    def __init_subclass__(cls, *, stream: str = "", key: tuple[str, str] = ("", ""),
                          has_event: bool = False, **kwargs: Any) -> None:
        """``class ContactPlan(Plan, stream="contacts", key=("email", "email"))``: the
        stream, and the key as (plan attribute, record field)."""
        super().__init_subclass__(**kwargs)
        cls.stream, cls.object_name = stream, OBJECTS[stream].singular_key
        cls.key_attr, cls.key_field = key
        cls.has_event = has_event

    @property
    def key(self) -> str:
        return getattr(self, self.key_attr) or str(self.record.get(self.key_field))

    @property
    def event(self) -> Any:
        return self.record.get("event") if self.has_event else None

    def change_dict(self) -> dict[str, Any]:
        return {c.field: c.as_dict() for c in self.changes}


def apply_operations(plan: Plan, rules: SyncRules, *, exists: bool, changed: bool) -> None:
    """A plan that writes becomes create / update, or a skip saying which operation is off
    (``sync_rules.operation_outcome``)."""
    if exists and not changed:
        return
    if operation_outcome(exists, rules.create, rules.update) == PASS:
        plan.action = UPDATE if exists else CREATE
        return
    op, done = (UPDATE, "updated") if exists else (CREATE, "created")
    plan.action = "skip"
    plan.message = f"Not {done}: the {op} operation is off for {plan.stream}."


def api_id(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def standard_same(current: Any, new: Any) -> bool:
    return (current or "") == str(new).strip()


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
