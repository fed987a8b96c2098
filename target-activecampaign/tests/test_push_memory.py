"""A push keeps in memory the contacts it pushes, not the account's (issue 13, point 6): a
scan of an account holding many more contacts than pushed keeps only the batch's rows, a
later batch reads only the emails that exist, by id 100 a request (``ids[]``, spec §2), and
the request counts stay those of a single scan."""

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
    assert len(known) == 50 and len(known._hashes) == 6
    assert all(email in known for email in emails)
    assert not any(f"q{i}@known.io" in known for i in range(200))


def test_known_emails_keeps_each_contacts_id_across_its_blocks(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(contact_index.KnownEmails, "BLOCK", 8)
    known = KnownEmails()
    for i in range(50):
        known.add(f"p{i}@known.io", 1000 + i, check=False)
    known.add("imported@known.io")  # created by the importer: exists, id not known
    assert [known.id_of(f"p{i}@known.io") for i in range(50)] == list(range(1000, 1050))
    assert known.id_of("imported@known.io") == 0 and "imported@known.io" in known
    assert known.id_of("never@known.io") is None
    known.add("imported@known.io", 77)  # its id read later
    known.add("p3@known.io", 5)  # in a sorted block
    known.add("p49@known.io")  # no id given: the noted one stays
    assert (known.id_of("imported@known.io"), known.id_of("p3@known.io"),
            known.id_of("p49@known.io"), len(known)) == (77, 5, 1049, 51)


# ------------------------------------------------ later batches read by id (ids[], spec §2)

BATCH = 150
NAMES = {"modes": {"lastName": "overwrite", "firstName": "overwrite"}}


def three_batches(sandbox: Any) -> tuple[list[list[dict[str, Any]]], dict[str, str]]:
    """Three batches of 150 with existing contacts in each: 20, 120 and 12 (of which one was
    updated in batch 1 and one created in batch 1, both pushed again)."""
    old = existing(sandbox, 150)
    first = old[:20] + [{"email": f"a{i}@ids.io", "firstName": "A"} for i in range(130)]
    second = old[20:140] + [{"email": f"b{i}@ids.io", "firstName": "B"} for i in range(30)]
    again = [{"email": old[0]["email"], "firstName": "Again"},
             {"email": "a0@ids.io", "lastName": "Again"}]
    third = old[140:150] + again + [{"email": f"c{i}@ids.io"} for i in range(138)]
    return [first, second, third], {r["email"]: r["lastName"] for r in old}


def contact_gets(sandbox: Any) -> int:
    return int(sandbox.stats()["routes"].get("GET /api/3/contacts", 0))


def assert_pushed(sandbox: Any, api: ActiveCampaignSession, result: Any,
                  last_names: dict[str, str]) -> None:
    """Every contact once (none created twice), each update applied."""
    emails = [c["email"].lower() for c in sandbox.store.objects("contacts")]
    assert len(emails) == len(set(emails)) == ACCOUNT + 298
    assert result.counts() == {"created": 298, "updated": 152}
    assert [line["outcome"] for line in result.by_key["a0@ids.io"]
            if "outcome" in line] == ["created", "updated"]
    for email in (*list(last_names)[::20], "a0@ids.io"):
        contact = find_contact(api, email)
        assert contact is not None and contact["lastName"] == last_names.get(email, "Again")
    twice = find_contact(api, next(iter(last_names)))  # updated in batches 1 and 3
    assert twice is not None and twice["firstName"] == "Again"


@pytest.mark.parametrize("sandbox", [{"contacts": ACCOUNT}], indirect=True)
def test_later_batches_read_their_existing_contacts_by_id_100_a_request(
        config: dict, sandbox: Any, monkeypatch: pytest.MonkeyPatch,
        api: ActiveCampaignSession) -> None:
    """Batch 1 scans (the total + 20 pages). Batch 2 reads its 120 existing contacts with
    ids[] in 2 requests, batch 3 its 11 with a known id in 1, plus one look-up for the
    contact the importer created in batch 1 (its id is not known). Nothing else reads."""
    monkeypatch.setattr(ContactsSink, "MAX_SIZE_DEFAULT", BATCH)
    batches, last_names = three_batches(sandbox)
    watch = Watch(monkeypatch, sandbox)
    sandbox.reset_stats()
    result = run_target(config, singer("contacts", [r for b in batches for r in b], NAMES))

    scan = 1 + math.ceil(ACCOUNT / 100)
    assert [b["emails"] for b in watch.batches] == [BATCH] * 3
    assert [b["held"] for b in watch.batches] == [20, 120, 12]
    assert [b["contact_reads"] for b in watch.batches] == [
        scan, math.ceil(120 / 100), math.ceil(11 / 100) + 1]
    assert contact_gets(sandbox) == scan + 2 + 2  # no other read of contacts in the run
    assert_pushed(sandbox, api, result, last_names)
    assert not [line for line in result.activity if line["type"] == "warning"]

    sandbox.reset_stats()
    again = run_target(config, singer("contacts", [r for b in batches for r in b], NAMES))
    assert again.counts() == {"unchanged": 3 * BATCH} and write_requests(sandbox) == 0


@pytest.mark.parametrize("sandbox", [{"contacts": ACCOUNT, "ids_filter": False}],
                         indirect=True)
def test_an_account_that_ignores_ids_is_read_by_email_or_a_new_scan_instead(
        config: dict, sandbox: Any, monkeypatch: pytest.MonkeyPatch,
        api: ActiveCampaignSession) -> None:
    """spec §2 (unknown params are silently ignored): the first ids[] answer holds contacts
    not asked for. It is dropped, one warning is written, and batch 2 scans again (23
    requests, fewer than 120 look-ups); batch 3 looks up its 12 (fewer than a scan)."""
    monkeypatch.setattr(ContactsSink, "MAX_SIZE_DEFAULT", BATCH)
    batches, last_names = three_batches(sandbox)
    watch = Watch(monkeypatch, sandbox)
    sandbox.reset_stats()
    result = run_target(config, singer("contacts", [r for b in batches for r in b], NAMES))

    scan = 1 + math.ceil(ACCOUNT / 100)
    rescan = math.ceil((ACCOUNT + 130) / 100)  # the pages of the account after batch 1
    assert [b["contact_reads"] for b in watch.batches] == [scan, 1 + rescan, 12]
    assert [b["held"] for b in watch.batches] == [20, 120, 12]
    assert_pushed(sandbox, api, result, last_names)
    warnings = [line["message"] for line in result.activity if line["type"] == "warning"]
    assert len(warnings) == 1 and "ignores ids[]" in warnings[0]

    sandbox.reset_stats()
    again = run_target(config, singer("contacts", [r for b in batches for r in b], NAMES))
    assert again.counts() == {"unchanged": 3 * BATCH} and write_requests(sandbox) == 0


@pytest.mark.parametrize("sandbox", [{"contacts": ACCOUNT}], indirect=True)
def test_an_id_that_answers_another_email_is_not_that_contact(
        config: dict, sandbox: Any, monkeypatch: pytest.MonkeyPatch,
        api: ActiveCampaignSession) -> None:
    """Two emails with the same hash share one KnownEmails entry: here, before batch 3, an
    existing contact and a new one are noted under a third contact's id. The row read by id
    has another email, so each is looked up by email: the existing one is updated, the new
    one created, and the third contact is not written."""
    monkeypatch.setattr(ContactsSink, "MAX_SIZE_DEFAULT", 30)
    old = existing(sandbox, 12)
    bystander = old[11]
    stranger = next(c for c in sandbox.store.objects("contacts")
                    if c["email"] == bystander["email"])
    first = old[:5] + [{"email": f"a{i}@ids.io", "firstName": "A"} for i in range(25)]
    second = [{"email": f"b{i}@ids.io", "firstName": "B"} for i in range(30)]
    third = [*old[5:10], {"email": "twin@ids.io", "lastName": "Twin"}]
    third += [{"email": f"c{i}@ids.io"} for i in range(24)]
    read = ContactIndex.current_contacts
    calls: list[int] = []

    def shared_hash(index: ContactIndex, emails: list[str], includes: set[str],
                    **kw: Any) -> Any:
        calls.append(contact_gets(sandbox))
        if len(calls) == 3 and index.known is not None:
            for email in (old[5]["email"].lower(), "twin@ids.io"):
                index.known.add(email, int(stranger["id"]))
        return read(index, emails, includes, **kw)

    monkeypatch.setattr(ContactIndex, "current_contacts", shared_hash)
    result = run_target(config, singer("contacts", first + second + third, LAST_NAME))

    # batch 3: one ids[] request (for the 5 existing, 4 of them right), then 2 look-ups
    assert contact_gets(sandbox) - calls[2] == 1 + 2
    assert result.counts() == {"created": 80, "updated": 10}
    assert result.outcome("twin@ids.io") == "created"
    assert result.outcome(old[5]["email"]) == "updated"
    assert bystander["email"] not in result.by_key
    after = find_contact(api, bystander["email"])
    assert after is not None and after["lastName"] == stranger["lastName"]
    updated = find_contact(api, old[5]["email"])
    assert updated is not None and updated["lastName"] == old[5]["lastName"]
