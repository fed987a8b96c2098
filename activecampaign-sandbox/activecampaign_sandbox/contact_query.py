"""The filters of ``GET /contacts``: which contact ids match (email, lists, tags, dates...)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from activecampaign_sandbox.clock import parse_filter_time

if TYPE_CHECKING:
    from activecampaign_sandbox.store import Params, Store


def match_contacts(store: Store, params: Params) -> list[int]:
    """Ids (ascending) of the contacts matching the filters of ``GET /contacts``."""
    contacts = store.tables["contacts"]
    candidates: set[int] | None = None

    def narrow(found: Iterable[int]) -> None:
        nonlocal candidates
        found_set = set(found)
        candidates = found_set if candidates is None else candidates & found_set

    def one(name: str) -> str | None:
        values = params.get(name)
        return values[-1] if values else None

    status = one("status")
    status_value = status if status not in (None, "", "-1") else None
    email = one("email")
    if email is not None and email != "":
        cid = store.email_index.get(email.strip().lower())
        narrow([cid] if cid is not None else [])
    ids_values = params.get("ids[]", []) + params.get("ids", [])
    if ids_values:
        wanted: set[int] = set()
        for chunk in ids_values:
            wanted.update(int(p) for p in chunk.split(",") if p.strip().isdigit())
        narrow(wanted)
    listid = one("listid")
    if listid not in (None, "", "0"):
        links = store.tables["contactLists"]
        narrow(int(links.rows[o]["contact"]) for o in links.where("list", listid)
               if status_value is None or links.rows[o]["status"] == status_value)
    elif status_value is not None:
        links = store.tables["contactLists"]
        narrow(int(o["contact"]) for o in links.rows.values() if o["status"] == status_value)
    tagid = one("tagid")
    if tagid not in (None, "", "0"):
        tags = store.tables["contactTags"]
        narrow(int(tags.rows[o]["contact"]) for o in tags.where("tag", tagid))
    seriesid = one("seriesid")
    if seriesid not in (None, "", "0"):
        runs = store.tables["contactAutomations"]
        narrow(int(runs.rows[o]["contact"]) for o in runs.where("seriesid", seriesid))
    segmentid = one("segmentid")
    if segmentid not in (None, "", "0"):
        narrow(store.contacts_in_segment(int(segmentid)) if segmentid.isdigit() else [])

    checks: list[Callable[[int], bool]] = []
    email_like = one("email_like")
    if email_like:
        needle = email_like.lower()
        checks.append(lambda c: needle in contacts.rows[c]["email"].lower())
    phone = one("phone")
    if phone:
        checks.append(lambda c: contacts.rows[c]["phone"].startswith(phone))
    search = one("search")
    if search:
        needle_s = search.lower()

        def searched(c: int) -> bool:
            o = contacts.rows[c]
            hay = " ".join((o["firstName"], o["lastName"], o["email"], o["phone"],
                            o["orgname"])).lower()
            full = f"{o['firstName']} {o['lastName']}".lower()
            return needle_s in hay or needle_s in full

        checks.append(searched)
    times = store.contact_times
    for name, slot, after in (("created_after", 0, True), ("created_before", 0, False),
                              ("updated_after", 1, True), ("updated_before", 1, False)):
        raw = one(f"filters[{name}]")
        if not raw:
            continue
        bound = parse_filter_time(raw)
        if bound is None:
            continue  # an unreadable date is ignored like an unknown filter [U]
        checks.append(_time_check(times, slot, bound, after))

    pool: Iterable[int] = contacts.ids if candidates is None else sorted(
        c for c in candidates if c in contacts.rows)
    if not checks:
        return list(pool)
    return [c for c in pool if all(check(c) for check in checks)]


def _time_check(times: dict[int, list[float]], slot: int, bound: float,
                after: bool) -> Callable[[int], bool]:
    """Inclusive bound on a contact's cdate (slot 0) or udate (slot 1)."""
    if after:
        return lambda c: times[c][slot] >= bound
    return lambda c: times[c][slot] <= bound


CONTACT_FILTERS = frozenset({
    "email", "email_like", "listid", "tagid", "segmentid", "seriesid", "status", "ids[]", "ids",
    "search", "phone", "filters[created_after]", "filters[created_before]",
    "filters[updated_after]", "filters[updated_before]",
})
