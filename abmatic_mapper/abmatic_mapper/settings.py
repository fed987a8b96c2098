"""Mapper settings: the JSON Schema shown by ``--about`` and a validator with exact paths.

The SDK validates nested objects but does not apply their defaults, so ``parse_settings``
applies every default itself and returns an immutable ``Settings``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import abmatic_mapper.model as model
from activecampaign_client.sync_rules import DONT_SYNC, FILL, MODES, OPERATIONS

UNMAPPED_IMPORT = "import"
UNMAPPED_IGNORE = "ignore"
UNMAPPED_CHOICES = (UNMAPPED_IMPORT, UNMAPPED_IGNORE)
CUSTOM_FIELD_OBJECTS = ("contacts", "accounts", "opportunities")
OPERATION_OBJECTS = ("contacts", "accounts", "opportunities")
DEFAULT_REJECTS_PATH = "rejects-abmatic-mapper.jsonl"
DEFAULT_BUFFER_KEYS = 10_000
DEFAULT_JOIN_MEMORY_KEYS = 10_000

_MODES_TEXT = ", ".join(MODES)

# Shapes only (so --about documents them); parse_settings checks meaning, with exact paths,
# before the SDK validates against this schema, so its messages are the ones users see.
_MODE: dict[str, Any] = {"type": "string", "enum": list(MODES)}


def _custom_field_map(obj: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": f"{obj}: ActiveCampaign custom field title -> Abmatic key.",
        "additionalProperties": {
            "anyOf": [
                {"type": "string", "description": "Abmatic key (mode fill)"},
                {"type": "object",
                 "properties": {"key": {"type": "string"}, "mode": _MODE},
                 "required": ["key"]},
            ],
        },
    }


def _operations(obj: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": f"Operations on {obj}.",
        "properties": {
            op: {"type": "boolean", "default": True,
                 "description": f"{op.capitalize()} {obj} (default true)."}
            for op in OPERATIONS
        },
    }


CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "direction": {
            "type": "string",
            "title": "Direction",
            "enum": list(model.DIRECTIONS),
            "default": model.IMPORT,
            "description": "`import`: tap-activecampaign records -> Abmatic `contacts`, "
            "`accounts`, `opportunities`. `push`: Abmatic `contacts`, `accounts` (any tap) -> "
            "ActiveCampaign-shaped records for target-activecampaign.",
        },
        "field_modes": {
            "type": "object",
            "additionalProperties": _MODE,
            "title": "Field modes",
            "description": 'Overrides of the default mode, keyed "<abmatic stream>.<abmatic '
            f'field>" -> one of {_MODES_TEXT}. Example: {{"contacts.first_name": "overwrite"}}.',
        },
        "custom_fields": {
            "type": "object",
            "properties": {o: _custom_field_map(o) for o in CUSTOM_FIELD_OBJECTS},
            "title": "Custom fields",
            "description": "Per object (`contacts`, `accounts`, `opportunities`): ActiveCampaign "
            'custom field title -> Abmatic key, either "key" (mode fill) or {"key": "...", '
            f'"mode": one of {_MODES_TEXT}}}. A key naming `engagement_score` (contacts) or '
            "`phone` (accounts) lands in that field, any other key under `custom_fields`. Push "
            "uses the same mapping in reverse.",
        },
        "unmapped_custom_fields": {
            "type": "string",
            "title": "Unmapped custom fields (import)",
            "enum": list(UNMAPPED_CHOICES),
            "default": UNMAPPED_IMPORT,
            "description": "`import`: an unmapped ActiveCampaign custom field is imported under "
            "the snake_case of its title with mode fill; `ignore`: it is dropped. On push, only "
            "mapped keys cross (the others are reported once).",
        },
        "operations": {
            "type": "object",
            "properties": {o: _operations(o) for o in OPERATION_OBJECTS},
            "title": "Operations",
            "description": 'Per object: {"create": true|false, "update": true|false}, both '
            'default true. Example: {"contacts": {"create": false}} = update only.',
        },
        "clear_on_null": {
            "type": "array",
            "items": {"type": "string"},
            "title": "Clear on null",
            "description": 'Fields ("contacts.phone", "contacts.custom_fields.<key>") whose '
            "null source value erases the destination value (by default a null never erases).",
        },
        "store_url": {
            "type": "string",
            "title": "Abmatic store URL",
            "secret": True,
            "description": "SQLAlchemy URL of the Abmatic store read once at startup (import) "
            "so that fill and update-only hold: `duckdb:////path/abmatic.duckdb` or "
            "`postgresql+psycopg://user:pass@host/db`. Unset: every record is new.",
        },
        "store_schema": {
            "type": "string",
            "title": "Abmatic store schema",
            "description": "Schema holding the `contacts`, `accounts`, `opportunities` tables "
            "(default: the connection's current schema).",
        },
        "rejects_path": {
            "type": "string",
            "title": "Rejects file",
            "default": DEFAULT_REJECTS_PATH,
            "description": "JSON-lines file receiving every rejected record with its reason "
            "(created only when something is rejected).",
        },
        "dedupe_buffer_keys": {
            "type": "integer",
            "title": "Dedupe buffer size",
            "default": DEFAULT_BUFFER_KEYS,
            "description": "Keys buffered per output stream for in-run de-duplication; the "
            "buffer is flushed when full, before every STATE message and at the end.",
        },
        "join_memory_keys": {
            "type": "integer",
            "title": "Join index memory limit",
            "default": DEFAULT_JOIN_MEMORY_KEYS,
            "description": "Keys each import join index (account links, list/tag "
            "memberships, contact emails for deals) keeps in memory before spilling to a "
            "temporary SQLite file.",
        },
    },
}


class SettingsError(ValueError):
    """Invalid settings; ``errors`` holds one message per problem, each with its path."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class CustomFieldMap:
    """One custom field correspondence: AC title <-> Abmatic key."""

    title: str
    key: str
    mode: str
    top_level: bool  # the key is a model field (engagement_score, accounts.phone)


