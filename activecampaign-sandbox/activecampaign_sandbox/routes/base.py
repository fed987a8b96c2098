"""What every route shares: the request, the router, and list/get/update/delete by table.

Handlers run with ``store.lock`` held (the server takes it) and return ``(status, body)``;
``find`` raises ``Answered`` with the object's 404, which the router turns into the answer.
Paths, wrapper keys, ``meta`` and 404 model names come from ``activecampaign_client.OBJECTS``;
``GENERIC`` says which plain routes each object has (the special ones live in the resource
modules next to this one).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, TypeVar

from activecampaign_client.objects import OBJECTS
from activecampaign_sandbox.behaviour import AccountBehaviour
from activecampaign_sandbox.clock import iso, naive_local
from activecampaign_sandbox.envelopes import (
    Answer,
    not_found,
    not_found_errors,
    one,
    paging,
    to_int,
    unprocessable,
    with_links,
)
from activecampaign_sandbox.store import Obj, Params, Store

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
FIELD_TYPES = {"text", "textarea", "date", "datetime", "dropdown", "listbox", "radio",
               "checkbox", "hidden", "number", "multiselect", "currency"}
OFFSET_RE = re.compile(r"\s*(Z|[+-]\d{2}:?\d{2})$")


@dataclass
class Request:
    method: str
    path: str
    params: Params
    body: Any
    base: str
    raw_body_size: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


Handler = Callable[..., Answer]
F = TypeVar("F", bound=Callable[..., Any])


def route(method: str, template: str) -> Callable[[F], F]:
    """Marks a handler method as the answer to ``method template`` (``register_routes``)."""
    def mark(handler: F) -> F:
        handler.__dict__.setdefault("routes", []).append((method, template))
        return handler
    return mark


@dataclass(frozen=True)
class Generic:
    """The plain routes of one object: ``verbs`` from L(ist) G(et) U(pdate) D(elete);
    list ``filters`` (query ``filters[param]`` -> stored field); ``writable`` fields of a PUT;
    ``contact_link``: a DELETE is a membership change of the contact, with no cascade."""

    verbs: str
    filters: dict[str, str] = field(default_factory=dict)
    writable: tuple[str, ...] = ()
    contact_link: bool = False


def _custom_data_filter(kind: str) -> dict[str, str]:
    return {"customerAccountId" if kind == "account" else "dealId":
            "accountId" if kind == "account" else "dealId"}


GENERIC: dict[str, Generic] = {
    "users": Generic("LG"),
    "fields": Generic("D"),
    "fieldValues": Generic("G"),
    "accountContacts": Generic("LG", {"contact": "contact", "account": "account"}),
    **{f"{kind}CustomFieldMeta": Generic("LG") for kind in ("account", "deal")},
    **{f"{kind}CustomFieldData": Generic("LG", _custom_data_filter(kind))
       for kind in ("account", "deal")},
    "deals": Generic("GD"),
    "dealGroups": Generic("GUD", writable=("title", "currency", "allgroups", "allusers",
                                           "autoassign")),
    "dealStages": Generic("LGUD", {"d_groupid": "group", "title": "title"},
                          ("title", "color", "order", "width")),
    "lists": Generic("LGUD", {"name": "name"},
                     ("name", "stringid", "sender_url", "sender_reminder")),
    "contactLists": Generic("LG", {"contact": "contact", "list": "list"}),
    "tags": Generic("GD"),
    "contactTags": Generic("LGD", {"contact": "contact", "tag": "tag"}, contact_link=True),
    "segments": Generic("LG"),
    "automations": Generic("G"),
    "contactAutomations": Generic("LGD", {"contact": "contact", "seriesid": "seriesid",
                                          "automation": "seriesid"}, contact_link=True),
}
# What deleting an object deletes with it: child table -> its key to the parent.
CASCADES: dict[str, list[tuple[str, str]]] = {
    "lists": [("contactLists", "list")], "tags": [("contactTags", "tag")],
    "deals": [("dealCustomFieldData", "dealId")], "dealGroups": [("dealStages", "group")],
    "fields": [("fieldValues", "field"), ("fieldOptions", "field"), ("fieldRels", "field")]}


class Answered(Exception):
    """Ends a handler early with this answer (a 404 from ``find``)."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer[0])
        self.answer = answer


def _answering(handler: Handler) -> Handler:
    def run(req: Request, *args: str) -> Answer:
        try:
            return handler(req, *args)
        except Answered as answered:
            return answered.answer
    return run


def _next_day(value: str) -> str:
    """The day after a filter value's date (an unreadable value is left as sent)."""
    try:
        return (date.fromisoformat(value[:10]) + timedelta(days=1)).isoformat()
    except ValueError:
        return value


def is_valid_email(value: str) -> bool:
    return bool(EMAIL_RE.match(value))


