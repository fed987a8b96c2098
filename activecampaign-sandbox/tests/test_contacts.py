from __future__ import annotations

import time

import pytest

from activecampaign_sandbox.clock import iso

DUPLICATE = {"errors": [{"title": "Email address already exists in the system", "detail": "",
                         "code": "duplicate", "source": {"pointer": "/data/attributes/email"}}]}


def test_contact_list_envelope_has_string_ids_and_string_total(shared):
    body = shared.get("contacts").json()
    assert isinstance(body["meta"]["total"], str) and body["meta"]["total"] == "300"
    assert body["scoreValues"] == []
    assert all(isinstance(c["id"], str) and "links" in c for c in body["contacts"])
    assert body["meta"]["page_input"]["limit"] == 20


@pytest.mark.parametrize(("params", "expected"), [({}, 20), ({"limit": 5}, 5),
                                                  ({"limit": 500}, 100), ({"limit": 0}, 20)])
def test_limit_defaults_to_20_and_clamps_at_100(shared, params, expected):
    assert len(shared.get("contacts", **params).json()["contacts"]) == expected


def test_offset_pages_do_not_overlap(shared):
    first = [c["id"] for c in shared.get("contacts", limit=10).json()["contacts"]]
    second = [c["id"] for c in shared.get("contacts", limit=10, offset=10).json()["contacts"]]
    assert len(first) == len(second) == 10 and not set(first) & set(second)


def test_id_greater_with_id_order_walks_every_contact_once(shared):
    seen, last = [], 0
    while True:
        page = shared.get("contacts", **{"orders[id]": "ASC", "id_greater": last,
                                         "limit": 100}).json()["contacts"]
        if not page:
            break
        seen += [int(c["id"]) for c in page]
        last = seen[-1]
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 300


@pytest.mark.parametrize(("order", "key"), [("DESC", lambda c: -int(c["id"])),
                                            ("ASC", lambda c: int(c["id"]))])
def test_orders_id(shared, order, key):
    page = shared.get("contacts", **{"orders[id]": order}).json()["contacts"]
    assert page == sorted(page, key=key)


def test_orders_email(shared):
    page = shared.get("contacts", **{"orders[email]": "ASC", "limit": 100}).json()["contacts"]
    emails = [c["email"].lower() for c in page]
    assert emails == sorted(emails)


def test_unknown_params_are_ignored(shared):
    body = shared.get("contacts", **{"filters[nonsense]": "x", "bogus": "1"}).json()
    assert body["meta"]["total"] == "300"


def test_updated_after_is_inclusive(ac, sb):
    sb.store.touch_contacts([5, 6], ts=1_717_000_000)
    stamp = iso(1_717_000_000)
    ids = {c["id"] for c in ac.get("contacts", **{"filters[updated_after]": stamp,
                                                  "limit": 100}).json()["contacts"]}
    assert {"5", "6"} <= ids
    later = iso(1_717_000_001)
    assert "5" not in {c["id"] for c in ac.get(
        "contacts", **{"filters[updated_after]": later, "limit": 100}).json()["contacts"]}


def test_updated_after_accepts_utc_z_and_created_before(shared):
    recent = shared.get("contacts", **{"filters[updated_after]": "2024-06-01T00:00:00Z"})
    old = shared.get("contacts", **{"filters[created_before]": "2022-06-01"})
    assert 0 < int(recent.json()["meta"]["total"]) < 300
    assert all(c["cdate"] < "2022-06-02" for c in old.json()["contacts"])


@pytest.mark.parametrize("kind", ["listid", "tagid"])
def test_membership_filters_return_only_members(shared, kind):
    table = "contactLists" if kind == "listid" else "contactTags"
    key = "list" if kind == "listid" else "tag"
    members = {r["contact"] for r in shared.sb.store.objects(table) if r[key] == "1"}
    body = shared.get("contacts", **{kind: 1, "limit": 100}).json()
    assert body["meta"]["total"] == str(len(members))
    assert {c["id"] for c in body["contacts"]} <= members


def test_segment_filter_applies_the_segment_rule(shared):
    shared.get("contacts", segmentid=2, limit=100)  # starts the evaluation (spec §11)
    body = shared.get("contacts", segmentid=2, limit=100).json()
    assert int(body["meta"]["total"]) > 0
    assert all(c["email_domain"].lower() in {"gmail.com", "yahoo.com", "outlook.com",
                                              "hotmail.com"} for c in body["contacts"])


