"""Contacts: matched by normalized email; the plan (pure), the writes, and the sink.

``plan_contact`` decides create / update / unchanged / skip / reject for one record from what
ActiveCampaign holds (``current``) and the stream's sync rules; the writes carry the plan out
with ``contact/sync`` and the follow-ups (account link, tags, lists, automations), or hand a
large batch to ``bulk``. The current state comes from ``contact_index``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from activecampaign_client import normalize_domain, normalize_email
from activecampaign_client.normalize import email_problem
from activecampaign_client.sync_rules import is_empty
from target_activecampaign import bulk
from target_activecampaign.context import RunContext, unwrap
from target_activecampaign.current import (
    STANDARD_CONTACT_FIELDS,
    CurrentAccount,
    CurrentContact,
    References,
)
from target_activecampaign.fields import RecordError, check_text, custom_value
from target_activecampaign.outcomes import refusable, written
from target_activecampaign.rules import (
    Change,
    Plan,
    SyncRules,
    apply_operations,
    custom_field_decision,
    field_decision,
    standard_same,
)
from target_activecampaign.sinks import PushSink

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


@dataclass(kw_only=True)
class ContactPlan(Plan, stream="contacts", key=("email", "email"), has_event=True):
    """What to do for one contact record."""

    email: str
    current: CurrentContact | None = None
    standard: dict[str, str] = field(default_factory=dict)
    field_values: dict[str, str] = field(default_factory=dict)  # field id -> value
    tags_to_add: list[str] = field(default_factory=list)  # names
    lists_to_add: list[str] = field(default_factory=list)  # list ids
    account: CurrentAccount | None = None  # link to create
    job_title: str | None = None
    update_job_title: bool = False
    automations: list[str] = field(default_factory=list)  # automation ids

    @property
    def needs_contact_write(self) -> bool:
        return bool(self.action == "create" or self.standard or self.field_values)


def plan_contact(
    record: Mapping[str, Any], current: CurrentContact | None, rules: SyncRules, refs: References,
) -> ContactPlan:
    """Decide create / update / unchanged / skip / reject for one contact record (pure)."""
    email = normalize_email(record.get("email")) or ""
    plan = ContactPlan(email=email, record=dict(record), action="unchanged", current=current)
    problem = email_problem(record.get("email"))  # the same reason as the mapper's
    if problem is not None:
        plan.action, plan.message = "reject", (
            f"Invalid email address {record.get('email')!r} in field 'email': {problem}.")
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
    apply_operations(plan, rules, exists=current is not None, changed=bool(plan.changes))
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
        write, value = field_decision(key, record, cur_value, rules, standard_same)
        if write:
            plan.standard[key] = str(value).strip()
            plan.changes.append(Change(key, cur_value, plan.standard[key]))
    custom = record.get("fields") or {}
    if not isinstance(custom, Mapping):
        raise RecordError(f"'fields' must be an object keyed by field title, got {custom!r}.")
    for key, raw in custom.items():
        fd = refs.fields.require(str(key), "contact")
        cur_value = current.field_values.get(fd.id) if current is not None else None
        write, out = custom_field_decision(key, fd, custom_value(fd, raw), cur_value, rules)
        if write:
            plan.field_values[fd.id] = out
            plan.changes.append(Change(f"fields.{key}", cur_value, out))


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
    write, value = field_decision("jobTitle", record, cur_title, rules, standard_same)
    if write:
        plan.job_title, plan.update_job_title = str(value).strip(), True
        plan.changes.append(Change("jobTitle", cur_title, plan.job_title))


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


# --------------------------------------------------------------------------- writes


def ensure_tag(ctx: RunContext, name: str) -> str:
    tags = ctx.tags()
    tag_id = tags.find(name)
    if tag_id is None:
        body = ctx.create("tags", {"tag": name, "tagType": "contact", "description": ""},
                          lambda: ctx.find("tags", {"search": name, "limit": 100}, lambda t: str(
                              t.get("tag") or "").strip().lower() == name.strip().lower()))
        tag_id = str(unwrap("tags", body)["id"])
        tags.add(tag_id, name)
    return tag_id


def write_sync(ctx: RunContext, plan: ContactPlan) -> str:
    """Write one contact with ``contact/sync`` and its links; returns the contact id."""
    contact_id = plan.current.id if plan.current is not None else None
    if plan.needs_contact_write or not contact_id:
        body = ctx.session.post("contact/sync", sync_body(plan))
        ctx.write_paths["sync_requests"] += 1
        contact_id = str(unwrap("contacts", body)["id"])
    if plan.account is not None:
        link: dict[str, Any] = {"account": plan.account.id, "contact": contact_id}
        if plan.job_title:
            link["jobTitle"] = plan.job_title
        account_id, name = plan.account.id, plan.account.name
        if not refusable(plan, f"Not linked to account {name!r}", ctx.create, "accountContacts",
                         link, lambda: ctx.find(
                             "accountContacts", {"filters[contact]": contact_id},
                             lambda ln: str(ln.get("contact")) == contact_id
                             and str(ln.get("account")) == account_id)):
            plan.account = None
    elif plan.update_job_title and plan.current is not None and \
            plan.current.account_contact_id and \
            not write_job_title(ctx, plan, plan.current.account_contact_id):
        plan.update_job_title = False
    for tag in list(plan.tags_to_add):
        if not refusable(plan, f"Tag {tag!r} not added", _tag, ctx, contact_id, tag):
            plan.tags_to_add.remove(tag)
    for list_id in list(plan.lists_to_add):
        if not refusable(plan, f"Not subscribed to list {ctx.lists().names.get(list_id)!r}",
                         ctx.session.post, "contactLists", {"contactList": {
                             "list": list_id, "contact": contact_id, "status": 1}}):
            plan.lists_to_add.remove(list_id)
    start_automations(ctx, plan, contact_id)
    return contact_id


def write_job_title(ctx: RunContext, plan: ContactPlan, link_id: str) -> bool:
    """The job title on an existing account link; False when ActiveCampaign refused it."""
    return refusable(plan, "Job title not written", ctx.session.put,
                     f"accountContacts/{link_id}", {"accountContact": {
                         "jobTitle": plan.job_title}})


def _tag(ctx: RunContext, contact_id: str, name: str) -> None:
    ctx.session.post("contactTags", {"contactTag": {"contact": contact_id,
                                                    "tag": ensure_tag(ctx, name)}})


def start_automations(ctx: RunContext, plan: ContactPlan, contact_id: str) -> None:
    """Enrol in each automation; one AC refuses (e.g. not active: 403 "Could not create
    SubscriberSeries") is a warning for this record, never retried."""
    for auto_id in list(plan.automations):
        if not refusable(plan, f"Not enrolled in automation "
                         f"{ctx.automations().names.get(auto_id, auto_id)!r}",
                         ctx.create, "contactAutomations", {
                             "contact": contact_id, "automation": auto_id},
                         functools.partial(_find_enrolment, ctx, contact_id, auto_id)):
            plan.automations.remove(auto_id)


def _find_enrolment(ctx: RunContext, contact_id: str, automation_id: str,
                    ) -> dict[str, Any] | None:
    return ctx.find("contactAutomations", {}, lambda item: str(
        item.get("automation") or item.get("seriesid")) == automation_id,
        path=f"contacts/{contact_id}/contactAutomations")


# --------------------------------------------------------------------------- the sink


class ContactsSink(PushSink):
    """Contacts matched by normalized email; bulk import for large batches, sync for small."""

    schema_shape = CONTACT_SCHEMA
    key_field = ContactPlan.key_field
    object_name = ContactPlan.object_name
    after = ("accounts",)  # contacts link to the accounts of the same push

    @staticmethod
    def record_key(record: Mapping[str, Any]) -> str | None:
        return normalize_email(record.get("email"))

    def write_batch(self, ctx: RunContext, records: list[dict[str, Any]]) -> None:
        refs = ctx.references(records)
        # Only what the plans compare: an account that ignores include= makes each one a read.
        includes = set()
        if any(r.get("fields") for r in records):
            includes.add("fieldValues")
        if any(r.get("account_domain") for r in records):
            includes.add("accountContacts")
        if refs.sync_tag or any(r.get("tags") for r in records):
            includes.add("contactTags")
        if refs.default_list or any(r.get("lists") for r in records):
            includes.add("contactLists")
        keys = [self.record_key(r) or "" for r in records]
        current = ctx.contacts.current_contacts([k for k in keys if k], includes)
        for rec, key in zip(records, keys, strict=True):
            cur = current.get(key)
            if cur is not None and rec.get("automations") and cur.automation_ids is None:
                ctx.contacts.read_automations(cur)
        plans = [plan_contact(rec, current.get(key), self.rules, refs)
                 for rec, key in zip(records, keys, strict=True)]
        writes = [pl for pl in plans if not ctx.outcomes.settle(pl, self.x_sync)]
        if ctx.dry_run:
            for pl in writes:
                ctx.outcomes.dry_run(pl, self.x_sync)
            return
        if len(writes) >= ctx.bulk_threshold:
            results = bulk.write_bulk(ctx, writes, includes)
            for pl in writes:
                ctx.outcomes.finish(pl, *results[pl.email], self.x_sync)
            self.tally_record_written(sum(1 for o, _ in results.values()
                                          if o in ("created", "updated")))
            return
        for pl in writes:
            ok, contact_id = ctx.outcomes.attempt(pl, functools.partial(write_sync, ctx, pl),
                                                  self.x_sync)
            if ok:
                ctx.contacts.apply(pl, contact_id)
                ctx.outcomes.finish(pl, *written(pl), self.x_sync)
                self.tally_record_written()