@dataclass(frozen=True)
class Settings:
    direction: str = model.IMPORT
    # stream -> field -> mode (every model field, defaults applied)
    modes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # stream -> AC title -> CustomFieldMap
    custom_fields: Mapping[str, Mapping[str, CustomFieldMap]] = field(default_factory=dict)
    unmapped_custom_fields: str = UNMAPPED_IMPORT
    # stream -> {"create": bool, "update": bool}
    operations: Mapping[str, Mapping[str, bool]] = field(default_factory=dict)
    # stream -> set of fields / "custom_fields.<key>"
    clear_on_null: Mapping[str, frozenset[str]] = field(default_factory=dict)
    store_url: str | None = None
    store_schema: str | None = None
    rejects_path: str = DEFAULT_REJECTS_PATH
    dedupe_buffer_keys: int = DEFAULT_BUFFER_KEYS
    join_memory_keys: int = DEFAULT_JOIN_MEMORY_KEYS

    def custom_by_key(self, stream: str) -> dict[str, CustomFieldMap]:
        """Abmatic key -> mapping (the reverse view used on push)."""
        return {m.key: m for m in self.custom_fields.get(stream, {}).values()}

    def custom_modes(self, stream: str) -> dict[str, str]:
        """custom_fields key -> mode, for keys kept under ``custom_fields``."""
        return {
            m.key: m.mode for m in self.custom_fields.get(stream, {}).values() if not m.top_level
        }

    def custom_clear(self, stream: str) -> frozenset[str]:
        prefix = "custom_fields."
        return frozenset(
            c[len(prefix):] for c in self.clear_on_null.get(stream, ()) if c.startswith(prefix)
        )


