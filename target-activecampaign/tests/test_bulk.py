"""The bulk importer as sent (spec §3, §5.8, §11): exact bytes under 400,000, the rate-limit
400 waited out, a slow queue reported and checked by reading the contacts before resending."""

from __future__ import annotations

import json
from typing import Any

import pytest
from target_ac_testkit import find_contact, run_target, singer, write_requests

from activecampaign_client import ActiveCampaignSession
from activecampaign_sandbox.limits import SlidingWindow
from target_activecampaign import bulk, current
from target_activecampaign.objects import contacts


def capture_bodies(sandbox: Any) -> list[tuple[int, int]]:
    """(bytes received, contacts) of every import request the sandbox accepts or refuses."""
    seen: list[tuple[int, int]] = []
    submit = sandbox.bulk.submit

    def recording(body: Any, raw_size: int) -> Any:
        seen.append((raw_size, len((body or {}).get("contacts") or [])))
        return submit(body, raw_size)

    sandbox.bulk.submit = recording  # the route looks the method up on each request
    return seen


@pytest.mark.parametrize(("n", "sizes"), [(1, [1]), (250, [250]), (251, [126, 125]),
                                          (10_000, [250] * 40), (501, [167, 167, 167]),
                                          (502, [168, 168, 166])])
def test_bulk_chunks_respect_250_contacts_and_avoid_single_contact_requests(
        n: int, sizes: list[int]) -> None:
    entries = [{"email": f"c{i}@x.io"} for i in range(n)]
    chunks, too_big = bulk.chunk_bulk(entries)
    assert [len(c.entries) for c in chunks] == sizes and too_big == []


def test_each_chunk_is_sent_as_the_bytes_it_was_measured_on() -> None:
    entries = [{"email": f"c{i}@x.io", "fields": [{"id": 1, "value": "Zoë 王 " + "x" * 1600}]}
               for i in range(250)]
    chunks, too_big = bulk.chunk_bulk(entries)
    assert len(chunks) == 2 and too_big == []
    assert all(len(c.body) < 400_000 for c in chunks)
    assert [e for c in chunks for e in json.loads(c.body)["contacts"]] == entries
    # the default encoder's ", " / ": " and \u escapes would have pushed these over
    assert len(json.dumps({"contacts": chunks[0].entries})) >= 400_000


def test_a_contact_too_big_for_any_import_request_is_left_out_of_the_chunks() -> None:
    huge = {"email": "big@x.io", "fields": [{"id": 1, "value": "x" * 400_000}]}
    chunks, too_big = bulk.chunk_bulk([{"email": "a@x.io"}, huge, {"email": "b@x.io"}])
    assert [len(c.entries) for c in chunks] == [2] and too_big == [huge]


def test_rate_limit_and_validation_answers_are_told_apart_by_their_shape() -> None:
    limited = {"success": 0, "message": "Rate limit exceeded.",
               "failureReasons": ["Up to 100 imports may be requested per minute..."]}
    invalid = {"success": 0, "message": "JSON payload did not pass validation.",
               "failureReasons": [{"contact": 1, "failureReason": "bad email"}, "odd", None,
                                  {"contact": "x"}, {"contact": 9}]}
    assert bulk.is_rate_limited(400, limited) and not bulk.is_rate_limited(400, invalid)
    assert bulk.refused_contacts(limited, 3) == {}
    assert bulk.refused_contacts(invalid, 3) == {1: "bad email"}


def test_large_pushes_stay_under_400000_bytes_as_received(config: dict, sandbox: Any,
                                                           api: ActiveCampaignSession) -> None:
    api.post("fields", {"field": {"title": "Bio", "type": "textarea"}})
    records = [{"email": f"w{i}@wire.io", "fields": {"Bio": "Ünïcode bio " + "y" * 1700}}
               for i in range(250)]
    seen = capture_bodies(sandbox)
    result = run_target(config, singer("contacts", records))
    assert result.counts() == {"created": 250}
    assert len(seen) == 2 and max(size for size, _ in seen) < 400_000
    assert sum(n for _, n in seen) == 250
    assert result.summary["write_paths"]["bulk_requests"] == 2