def test_email_filter_is_exact_and_case_insensitive(shared):
    email = shared.sb.store["contacts"].rows[7]["email"]
    body = shared.get("contacts", email=email.upper()).json()
    assert [c["id"] for c in body["contacts"]] == ["7"]


def test_ids_and_search_filters(shared):
    body = shared.get("contacts", **{"ids[]": ["3", "9"]}).json()
    assert [c["id"] for c in body["contacts"]] == ["3", "9"]
    found = shared.get("contacts", search="o'brien", limit=100).json()["contacts"]
    assert found and all(c["lastName"] == "O'Brien" for c in found)


def test_include_field_values_sideloads_exactly_the_page(shared):
    body = shared.get("contacts", include="fieldValues", limit=10).json()
    page = {c["id"] for c in body["contacts"]}
    assert body["fieldValues"] and {fv["contact"] for fv in body["fieldValues"]} <= page
    expected = [fv for fv in shared.sb.store.objects("fieldValues") if fv["contact"] in page]
    assert len(body["fieldValues"]) == len(expected)


def test_include_several_sideloads(shared):
    body = shared.get("contacts", include="contactLists,contactTags,accountContacts").json()
    assert {"contactLists", "contactTags", "accountContacts"} <= set(body)
    assert "fieldValues" not in body


def test_get_contact_sideloads_and_404(shared):
    body = shared.get("contacts/1").json()
    for key in ("fieldValues", "contactLists", "contactTags", "contactAutomations",
                "accountContacts", "contact"):
        assert key in body
    miss = shared.get("contacts/999999")
    assert miss.status_code == 404
    assert miss.json() == {"message": "No Result found for Subscriber with id 999999"}


@pytest.mark.parametrize("sub", ["fieldValues", "contactLists", "contactTags",
                                 "contactAutomations", "accountContacts"])
def test_contact_sub_lists_have_no_meta(shared, sub):
    body = shared.get(f"contacts/1/{sub}").json()
    assert list(body) == [sub]


def test_create_contact_then_duplicate_is_422(ac):
    created = ac.post("contacts", {"contact": {"email": "new@example.com", "firstName": "N",
                                               "fieldValues": [{"field": "1", "value": "42"}]}})
    assert created.status_code == 201
    assert created.json()["contact"]["email"] == "new@example.com"
    assert created.json()["fieldValues"][0]["value"] == "42"
    dup = ac.post("contacts", {"contact": {"email": "NEW@example.com"}})
    assert dup.status_code == 422 and dup.json() == DUPLICATE


@pytest.mark.parametrize(("contact", "code"), [({"firstName": "x"}, "field_missing"),
                                               ({"email": "not-an-email"}, "field_invalid")])
def test_create_contact_validation(ac, contact, code):
    response = ac.post("contacts", {"contact": contact})
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == code


def test_put_is_partial_and_bumps_udate(ac):
    before = ac.get("contacts/3").json()["contact"]
    after = ac.put("contacts/3", {"contact": {"firstName": "Changed"}}).json()["contact"]
    assert after["firstName"] == "Changed" and after["lastName"] == before["lastName"]
    assert after["udate"] == iso(time.time()) or after["udate"] > before["udate"]


def test_delete_then_404(ac):
    assert ac.delete("contacts/4").json() == {}
    assert ac.get("contacts/4").status_code == 404
    assert ac.delete("contacts/4").status_code == 404


def test_sync_creates_201_then_updates_200_case_insensitively(ac):
    first = ac.post("contact/sync", {"contact": {"email": "Sync@Example.com", "lastName": "A"}})
    assert first.status_code == 201
    second = ac.post("contact/sync", {"contact": {"email": "sync@example.com", "lastName": "B",
                                                  "fieldValues": [{"field": 6,
                                                                   "value": "Retail"}]}})
    assert second.status_code == 200
    assert second.json()["contact"]["id"] == first.json()["contact"]["id"]
    assert second.json()["contact"]["lastName"] == "B"
    assert any(fv["value"] == "Retail" for fv in second.json()["fieldValues"])


def test_writes_set_udate_in_account_time(ac):
    udate = ac.put("contacts/2", {"contact": {"phone": ""}}).json()["contact"]["udate"]
    assert udate[-6:] in ("-05:00", "-06:00")
