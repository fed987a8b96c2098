"""How this account differs where real ActiveCampaign accounts differ (spec §11).

Defaults model the harder, documented case; each switch is a keyword of ``Sandbox(...)``
(``Sandbox(behaviour=AccountBehaviour(sideloads=False))``) and a ``--flag`` of the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class AccountBehaviour:
    """Per-account behaviours of the real API that accounts do not all share."""

    # ---- reads ----------------------------------------------------------------------------
    # Object types the API user may not read: their routes answer the permission 403 (§11).
    # "deals" covers /deals*, /deal* (pipelines, stages, deal custom fields) and
    # /contacts/{id}/deals; /users/me (the key check) is never refused. See refusal().
    denied_objects: frozenset[str] = field(default_factory=frozenset)
    # Custom-field meta/data lists document no offset (§11): "all" ignores limit and offset
    # (every row in each answer), "first" honours limit only, "offset" honours both.
    custom_field_paging: str = "all"
    # GET /contacts?segmentid= evaluates asynchronously (§11): this many calls after an
    # evaluation starts answer without members (0 = synchronous). See segment_pending().
    segment_ready_after: int = 1
    # filters[created_*|updated_*] (timezone and granularity [U], §2/§9): "exact" honours
    # offsets to the second; "account-time" ignores any offset and reads the wall time in
    # account time; "account-day" keeps only the date, read in account time; "next-day" keeps
    # only the date and reads "_after" as after that whole day (DATE(udate) > date): a filter
    # shifted later than the value sent (up to a day), the case a client must detect.
    date_filters: str = "exact"
    # Whether a membership change alone (subscribe/unsubscribe, tag added/removed, account
    # linked/unlinked, automation enrolment) bumps the contact's udate: unconfirmed (§11), so
    # by default it does not (the harder case for an incremental reader).
    membership_bumps_udate: bool = False

    # ---- writes ---------------------------------------------------------------------------
    # Whether GET /contacts honours include= (undocumented, §11); False = ignores it.
    sideloads: bool = True
    # Whether GET /contacts honours ids[] (spec §2 [C]); False = it is ignored like an unknown
    # param (§2 Filters: silently, so the unfiltered list comes back).
    ids_filter: bool = True
    # Bulk imports sit in a queue (§11: completion can take minutes on a busy account): > 0
    # processes batches one at a time, each taking this many seconds.
    import_queue_seconds: float = 0.0


def refusal(behaviour: AccountBehaviour, method: str, template: str) -> dict | None:
    """The permission-403 body for a route of a denied object type, else None (spec §11)."""
    parts = [p for p in template.split("/") if p]
    if not parts or parts == ["users", "me"]:
        return None
    for name in sorted(behaviour.denied_objects):
        stem = name[:-1] if name.endswith("s") else name
        if parts[0].startswith(stem) or parts[-1] == name:
            verb = "view" if method == "GET" else "manage"
            return {"errors": [{"status": 403, "title": "Forbidden",
                                "detail": f"You do not have permission to {verb} {name}."}]}
    return None
