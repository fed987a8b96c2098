"""Accounts: matched by the normalized domain of their website; the plan (pure), the reads
of their custom field values, the writes, and the sink."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from activecampaign_client import normalize_domain
from activecampaign_client.objects import OBJECTS
from activecampaign_client.sync_rules import is_empty
from target_activecampaign import money
from target_activecampaign.context import PAGE, RunContext, unwrap, wrap
from target_activecampaign.current import CurrentAccount
from target_activecampaign.fields import (
    FieldCatalog,
    FieldDef,
    RecordError,
    check_text,
    custom_value,
)
from target_activecampaign.outcomes import written
from target_activecampaign.rules import (
    Change,
    Plan,
    SyncRules,
    api_id,
    apply_operations,
    custom_field_decision,
    field_decision,
    standard_same,
)
from target_activecampaign.sinks import PushSink

ACCOUNT = OBJECTS["accounts"].singular_key
_NULLABLE_STRING = {"type": ["string", "null"]}
ACCOUNT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "accountUrl": {"type": "string"},
        "name": _NULLABLE_STRING,
        "fields": {"type": ["object", "null"], "additionalProperties": True},
    },
    "required": ["accountUrl"],
}


@dataclass(kw_only=True)
class AccountPlan(Plan, stream="accounts", key=("domain", "accountUrl")):
    """What to do for one account record."""

    domain: str
    current: CurrentAccount | None = None
    body: dict[str, Any] = field(default_factory=dict)  # the request body, wrapped

    @property
    def account(self) -> dict[str, Any]:
        """The account fields sent (the body without its wrapper)."""
        return dict(self.body.get(ACCOUNT) or {})


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
    write, name = field_decision("name", record, cur_name, rules, standard_same)
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
            same: Callable[[Any, Any], bool] | None = None
            if fd.type.lower() == "currency":  # cents + fieldCurrency, compared in cents
                value, currency = _money(fd, raw, default_currency)
                cur_currency = (current.field_currencies.get(fd.id) if current is not None
                                else None)
                same = _cents_same(cur_currency, currency)
            else:
                value = custom_value(fd, raw)
            write, out = custom_field_decision(key, fd, value, cur_value, rules, same)
            if write:
                item: dict[str, Any] = {"customFieldId": api_id(fd.id), "fieldValue": out}
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
    apply_operations(plan, rules, exists=current is not None, changed=bool(body))
    plan.body = wrap("accounts", body)
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


def _store_values(account: CurrentAccount, data: Iterable[Mapping[str, Any]], *,
                  reset: bool) -> None:
    """Custom field values (currency ones in cents) and their currencies into ``account``:
    all of them as read (``reset``), or those just written on top of what it held."""
    if reset:
        account.field_values = {}
    values = account.field_values if account.field_values is not None else {}
    for d in data:
        fid = str(d.get("customFieldId"))
        if not reset or d.get("fieldValue") not in (None, ""):
            values[fid] = str(d["fieldValue"])
        if d.get("fieldCurrency"):
            account.field_currencies[fid] = str(d["fieldCurrency"])


def _owner(d: Mapping[str, Any], default: str | None = None) -> str:
    return str(d.get("accountId") or d.get("customerAccountId") or default)


def read_values(ctx: RunContext, accounts: Iterable[CurrentAccount]) -> None:
    """Fill ``field_values`` of these accounts (needed for fill mode and no-change checks):
    the whole table when that costs fewer requests, else (or when the table cannot be paged
    to its end: an endpoint that ignores offset) one filtered read per account."""
    todo = [a for a in accounts if a.field_values is None and not a.id.startswith("dry-run")]
    if not todo:
        return
    n_fields = max(1, len(ctx.account_fields().defs))
    scan_cost = math.ceil(len(ctx.account_names) * n_fields / PAGE) + 1
    table, complete = ([], False) if scan_cost >= len(todo) else ctx.read_pages(
        "accountCustomFieldData")
    if complete:
        by_account: dict[str, list[dict[str, Any]]] = {}
        for d in table:
            by_account.setdefault(_owner(d), []).append(d)
        for acc in todo:
            _store_values(acc, by_account.get(acc.id, []), reset=True)
        return
    for acc in todo:
        items = ctx.get_all("accountCustomFieldData", {"filters[customerAccountId]": acc.id})
        _store_values(acc, [d for d in items if _owner(d, acc.id) == acc.id], reset=True)


def write_account(ctx: RunContext, plan: AccountPlan) -> None:
    sent = plan.account
    if plan.action == "create":
        name, domain = sent["name"], plan.domain
        body = ctx.create("accounts", sent, lambda: ctx.find(
            "accounts", {"search": name, "limit": PAGE}, lambda acc: str(
                acc.get("name") or "").strip().lower() == name.strip().lower() or bool(
                domain and normalize_domain(acc.get("accountUrl")) == domain)))
        acc = unwrap("accounts", body)
        created = CurrentAccount(str(acc.get("id")), str(acc.get("name") or name),
                                 acc.get("accountUrl") or sent.get("accountUrl"), domain)
        _store_values(created, sent.get("fields") or [], reset=True)
        ctx.remember_account(created)
        return
    cur = plan.current
    assert cur is not None
    ctx.session.put(f"{OBJECTS['accounts'].path}/{cur.id}", plan.body)
    if "name" in sent:
        cur.name = sent["name"]
        ctx.account_names[cur.id] = cur.name
    _store_values(cur, sent.get("fields") or [], reset=False)


class AccountsSink(PushSink):
    """Accounts matched by the normalized domain of their website."""

    schema_shape = ACCOUNT_SCHEMA
    key_field = AccountPlan.key_field
    object_name = AccountPlan.object_name

    @staticmethod
    def record_key(record: Mapping[str, Any]) -> str | None:
        return normalize_domain(record.get("accountUrl"))

    def write_batch(self, ctx: RunContext, records: list[dict[str, Any]]) -> None:
        index = ctx.accounts()
        catalog = ctx.account_fields() if any(r.get("fields") for r in records) \
            else FieldCatalog([])
        matched = [index[d] for r in records if r.get("fields")
                   and (d := self.record_key(r) or "") in index]
        if matched:
            read_values(ctx, matched)
        currency = str(self.target.config.get("default_currency") or money.DEFAULT_CURRENCY)
        for rec in records:
            plan = plan_account(rec, index.get(self.record_key(rec) or ""), self.rules, catalog,
                                currency)
            if ctx.outcomes.settle(plan, self.x_sync):
                continue
            if ctx.dry_run:
                if plan.action == "create":  # later contacts in this dry run may link to it
                    ctx.remember_account(CurrentAccount(
                        f"dry-run:{plan.domain}", plan.account["name"],
                        plan.account.get("accountUrl"), plan.domain, {}))
                ctx.outcomes.dry_run(plan, self.x_sync)
                continue
            ok, _ = ctx.outcomes.attempt(plan, functools.partial(write_account, ctx, plan),
                                         self.x_sync)
            if ok:
                ctx.outcomes.finish(plan, *written(plan), self.x_sync)
                self.tally_record_written()
