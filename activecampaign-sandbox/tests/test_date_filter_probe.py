"""What a client's one-request probe of filters[updated_after] relies on (spec §2/§9)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from activecampaign_sandbox.__main__ import behaviour_from, parse_args

sys.path.insert(0, str(Path(__file__).parent))  # sandbox_client (pytest runs importlib mode)
from sandbox_client import Client, account

WHEN = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)  # 06:00 in America/Chicago (-06:00)


def _changed_at(ac: Client, when: datetime) -> dict:
    store = ac.sb.store
    contact = store.objects("contacts")[0]
    store.touch_contacts([int(contact["id"])], ts=when.timestamp())
    return contact


def _ids(ac: Client, **params: str) -> set[str]:
    return {c["id"] for c in ac.get("contacts", limit=100, **params).json()["contacts"]}


def test_email_and_updated_after_combine_as_and() -> None:
    """spec §2: ``email`` (exact) and ``filters[updated_after]`` are both GET /contacts
    params; together they answer the one contact only if it matches both."""
    with account(contacts=20) as ac:
        contact = _changed_at(ac, WHEN)
        email = contact["email"]
        assert _ids(ac, email=email, **{"filters[updated_after]": "2030-01-15T12:00:00Z"}) \
            == {contact["id"]}
        assert _ids(ac, email=email, **{"filters[updated_after]": "2030-01-15T12:00:01Z"}) \
            == set()
        other = ac.sb.store.objects("contacts")[1]["email"]
        assert _ids(ac, email=other, **{"filters[updated_after]": "2030-01-15T12:00:00Z"}) \
            == set()


def test_an_account_can_start_updated_after_on_the_next_day() -> None:
    """spec §2/§9 [U]: granularity unconfirmed; "next-day" reads ``_after`` as after the
    value's whole day (DATE(udate) > date): the filter starts later than the value sent."""
    with account(contacts=20, date_filters="next-day") as ac:
        contact = _changed_at(ac, WHEN)
        assert contact["id"] not in _ids(ac, **{"filters[updated_after]":
                                                "2030-01-15T06:00:00-06:00"})
        assert contact["id"] in _ids(ac, **{"filters[updated_after]": "2030-01-14T23:00:00"})
        assert contact["id"] in _ids(ac, **{"filters[updated_before]":
                                            "2030-01-16T00:00:00-06:00"})
    assert behaviour_from(parse_args(["--date-filters", "next-day"])).date_filters == \
        "next-day"