def _q(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _one_of(path: str, value: Any, allowed: tuple[str, ...]) -> str:
    return f"{path}: {_q(value)} is not one of {', '.join(allowed)}"


def _check_int(config: Mapping[str, Any], name: str, errors: list[str]) -> int | None:
    value = config.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        errors.append(f"{name}: {_q(value)} must be a positive integer")
        return None
    return value


def _per_object(config: Mapping[str, Any], name: str, objects: tuple[str, ...], shape: str,
                errors: list[str]) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(object, path, its settings) for each well-formed object of a per-object setting."""
    raw = config.get(name) or {}
    if not isinstance(raw, Mapping):
        errors.append(f"{name}: must be an object, got {_q(raw)}")
        return
    for obj, value in raw.items():
        path = f"{name}[{_q(obj)}]"
        if obj not in objects:
            errors.append(f"{name}: object {_q(obj)} is not one of {', '.join(objects)}")
            continue
        if not isinstance(value, Mapping):
            errors.append(f"{path}: must be {shape}, got {_q(value)}")
            continue
        yield obj, path, value


def parse_settings(config: Mapping[str, Any]) -> Settings:
    """Validate ``config`` and apply every default; raise ``SettingsError`` listing problems."""
    errors: list[str] = []

    direction = config.get("direction") or model.IMPORT
    if direction not in model.DIRECTIONS:
        errors.append(_one_of("direction", direction, model.DIRECTIONS))
        direction = model.IMPORT

    modes: dict[str, dict[str, str]] = {
        s: {f.name: model.default_mode(s, f.name, direction) for f in model.STREAMS[s].fields}
        for s in model.STREAMS
    }
    raw_modes = config.get("field_modes") or {}
    if not isinstance(raw_modes, Mapping):
        errors.append(f"field_modes: must be an object, got {_q(raw_modes)}")
        raw_modes = {}
    for key, mode in raw_modes.items():
        path = f"field_modes[{_q(key)}]"
        stream, _, fname = str(key).partition(".")
        if stream not in model.STREAMS:
            errors.append(f"{path}: unknown stream {_q(stream)}; expected one of "
                          f"{', '.join(model.STREAMS)}")
            continue
        smodel = model.STREAMS[stream]
        if fname not in smodel.field_names:
            errors.append(f"{path}: unknown field {_q(fname)}; {stream} fields are "
                          f"{', '.join(smodel.field_names)}")
            continue
        if mode not in MODES:
            errors.append(_one_of(path, mode, MODES))
            continue
        if fname == smodel.key and mode != modes[stream][fname]:
            errors.append(f"{path}: {fname} is the match key of {stream}; it always crosses")
            continue
        modes[stream][fname] = mode

    custom: dict[str, dict[str, CustomFieldMap]] = {s: {} for s in CUSTOM_FIELD_OBJECTS}
    for stream, spath, entries in _per_object(config, "custom_fields", CUSTOM_FIELD_OBJECTS,
                                              "an object of title -> key", errors):
        seen_keys: dict[str, str] = {}
        for title, entry in entries.items():
            epath = f"{spath}[{_q(title)}]"
            if isinstance(entry, str):
                key, mode = entry, FILL
            elif isinstance(entry, Mapping):
                key, mode = entry.get("key"), entry.get("mode", FILL)
                extra = set(entry) - {"key", "mode"}
                if extra:
                    errors.append(f"{epath}: unknown setting(s) {', '.join(sorted(extra))}; "
                                  "allowed: key, mode")
                    continue
            else:
                errors.append(f'{epath}: must be "key" or {{"key": ..., "mode": ...}}, '
                              f"got {_q(entry)}")
                continue
            if not isinstance(key, str) or not key.strip():
                errors.append(f"{epath}.key: must be a non-empty string, got {_q(key)}")
                continue
            if mode not in MODES:
                errors.append(_one_of(f"{epath}.mode", mode, MODES))
                continue
            if key in seen_keys:
                errors.append(f"{epath}.key: {_q(key)} is already mapped from "
                              f"{_q(seen_keys[key])}")
                continue
            seen_keys[key] = title
            smodel = model.STREAMS[stream]
            top = key in smodel.field_names
            if top and not smodel.field(key).custom_field_target:
                targets = [f.name for f in smodel.fields if f.custom_field_target]
                errors.append(f"{epath}.key: {_q(key)} is a standard {stream} field; a custom "
                              f"field may land in {', '.join(targets) or 'no standard field'}"
                              " or under any other key")
                continue
            custom[stream][title] = CustomFieldMap(title, key, mode, top)

    unmapped = config.get("unmapped_custom_fields") or UNMAPPED_IMPORT
    if unmapped not in UNMAPPED_CHOICES:
        errors.append(_one_of("unmapped_custom_fields", unmapped, UNMAPPED_CHOICES))

    operations = {s: dict.fromkeys(OPERATIONS, True) for s in OPERATION_OBJECTS}
    for stream, opath, ops in _per_object(config, "operations", OPERATION_OBJECTS,
                                          '{"create": bool, "update": bool}', errors):
        for op, flag in ops.items():
            if op not in OPERATIONS:
                errors.append(_one_of(f"{opath}", op, OPERATIONS))
            elif not isinstance(flag, bool):
                errors.append(f"{opath}.{op}: {_q(flag)} must be true or false")
            else:
                operations[stream][op] = flag

    clear: dict[str, set[str]] = {s: set() for s in model.STREAMS}
    raw_clear = config.get("clear_on_null") or []
    if not isinstance(raw_clear, list):
        errors.append(f"clear_on_null: must be a list, got {_q(raw_clear)}")
        raw_clear = []
    for i, item in enumerate(raw_clear):
        stream, _, rest = str(item).partition(".")
        fname = rest.split(".", 1)[0]
        if stream not in model.STREAMS or fname not in model.STREAMS[stream].field_names:
            errors.append(f"clear_on_null[{i}]: {_q(item)} is not a model field "
                          '("<stream>.<field>" or "<stream>.custom_fields.<key>")')
            continue
        clear[stream].add(rest)

    store_url = config.get("store_url") or None
    if store_url is not None and "://" not in str(store_url):
        errors.append(f"store_url: {_q('<hidden>')} is not a SQLAlchemy URL "
                      "(e.g. duckdb:////path/abmatic.duckdb, postgresql+psycopg://...)")
    buffer_keys = _check_int(config, "dedupe_buffer_keys", errors) or DEFAULT_BUFFER_KEYS
    join_keys = _check_int(config, "join_memory_keys", errors) or DEFAULT_JOIN_MEMORY_KEYS

    if errors:
        raise SettingsError(errors)
    return Settings(
        direction=direction,
        modes=modes,
        custom_fields=custom,
        unmapped_custom_fields=unmapped,
        operations=operations,
        clear_on_null={s: frozenset(v) for s, v in clear.items()},
        store_url=store_url,
        store_schema=config.get("store_schema") or None,
        rejects_path=config.get("rejects_path") or DEFAULT_REJECTS_PATH,
        dedupe_buffer_keys=buffer_keys,
        join_memory_keys=join_keys,
    )


_SNAKE_RE = re.compile(r"[^0-9a-z]+")


@lru_cache(maxsize=4096)  # a custom field's title repeats on every record
def snake_case(title: str) -> str:
    """``"Lead Score (0-100)"`` -> ``"lead_score_0_100"``; the key of an unmapped custom field."""
    key = _SNAKE_RE.sub("_", title.strip().lower()).strip("_")
    return key or "field"


__all__ = ["CONFIG_SCHEMA", "DONT_SYNC", "Settings", "SettingsError", "parse_settings"]