def test_the_rate_limit_400_is_waited_out_and_the_request_resent(
        config: dict, sandbox: Any, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(bulk, "FIRST_RATE_LIMIT_WAIT", 1.1)
    sandbox.bulk.multi = SlidingWindow(1, 1.0)  # one multi-contact import per second
    records = [{"email": f"l{i}@limit.io"} for i in range(300)]  # two requests
    seen = capture_bodies(sandbox)
    result = run_target(config, singer("contacts", records, state={"bookmarks": {"c": 1}}))
    assert result.counts() == {"created": 300} and result.states == [{"bookmarks": {"c": 1}}]
    limited = sandbox.stats()["statuses"].get("400", 0)
    assert limited >= 1  # the limit was hit, and each refused request sent again
    assert sandbox.bulk.requests == 2 and len(seen) == 2 + limited
    assert any("Bulk import per-minute limit reached (Rate limit exceeded. [\"Up to 100 "
               "imports may be requested per minute" in m for m in caplog.messages)


def test_a_slow_import_queue_is_reported_and_checked_before_resending(
        config: dict, sandbox: Any, api: ActiveCampaignSession) -> None:
    sandbox.behaviour.import_queue_seconds = 3.0
    records = [{"email": f"q{i}@queue.io", "firstName": "Q"} for i in range(30)]
    sandbox.reset_stats()
    result = run_target({**config, "bulk_import_timeout": 0.5},
                        singer("contacts", records, state={"bookmarks": {"c": 2}}))
    assert result.error is None and result.states == [{"bookmarks": {"c": 2}}]
    assert result.counts() == {"created": 30}
    run_warning = next(x for x in result.activity if x.get("object") == "run")
    assert "1 bulk import batch(es) still in ActiveCampaign's import queue after 0.5 s" in \
        run_warning["message"]
    routes = sandbox.stats()["routes"]
    assert routes["GET /api/3/contacts"] >= 1  # read before resending
    assert routes["POST /api/3/contact/sync"] == 30  # none had landed: each resent once
    assert routes["GET /api/3/import/info"] <= 6
    contact = find_contact(api, "q29@queue.io")
    assert contact is not None and contact["firstName"] == "Q"


def test_queued_contacts_that_landed_are_not_resent(config: dict, sandbox: Any) -> None:
    sandbox.behaviour.import_queue_seconds = 1.0
    records = [{"email": f"d{i}@queue.io", "firstName": "D"} for i in range(30)]
    real_confirm = bulk.confirm_queued

    def confirm_after_landing(self: Any, plans: Any, includes: Any) -> Any:
        import time
        time.sleep(1.2)  # the queue gets to the batch while the target turns to reading
        return real_confirm(self, plans, includes)

    bulk.confirm_queued = confirm_after_landing  # type: ignore[assignment]
    try:
        sandbox.reset_stats()
        result = run_target({**config, "bulk_import_timeout": 0.3}, singer("contacts", records))
    finally:
        bulk.confirm_queued = real_confirm
    assert result.counts() == {"created": 30}
    assert "POST /api/3/contact/sync" not in sandbox.stats()["routes"]
    sandbox.reset_stats()
    again = run_target(config, singer("contacts", records))
    assert again.counts() == {"unchanged": 30} and write_requests(sandbox) == 0


def test_applied_compares_what_the_plan_wrote_with_what_was_read_back() -> None:
    plan = contacts.ContactPlan(email="a@x.io", record={}, action="update",
                         standard={"firstName": "Ada"}, field_values={"1": "||b||a||"},
                         tags_to_add=["Hot"], lists_to_add=["2"])
    fresh = current.CurrentContact(id="5", email="a@x.io", firstName="Ada",
                             field_values={"1": "||a||b||"}, tag_ids={"9"},
                             list_status={"2": "1"})
    assert bulk.applied(plan, fresh, {"hot": "9"})
    fresh.list_status = {"2": "2"}
    assert not bulk.applied(plan, fresh, {"hot": "9"})
    assert not bulk.applied(plan, None, {})