def body_obj(req: Request, key: str) -> Obj | None:
    """The object under the singular wrapper key, or None when the body has none."""
    if isinstance(req.body, dict) and isinstance(req.body.get(key), dict):
        return req.body[key]
    return None


def text(value: Any) -> str:
    return "" if value is None else str(value)


def required(data: Obj, key: str, title: str) -> str:
    """The stripped text of a required attribute, or ``Answered`` with its 422."""
    value = text(data.get(key)).strip()
    if not value:
        raise Answered(unprocessable("field_missing", title, key))
    return value


def required_ids(data: Obj, attrs: tuple[str, ...], capitalized: bool = False) -> None:
    """Each attribute holds an id, or ``Answered`` with the 422 of the first that does not."""
    for attr in attrs:
        if to_int(data.get(attr)) is None:
            name = attr.capitalize() if capitalized else attr
            raise Answered(unprocessable("field_missing", f"{name} is required", attr))


class Routes:
    """The router and the generic handlers; resource mixins add the special routes."""

    required = staticmethod(required)
    required_ids = staticmethod(required_ids)

    def __init__(self, store: Store, behaviour: AccountBehaviour | None = None) -> None:
        self.store = store
        self.behaviour = behaviour or AccountBehaviour()
        # segment id -> [evaluation start (store clock), calls still answered "not ready"]
        self.segment_runs: dict[int, list[float]] = {}
        self.routes: list[tuple[str, tuple[str, ...], str, Handler]] = []
        self.extra_handlers: dict[str, Handler] = {}

    # ---- routing ------------------------------------------------------------------------
    def add(self, method: str, template: str, handler: Handler) -> None:
        parts = tuple(p for p in template.split("/") if p)
        self.routes.append((method, parts, template, _answering(handler)))

    def match(self, method: str, path: str) -> tuple[str, Handler, list[str]] | None:
        parts = [p for p in path.split("/") if p]
        for r_method, r_parts, template, handler in self.routes:
            if r_method != method or len(r_parts) != len(parts):
                continue
            args = []
            for want, got in zip(r_parts, parts, strict=True):
                if want == "{id}":
                    args.append(got)
                elif want != got:
                    break
            else:
                return template, handler, args
        return None

    def register_routes(self) -> None:
        """Every ``@route`` handler of this class and its mixins."""
        for cls in reversed(type(self).__mro__):
            for name, member in vars(cls).items():
                for method, template in getattr(member, "routes", ()):
                    self.add(method, template, getattr(self, name))

    def register_generic(self) -> None:
        """The plain routes of every ``GENERIC`` object, after the special ones."""
        taken = {(method, template) for method, _, template, _ in self.routes}
        for kind, spec in GENERIC.items():
            path = f"/{OBJECTS[kind].path}"
            for verb, method, template in (("L", "GET", path), ("G", "GET", f"{path}/{{id}}"),
                                           ("U", "PUT", f"{path}/{{id}}"),
                                           ("D", "DELETE", f"{path}/{{id}}")):
                if verb in spec.verbs and (method, template) not in taken:
                    self.add(method, template, self._generic(kind, spec, verb))

    def _generic(self, kind: str, spec: Generic, verb: str) -> Handler:
        if verb == "L":
            return self.filtered_list(kind, spec.filters)
        if verb == "G":
            return self.simple_get(kind)
        if verb == "U":
            return self.simple_update(kind, spec.writable)
        return self.contact_link_delete(kind) if spec.contact_link else self.simple_delete(kind)

    # ---- generic pieces -------------------------------------------------------------------
    def out(self, req: Request, kind: str, obj: Obj) -> Obj:
        return with_links(req.base, kind, obj)

    def find(self, kind: str, oid: Any) -> Obj:
        """The stored object, or ``Answered`` with the 404 ActiveCampaign gives for it."""
        obj = self.store[kind].get(oid)
        if obj is None:
            model = OBJECTS[kind].model
            raise Answered(not_found(model, oid) if model else not_found_errors())
        return obj

    def page(self, req: Request, kind: str, ids: list[int], *, has_meta: bool = True,
             total_is_int: bool = False) -> tuple[list[Obj], Obj]:
        limit, offset = paging(req.params)
        if not OBJECTS[kind].offset_paging:
            # these document no offset (spec §11): AccountBehaviour.custom_field_paging
            mode = self.behaviour.custom_field_paging
            if mode == "all":
                limit, offset = len(ids), 0
            elif mode == "first":
                offset = 0
        rows = self.store[kind].rows
        items = [self.out(req, kind, rows[i]) for i in ids[offset:offset + limit]]
        meta: Obj = {"total": len(ids) if total_is_int else str(len(ids))}
        return items, meta if has_meta else {}

    def filtered_list(self, kind: str, filter_map: dict[str, str]) -> Handler:
        has_meta = OBJECTS[kind].has_meta

        def handler(req: Request) -> Answer:
            ids = self.store.query_table(kind, self.equal_filters(kind, req.params, filter_map))
            items, meta = self.page(req, kind, ids, has_meta=has_meta)
            body: Obj = {kind: items}
            if has_meta:
                body["meta"] = meta
            return 200, body
        return handler

    def equal_filters(self, kind: str, params: Params,
                      filter_map: dict[str, str]) -> dict[str, str]:
        """``filters[param]=value`` query parameters -> {stored field: value} (blank: none)."""
        filters = {}
        for param, field_name in filter_map.items():
            value = one(params, f"filters[{param}]")
            if value not in (None, ""):
                filters[field_name] = self._filter_value(kind, field_name, value)
        return filters

    @staticmethod
    def _filter_value(kind: str, field_name: str, value: str) -> str:
        if field_name in ("accountId", "dealId"):
            number = to_int(value)
            return str(number) if number is not None else value
        return value

    def simple_get(self, kind: str) -> Handler:
        def handler(req: Request, oid: str) -> Answer:
            return 200, {OBJECTS[kind].singular_key: self.out(req, kind, self.find(kind, oid))}
        return handler

    def simple_update(self, kind: str, writable: tuple[str, ...]) -> Handler:
        singular = OBJECTS[kind].singular_key

        def handler(req: Request, oid: str) -> Answer:
            obj = self.find(kind, oid)
            data = body_obj(req, singular) or {}
            changes = {k: text(v) for k, v in data.items() if k in writable}
            ts = self.store.clock()
            for stamp in ("udate", "mdate"):
                if stamp in obj:
                    changes[stamp] = iso(ts)
            if "updated_timestamp" in obj:
                changes["updated_timestamp"] = naive_local(ts)
            self.store[kind].update(int(oid), changes)
            self.store.dirty()
            return 200, {singular: self.out(req, kind, obj)}
        return handler

    def simple_delete(self, kind: str) -> Handler:
        def handler(req: Request, oid: str) -> Answer:
            self.find(kind, oid)
            self._cascade_delete(kind, int(oid))
            return 200, {}
        return handler

    def _cascade_delete(self, kind: str, oid: int) -> None:
        store = self.store
        store[kind].delete(oid)
        for child, key in CASCADES.get(kind, []):
            for cid in store[child].where(key, oid):
                store[child].delete(cid)
        store.dirty()

    def contact_link_delete(self, kind: str) -> Handler:
        def handler(req: Request, oid: str) -> Answer:
            obj = self.find(kind, oid)
            self.store[kind].delete(int(oid))
            self.membership_changed(obj["contact"])
            self.store.dirty()
            return 200, {}
        return handler

    def membership_changed(self, contact_id: Any, ts: float | None = None) -> None:
        """A list, tag, account or automation link of the contact changed: its ``udate``
        moves only on an account that does that (unconfirmed, spec §11)."""
        if self.behaviour.membership_bumps_udate:
            self.store.touch_contacts([contact_id], ts)

    # ---- shared by several resources ---------------------------------------------------------
    def dated(self, params: Params) -> Params:
        """``filters[created_*|updated_*]`` as this account reads them (timezone and
        granularity [U], spec §2/§9): AccountBehaviour.date_filters."""
        mode = self.behaviour.date_filters
        if mode == "exact":
            return params
        out = dict(params)
        for key, values in params.items():
            if key.startswith("filters[") and key.endswith(("_after]", "_before]")) and values:
                value = values[-1].strip()
                wall = OFFSET_RE.sub("", value) if len(value) > 10 else value  # offset ignored
                if mode == "next-day" and key.endswith("_after]"):
                    wall = _next_day(wall)  # "after 1 March" as DATE(udate) > 1 March
                out[key] = [wall[:10] if mode in ("account-day", "next-day") else wall]
        return out

    def _currency_problem(self, kind: str, item: Any, where: str = "") -> Answer | None:
        """A currency field's value needs fieldCurrency and is whole cents (spec §5.4, §11);
        other field types are not checked here."""
        if not isinstance(item, dict):
            return None
        meta = self.store[f"{kind}CustomFieldMeta"].get(to_int(item.get("customFieldId")))
        value = item.get("fieldValue")
        if meta is None or meta.get("fieldType") != "currency" or value in (None, ""):
            return None
        if not text(item.get("fieldCurrency")).strip():
            return unprocessable("field_missing", "fieldCurrency is required for a currency "
                                 "field", f"{where}fieldCurrency")
        if not re.fullmatch(r"-?\d+", text(value).strip()):
            return unprocessable("field_invalid", "A currency field value needs to be in cents",
                                 f"{where}fieldValue")
        return None
