"""The Abmatic record model (spec: abmatic-model.md) and the ActiveCampaign push shape.

Everything here is data: stream names, field names and types, default sync modes per
direction, and the output JSON Schemas. No I/O.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from activecampaign_client.sync_rules import DONT_SYNC, FILL, OVERWRITE

IMPORT = "import"
PUSH = "push"
DIRECTIONS = (IMPORT, PUSH)

STRING = {"type": ["string", "null"]}
DATETIME = {"type": ["string", "null"], "format": "date-time"}
NUMBER = {"type": ["number", "null"]}
STRINGS = {"type": ["array", "null"], "items": {"type": "string"}}
OBJECT = {"type": ["object", "null"], "additionalProperties": True}
REQUIRED_STRING = {"type": "string"}


@dataclass(frozen=True)
class Field:
    """One Abmatic field: its JSON Schema, default mode per direction, and push name."""

    name: str
    schema: dict[str, Any]
    import_mode: str | None  # None: not produced on import
    push_name: str | None = None  # None: not pushed as a standard AC field
    push_mode: str | None = None  # None: not annotated (key or additive action)
    custom_field_target: bool = False  # a mapped AC custom field may land here


@dataclass(frozen=True)
class StreamModel:
    name: str
    key: str
    fields: tuple[Field, ...]
    pushable: bool
    push_key: str | None = None

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


CONTACTS = StreamModel(
    name="contacts",
    key="work_email",
    pushable=True,
    push_key="email",
    fields=(
        Field("work_email", REQUIRED_STRING, OVERWRITE, "email"),
        Field("first_name", STRING, FILL, "firstName", FILL),
        Field("last_name", STRING, FILL, "lastName", FILL),
        Field("phone", STRING, FILL, "phone", FILL),
        Field("company_name", STRING, FILL),
        Field("job_title", STRING, FILL, "jobTitle", FILL),
        Field("account_domain", STRING, FILL, "account_domain", FILL),
        Field("lists", STRINGS, OVERWRITE),
        Field("tags", STRINGS, OVERWRITE),
        Field("custom_fields", OBJECT, FILL, "fields"),
        Field("engagement_score", NUMBER, FILL, custom_field_target=True),
        Field("activecampaign_id", STRING, OVERWRITE),
        Field("created_at", DATETIME, FILL),
        Field("updated_at", DATETIME, OVERWRITE),
        # push-only actions (additive: not annotated with a mode)
        Field("add_to_lists", STRINGS, None, "lists"),
        Field("add_tags", STRINGS, None, "tags"),
        Field("start_automations", STRINGS, None, "automations"),
        Field("event", STRING, None, "event"),
    ),
)

ACCOUNTS = StreamModel(
    name="accounts",
    key="website_domain",
    pushable=True,
    push_key="accountUrl",
    fields=(
        Field("website_domain", REQUIRED_STRING, OVERWRITE, "accountUrl"),
        Field("company_name", STRING, FILL, "name", FILL),
        Field("phone", STRING, FILL, custom_field_target=True),
        Field("custom_fields", OBJECT, FILL, "fields"),
        Field("activecampaign_id", STRING, OVERWRITE),
        Field("created_at", DATETIME, FILL),
        Field("updated_at", DATETIME, OVERWRITE),
    ),
)

OPPORTUNITIES = StreamModel(
    name="opportunities",
    key="activecampaign_id",
    pushable=False,
    fields=(
        Field("activecampaign_id", REQUIRED_STRING, OVERWRITE),
        Field("name", STRING, OVERWRITE),
        Field("amount", NUMBER, OVERWRITE),
        Field("currency", STRING, OVERWRITE),
        Field("status", STRING, OVERWRITE),
        Field("pipeline", STRING, OVERWRITE),
        Field("stage", STRING, OVERWRITE),
        Field("account_domain", STRING, OVERWRITE),
        Field("contact_email", STRING, OVERWRITE),
        Field("custom_fields", OBJECT, OVERWRITE),
        Field("created_at", DATETIME, OVERWRITE),
        Field("updated_at", DATETIME, OVERWRITE),
    ),
)

STREAMS: dict[str, StreamModel] = {s.name: s for s in (CONTACTS, ACCOUNTS, OPPORTUNITIES)}
# Streams pushed to ActiveCampaign (named as its objects), accounts first: a flush writes them
# before the contacts that link to them. Per stream: Abmatic field -> push record field.
PUSH_STREAMS = ("accounts", "contacts")
PUSH_NAMES: dict[str, dict[str, str]] = {
    name: {f.name: f.push_name for f in STREAMS[name].fields if f.push_name}
    for name in PUSH_STREAMS
}

# ActiveCampaign (tap) stream that feeds each Abmatic stream on import.
IMPORT_SOURCES = {"contacts": "contacts", "accounts": "accounts", "deals": "opportunities"}

# Tap streams read only for joins (never emitted), and tap streams ignored entirely.
JOIN_STREAMS = frozenset(
    {"lists", "tags", "deal_pipelines", "deal_stages", "account_contacts",
     "contact_lists", "contact_tags"}
)

STATUS_NAMES = {0: "open", 1: "won", 2: "lost"}

_KEY_SCHEMA = {"type": "string"}


def import_fields(stream: str) -> tuple[Field, ...]:
    """Fields an import produces for ``stream``."""
    return tuple(f for f in STREAMS[stream].fields if f.import_mode is not None)


def import_schema(stream: str, excluded: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The SCHEMA message body of an Abmatic output stream (import direction)."""
    model = STREAMS[stream]
    props = {
        f.name: copy.deepcopy(f.schema)
        for f in import_fields(stream)
        if f.name not in excluded or f.name == model.key
    }
    return {"type": "object", "properties": props, "required": [model.key]}


PUSH_CONTACT_PROPERTIES: dict[str, dict[str, Any]] = {
    "email": _KEY_SCHEMA,
    "firstName": STRING,
    "lastName": STRING,
    "phone": STRING,
    "account_domain": STRING,
    "jobTitle": STRING,
    "fields": OBJECT,
    "lists": STRINGS,
    "tags": STRINGS,
    "automations": STRINGS,
    "event": STRING,
}
PUSH_ACCOUNT_PROPERTIES: dict[str, dict[str, Any]] = {
    "accountUrl": _KEY_SCHEMA,
    "name": STRING,
    "fields": OBJECT,
}
PUSH_PROPERTIES = {"contacts": PUSH_CONTACT_PROPERTIES, "accounts": PUSH_ACCOUNT_PROPERTIES}


def push_schema(stream: str, excluded: frozenset[str], x_sync: dict[str, Any]) -> dict[str, Any]:
    """The SCHEMA message body of an ActiveCampaign push stream, with ``x-sync``."""
    model = STREAMS[stream]
    props = {
        k: copy.deepcopy(v)
        for k, v in PUSH_PROPERTIES[stream].items()
        if k not in excluded or k == model.push_key
    }
    return {
        "type": "object",
        "properties": props,
        "required": [model.push_key],
        "x-sync": x_sync,
    }


def default_mode(stream: str, field: str, direction: str) -> str:
    """The model's default mode for a field in a direction (``dont_sync`` if it never crosses)."""
    f = STREAMS[stream].field(field)
    if direction == IMPORT:
        return f.import_mode or DONT_SYNC
    if f.push_name is None and not f.custom_field_target:
        return DONT_SYNC
    return f.push_mode or OVERWRITE
