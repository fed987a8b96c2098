"""Pure helpers that shape answers the way ActiveCampaign does: paging, errors, links."""

from __future__ import annotations

from typing import Any

from activecampaign_sandbox.store import Obj, Params

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
Answer = tuple[int, Any]

LINK_RELS: dict[str, tuple[str, ...]] = {
    "contacts": ("bounceLogs", "contactAutomations", "contactData", "contactGoals",
                 "contactLists", "contactLogs", "contactTags", "contactDeals", "deals",
                 "fieldValues", "geoIps", "notes", "organization", "plusAppend",
                 "trackingLogs", "scoreValues", "accountContacts", "automationEntryCounts"),
    "accounts": ("notes", "accountCustomFieldData", "accountContacts"),
    "accountContacts": ("account", "contact"),
    "deals": ("dealActivities", "contact", "contactDeals", "group", "nextTask", "notes",
              "account", "customerAccount", "organization", "owner", "scoreValues", "stage",
              "tasks", "dealCustomFieldData"),
    "fields": ("options", "relations"),
    "fieldValues": ("owner", "field"),
    "fieldOptions": ("field",),
    "fieldRels": ("field",),
    "lists": ("contactGoalLists", "user", "addressLists"),
    "contactLists": ("automation", "list", "contact", "form", "autosyncLog", "campaign",
                     "unsubscribeAutomation", "message"),
    "tags": ("contactGoalTags",),
    "contactTags": ("contact", "tag"),
    "contactAutomations": ("automation", "contact", "contactGoals"),
    "automations": ("campaigns", "contactGoals", "contactAutomations", "blocks", "goals",
                    "sms", "sitemessages"),
    "dealGroups": ("stages", "dealGroupGroups"),
    "dealStages": ("group",),
    "users": ("lists", "userGroup", "dealGroupTotals", "dealGroupUsers", "configs"),
    "segments": (),
    "accountCustomFieldMeta": (),
    "accountCustomFieldData": (),
    "dealCustomFieldMeta": (),
    "dealCustomFieldData": (),
}


def one(params: Params, key: str) -> str | None:
    """The last value of a query parameter (what PHP does with repeated keys)."""
    values = params.get(key)
    return values[-1] if values else None


def paging(params: Params) -> tuple[int, int]:
    """``limit`` (default 20, clamped to 1..100 [U]) and ``offset`` (default 0)."""
    try:
        limit = int(one(params, "limit") or DEFAULT_LIMIT)
    except ValueError:
        limit = DEFAULT_LIMIT
    try:
        offset = max(0, int(one(params, "offset") or 0))
    except ValueError:
        offset = 0
    if limit <= 0:
        limit = DEFAULT_LIMIT
    return min(limit, MAX_LIMIT), offset


def with_links(base: str, kind: str, obj: Obj) -> Obj:
    """A copy of a stored object with its ``links`` (relation -> URL)."""
    oid = obj.get("id")
    rels = LINK_RELS.get(kind, ())
    out = dict(obj)
    out["links"] = {rel: f"{base}/api/3/{kind}/{oid}/{rel}" for rel in rels}
    return out


def not_found(model: str, oid: Any) -> Answer:
    return 404, {"message": f"No Result found for {model} with id {oid}"}


def not_found_errors(detail: str | None = None) -> Answer:
    err: Obj = {"status": 404, "title": "Not Found"}
    if detail:
        err["detail"] = detail
    return 404, {"errors": [err]}


def unprocessable(code: str, title: str, attribute: str) -> Answer:
    """The documented 422 body: ``errors[]`` with title, detail, code and a JSON pointer."""
    return 422, {"errors": [{"title": title, "detail": "", "code": code,
                             "source": {"pointer": f"/data/attributes/{attribute}"}}]}


def duplicate_email() -> Answer:
    return unprocessable("duplicate", "Email address already exists in the system", "email")


def bad_request() -> Answer:
    return 400, {}


def to_int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None
