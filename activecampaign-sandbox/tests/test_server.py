from __future__ import annotations

import json
import threading
import time

import pytest
import requests

from activecampaign_sandbox import Sandbox
from activecampaign_sandbox.clock import parse_filter_time
from activecampaign_sandbox.envelopes import paging
from activecampaign_sandbox.limits import SlidingWindow, retry_after_header
from activecampaign_sandbox.seed import seed_store
from activecampaign_sandbox.store import Store


@pytest.mark.parametrize("headers", [{}, {"Api-Token": "wrong"}])
def test_bad_or_missing_key_is_403_forbidden(ac, headers):
    response = requests.get(ac.url("contacts"), headers=headers, timeout=5)
    assert response.status_code == 403 and response.json() == {"message": "Forbidden"}


def test_sliding_window_counts_only_accepted():
    window = SlidingWindow(5, 1.0)
    assert [window.try_accept(0.1 * i) for i in range(5)] == [None] * 5
    assert window.try_accept(0.5) == pytest.approx(0.5)
    assert window.try_accept(1.01) is None  # the slot of t=0.0 has freed
    assert window.peak == 5
    assert retry_after_header(0.2) == "1" and retry_after_header(1.5) == "2"


@pytest.mark.parametrize(("params", "expected"), [({}, (20, 0)), ({"limit": ["250"]}, (100, 0)),
                                                  ({"limit": ["x"], "offset": ["-4"]}, (20, 0))])
def test_paging_rules(params, expected):
    assert paging(params) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("2024-03-01T10:11:12-06:00", 1709309472), ("2024-03-01T16:11:12Z", 1709309472),
    ("2024-03-01 10:11:12", 1709309472), ("garbage", None)])
def test_filter_time_parsing(value, expected):
    assert parse_filter_time(value) == expected


def test_rate_limit_429_retry_after_and_peak_in_stats():
    with Sandbox(seed="empty", rate_limit=5, api_key="k") as sb:
        http = requests.Session()
        http.headers["Api-Token"] = "k"
        codes = [http.get(f"{sb.base_url}/api/3/users/me", timeout=5) for _ in range(8)]
        statuses = [r.status_code for r in codes]
        assert statuses[:5] == [200] * 5 and 429 in statuses[5:]
        throttled = next(r for r in codes if r.status_code == 429)
        assert throttled.json() == {"message": "Too Many Requests"}
        assert int(throttled.headers["Retry-After"]) >= 1
        stats = requests.get(f"{sb.base_url}/_sandbox/stats", timeout=5).json()
        assert stats["peak_rate"] == 5 and stats["throttled_429"] == statuses.count(429)
        assert stats["routes"]["GET /api/3/users/me"] == 8


