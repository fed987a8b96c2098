"""A push keeps in memory the contacts it pushes, not the account's (issue 13, point 6): a
scan of an account holding many more contacts than pushed keeps only the batch's rows, a
later batch reads only the emails that exist, and the request counts stay those of today."""

from __future__ import annotations

import math
from typing import Any

import pytest
from target_ac_testkit import find_contact, run_target, singer, write_requests

from activecampaign_client import ActiveCampaignSession
from target_activecampaign.objects import contact_index
from target_activecampaign.objects.contact_index import ContactIndex, KnownEmails
from target_activecampaign.objects.contacts import ContactsSink

ACCOUNT = 2_000
LAST_NAME = {"modes": {"lastName": "overwrite"}}


class Watch:
    """What the run's ContactIndex held after each batch's read, and what each read cost."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, sandbox: Any) -> None:
        self.batches: list[dict[str, int]] = []
        read = ContactIndex.current_contacts

        def watched(index: ContactIndex, emails: list[str], includes: set[str],
                    **kw: Any) -> Any:
            before = sandbox.stats()["routes"].get("GET /api/3/contacts", 0)
            found = read(index, emails, includes, **kw)
            self.batches.append({
                "emails": len(emails), "held": len(index.index),
                "known": len(index.known) if index.known is not None else -1,
                "contact_reads": sandbox.stats()["routes"].get("GET /api/3/contacts", 0)
                - before})
            return found

        monkeypatch.setattr(ContactIndex, "current_contacts", watched)


def existing(sandbox: Any, n: int) -> list[dict[str, Any]]:
    contacts = [c for c in sandbox.store.objects("contacts") if c["bounced_hard"] == "0"]
    return [{"email": c["email"], "lastName": f"{c['lastName']}-pushed"}
            for c in contacts[::len(contacts) // n][:n]]


@pytest.mark.parametrize("sandbox", [{"contacts": ACCOUNT}], indirect=True)
def test_a_scan_of_2000_contacts_for_a_push_of_50_keeps_only_the_50(
        config: dict, sandbox: Any, monkeypatch: pytest.MonkeyPatch,
        api: ActiveCampaignSession) -> None:
    old = existing(sandbox, 10)
    records = old + [{"email": f"new{i}@memory.io", "firstName": f"N{i}"} for i in range(40)]
    watch = Watch(monkeypatch, sandbox)
    sandbox.reset_stats()
    result = run_target(config, singer("contacts", records, LAST_NAME))

    assert result.counts() == {"created": 40, "updated": 10}
    (batch,) = watch.batches
    assert batch["held"] <= len(records) + 100  # the 10 that exist, never the account
    assert batch["held"] == 10
    assert batch["known"] == ACCOUNT  # which emails exist: 8 bytes each, not a row each
    # the requests of a scan that kept every row: the total, then one page per 100
    assert batch["contact_reads"] == 1 + math.ceil(ACCOUNT / 100)
    contact = find_contact(api, old[0]["email"])
    assert contact is not None and contact["lastName"] == old[0]["lastName"]

    sandbox.reset_stats()
    again = run_target(config, singer("contacts", records, LAST_NAME))
    assert again.counts() == {"unchanged": 50} and write_requests(sandbox) == 0


@pytest.mark.parametrize("sandbox", [{"contacts": ACCOUNT}], indirect=True)
def test_later_batches_read_only_the_emails_that_exist(
        config: dict, sandbox: Any, monkeypatch: pytest.MonkeyPatch,
        api: ActiveCampaignSession) -> None:
    """Batches of 30: the first scans the account (21 requests, fewer than 30 look-ups); a
    batch of new contacts then reads nothing, and one that pushes again a contact of the first
    batch reads that one only and updates it (it is not created twice)."""
    monkeypatch.setattr(ContactsSink, "MAX_SIZE_DEFAULT", 30)
    old = existing(sandbox, 5)
    first = old + [{"email": f"a{i}@memory.io", "firstName": "A"} for i in range(25)]
    second = [{"email": f"b{i}@memory.io", "firstName": "B"} for i in range(30)]
    third = [{"email": "a0@memory.io", "firstName": "A", "lastName": "Again"}]
    third += [{"email": f"c{i}@memory.io"} for i in range(29)]
    watch = Watch(monkeypatch, sandbox)
    result = run_target(config, singer("contacts", first + second + third, LAST_NAME))

    assert [b["emails"] for b in watch.batches] == [30, 30, 30]
    assert [b["contact_reads"] for b in watch.batches] == [1 + math.ceil(ACCOUNT / 100),
                                                           0, 1]
    assert [b["held"] for b in watch.batches] == [5, 0, 1]
    assert watch.batches[-1]["known"] == ACCOUNT + 55  # the run's contacts are noted too
    assert [line["outcome"] for line in result.by_key["a0@memory.io"]
            if "outcome" in line] == ["created", "updated"]
    assert result.by_key["a0@memory.io"][-1]["changes"] == {
        "lastName": {"from": None, "to": "Again"}}
    contact = find_contact(api, "a0@memory.io")
    assert contact is not None and contact["lastName"] == "Again"
    assert result.counts() == {"created": 84, "updated": 6}


def test_known_emails_answers_membership_across_its_sorted_blocks(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(contact_index.KnownEmails, "BLOCK", 8)
    known = KnownEmails()
    emails = [f"p{i}@known.io" for i in range(50)]
    for email in emails:
        known.add(email, check=False)
    known.add(emails[3])  # already noted: not counted twice
    assert len(known) == 50 and len(known._blocks) == 6
    assert all(email in known for email in emails)
    assert not any(f"q{i}@known.io" in known for i in range(200))
