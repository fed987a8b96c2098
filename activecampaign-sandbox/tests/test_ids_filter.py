"""GET /contacts?ids[]=: contacts by id (spec §2, Identity params), and an account that
ignores the parameter (spec §2 Filters: unknown params are silently ignored)."""

from __future__ import annotations

import sys
from pathlib import Path

from activecampaign_sandbox.__main__ import behaviour_from, parse_args

sys.path.insert(0, str(Path(__file__).parent))  # sandbox_client (pytest runs importlib mode)
from sandbox_client import account

WANTED = [str(i) for i in range(5, 205, 2)]  # 100 ids, none adjacent


def test_ids_filter_answers_exactly_the_contacts_asked_for_with_their_sideloads() -> None:
    """spec §2: ids[]=5&ids[]=7... filters GET /contacts by id (100 in one page with
    limit=100), and include= sideloads the rows of those contacts only."""
    with account(contacts=300) as ac:
        body = ac.get("contacts", limit=100, include="fieldValues",
                      **{"ids[]": WANTED}).json()
        store = ac.sb.store
        expected_values = {o["id"] for o in store.objects("fieldValues")
                           if o["contact"] in WANTED}
    assert [c["id"] for c in body["contacts"]] == WANTED
    assert body["meta"]["total"] == "100"
    assert {row["id"] for row in body["fieldValues"]} == expected_values


def test_ids_filter_skips_unknown_ids_and_combines_with_email() -> None:
    """spec §2: ids that name no contact match nothing; ids[] narrows like other filters."""
    with account(contacts=50) as ac:
        email = ac.sb.store["contacts"].rows[9]["email"]
        mixed = ac.get("contacts", **{"ids[]": ["3", "9", "99999"]}).json()
        both = ac.get("contacts", email=email, **{"ids[]": ["3"]}).json()
    assert [c["id"] for c in mixed["contacts"]] == ["3", "9"]
    assert both["contacts"] == [] and both["meta"]["total"] == "0"


def test_an_account_that_ignores_ids_answers_the_unfiltered_list() -> None:
    """spec §2 Filters: an account that ignores ids[] answers as if it were not sent: the
    first page of every contact, and the account's total."""
    with account(contacts=60, ids_filter=False) as ac:
        body = ac.get("contacts", limit=100, **{"ids[]": ["3", "9"]}).json()
    assert len(body["contacts"]) == 60
    assert body["meta"]["total"] == "60"


def test_the_no_ids_filter_flag_selects_that_account() -> None:
    """spec §2: the CLI option --no-ids-filter; by default ids[] is honoured."""
    assert not behaviour_from(parse_args(["--no-ids-filter"])).ids_filter
    assert behaviour_from(parse_args([])).ids_filter