def test_rate_limit_is_shared_by_concurrent_callers():
    with Sandbox(seed="empty", rate_limit=5, api_key="k") as sb:
        results: list[int] = []

        def hit() -> None:
            r = requests.get(f"{sb.base_url}/api/3/users", headers={"Api-Token": "k"},
                             timeout=5)
            results.append(r.status_code)

        threads = [threading.Thread(target=hit) for _ in range(12)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        assert sb.stats()["peak_rate"] <= 5
        assert results.count(200) <= 5 * (int(elapsed) + 1)
        assert results.count(200) + results.count(429) == 12


def test_stats_reset_and_objects_inspection(ac, sb):
    ac.get("contacts")
    assert sb.stats()["routes"] == {"GET /api/3/contacts": 1}
    requests.post(f"{sb.base_url}/_sandbox/reset-stats", timeout=5)
    assert sb.stats()["total_requests"] == 0
    objects = requests.get(f"{sb.base_url}/_sandbox/objects/tags", timeout=5).json()
    assert objects["total"] == 8 and objects["tags"][0]["tag"] == "customer"


def test_error_rate_fault_answers_5xx(ac, sb):
    sb.set_faults(error_rate=1.0)
    assert ac.get("contacts").status_code in (500, 502, 503)
    sb.clear_faults()
    assert ac.get("contacts").status_code == 200


def test_latency_fault(ac, sb):
    sb.set_faults(latency_ms=150)
    started = time.monotonic()
    ac.get("users/me")
    assert time.monotonic() - started >= 0.15


def test_truncate_fault_cuts_the_json(ac, sb):
    sb.set_faults(truncate_rate=1.0)
    response = ac.get("contacts")
    assert response.status_code == 200
    with pytest.raises(ValueError):
        json.loads(response.text)


def test_forbidden_fault_on_a_valid_key(ac, sb):
    sb.set_faults(forbidden_rate=1.0)
    assert ac.get("users/me").status_code == 403


def test_drop_fault_closes_the_connection(ac, sb):
    sb.set_faults(drop_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        ac.get("users/me")


@pytest.mark.parametrize("with_header", [True, False])
def test_throttle_next_fault(ac, sb, with_header):
    requests.post(f"{sb.base_url}/_sandbox/faults", json={
        "throttle_next": 2, "throttle_retry_after": with_header}, timeout=5)
    first, second, third = (ac.get("users/me") for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (429, 429, 200)
    assert ("Retry-After" in first.headers) is with_header


def test_faults_are_deterministic_for_a_seed(ac, sb):
    def run() -> list[int]:
        sb.set_faults(error_rate=0.5, seed=7)
        return [ac.get("users/me").status_code for _ in range(12)]

    assert run() == run() and len(set(run())) > 1


def test_faults_leave_inspection_routes_alone(sb):
    sb.set_faults(error_rate=1.0)
    assert requests.get(f"{sb.base_url}/_sandbox/stats", timeout=5).status_code == 200


def wait_for(ac, batch_id: str) -> dict:
    for _ in range(100):
        info = ac.get("import/info", batchId=batch_id).json()
        if info["status"] == "completed":
            return info
        time.sleep(0.02)
    raise AssertionError("import never completed")


def test_bulk_import_upserts_links_tags_fields_and_lists(ac, sb):
    existing = sb.store["contacts"].rows[1]
    body = {"contacts": [
        {"email": existing["email"].upper(), "last_name": "Imported"},
        {"email": "bulk@example.com", "first_name": "Bo", "customer_acct_name": "Bulk Co",
         "tags": ["imported"], "fields": [{"id": 1, "value": "88"}],
         "subscribe": [{"listid": 2}]},
        {"email": "broken-address"}]}
    queued = ac.post("import/bulk_import", body)
    assert queued.status_code == 200
    assert queued.json()["success"] == 1 and queued.json()["queued_contacts"] == 3
    assert ac.get("import/info", batchId=queued.json()["batchId"]).json() == {
        "status": "processing"}
    info = wait_for(ac, queued.json()["batchId"])
    assert info["failure"] == ["broken-address"] and info["success"][0] == "1"
    first = ac.get("contacts/1").json()["contact"]
    assert first["lastName"] == "Imported" and first["firstName"] == existing["firstName"]
    new = ac.get("contacts", email="bulk@example.com").json()["contacts"][0]
    assert new["orgname"] == "Bulk Co"
    sub = ac.get(f"contacts/{new['id']}/contactLists").json()["contactLists"]
    assert [(s["list"], s["status"]) for s in sub] == [("2", "1")]
    assert ac.get("tags", search="imported").json()["meta"]["total"] == "1"
    overview = ac.get("import/bulk_import").json()
    assert overview["recentlyCompleted"][0]["contacts"] == 3


@pytest.mark.parametrize("body", [{"contacts": [{"email": f"a{i}@x.com"} for i in range(251)]},
                                  {"contacts": [{"email": "a@x.com", "first_name": "x" * 400_000}]},
                                  {"contacts": []}])
def test_bulk_import_validation_failures(ac, body):
    response = ac.post("import/bulk_import", body)
    assert response.status_code == 400
    assert response.json()["success"] == 0 and "failureReasons" in response.json()


def test_bulk_import_info_needs_batch_id(ac):
    assert ac.get("import/info").status_code == 400


def test_bulk_import_single_contact_limit_per_minute(ac):
    """spec §3: 20 single-contact imports a minute; §11: the rate-limit 400's failureReasons
    are strings."""
    codes = [ac.post("import/bulk_import", {"contacts": [{"email": f"s{i}@x.com"}]})
             for i in range(21)]
    assert all(r.status_code == 200 for r in codes[:20])
    assert codes[20].status_code == 400
    assert codes[20].json() == {"success": 0, "message": "Rate limit exceeded.",
                                "failureReasons": [
                                    "Up to 20 single-contact imports may be requested per "
                                    "minute. Please wait before trying again."]}


def test_same_seed_same_data():
    def snapshot() -> list[object]:
        store = seed_store(Store(), "demo", 150)
        return [store.objects(n) for n in ("contacts", "accounts", "deals", "fieldValues",
                                           "contactTags")]

    assert snapshot() == snapshot()


def test_empty_seed_has_one_user_only():
    store = seed_store(Store(), "empty", 500)
    assert len(store["users"]) == 1 and len(store["contacts"]) == 0


def test_seeded_quirks_are_present(shared):
    store = shared.sb.store
    contacts = store.objects("contacts")
    names = {c["firstName"] + " " + c["lastName"] for c in contacts}
    assert {"José Núñez", "Siobhan O'Brien"} <= names
    assert any(c["firstName"] == "伟" and c["lastName"] == "王" for c in contacts)
    assert any(c["phone"] == "" for c in contacts)
    assert any(c["edate"] == "0000-00-00 00:00:00" for c in contacts)
    assert any(c["bounced_hard"] == "1" for c in contacts)
    assert any(c["email"] != c["email"].lower() for c in contacts)
    offsets = {c["cdate"][-6:] for c in contacts}
    assert offsets == {"-05:00", "-06:00"}
    udates = [c["udate"] for c in contacts]
    assert max(udates.count(u) for u in set(udates)) >= 20
    assert sum(1 for a in store.objects("accountContacts") if a["jobTitle"]) > 100
    assert len(store.objects("accounts")) == 30


def test_keyset_page_from_100k_contacts_is_fast():
    with Sandbox(seed="demo", contacts=100_000, rate_limit=None, api_key="k") as sb:
        http = requests.Session()
        http.headers["Api-Token"] = "k"
        url = f"{sb.base_url}/api/3/contacts"
        params = {"orders[id]": "ASC", "id_greater": 50_000, "limit": 100,
                  "include": "fieldValues"}
        http.get(url, params=params, timeout=10)
        started = time.perf_counter()
        for _ in range(5):
            body = http.get(url, params=params, timeout=10).json()
        per_request = (time.perf_counter() - started) / 5
        assert body["meta"]["total"] == "50000" and len(body["contacts"]) == 100
        assert per_request < 0.05, per_request  # target < 20 ms; margin for a shared CI box
