"""Account behaviours the tap's reads depend on (spec §2, §5, §11)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from activecampaign_sandbox.__main__ import behaviour_from, parse_args

sys.path.insert(0, str(Path(__file__).parent))  # sandbox_client (pytest runs importlib mode)
from sandbox_client import Client, account

PERMISSION_403 = {"errors": [{"status": 403, "title": "Forbidden",
                              "detail": "You do not have permission to view deals."}]}


def test_a_denied_object_type_answers_the_permission_403_on_all_its_routes() -> None:
    """spec §11: a user whose role lacks an object type gets 403 with "You do not have
    permission to view <objects>." on its routes, not the bare bad-key body."""
    with account(denied_objects=frozenset({"deals"})) as ac:
        deal_id = ac.sb.store.objects("deals")[0]["id"]
        contact_id = ac.sb.store.objects("contacts")[0]["id"]
        for path in ("deals", f"deals/{deal_id}", "dealCustomFieldData", "dealCustomFieldMeta",
                     "dealGroups", "dealStages", f"contacts/{contact_id}/deals"):
            answer = ac.get(path)
            assert (answer.status_code, answer.json()) == (403, PERMISSION_403), path
        for path in ("contacts", "accounts", "users/me", f"contacts/{contact_id}"):
            assert ac.get(path).status_code == 200, path


def test_a_bad_key_still_gets_the_bare_forbidden_when_objects_are_denied() -> None:
    """spec §1/§11: a bad key is refused before any permission check, with the bare body."""
    with account(denied_objects=frozenset({"deals"})) as ac:
        ac.http.headers["Api-Token"] = "wrong"
        answer = ac.get("deals")
        assert (answer.status_code, answer.json()) == (403, {"message": "Forbidden"})


def test_the_deny_flag_sets_the_denied_objects() -> None:
    """spec §11: ``--deny deals --deny lists`` makes an account whose user lacks both."""
    behaviour = behaviour_from(parse_args(["--deny", "deals", "--deny", "lists"]))
    assert behaviour.denied_objects == frozenset({"deals", "lists"})
    assert behaviour_from(parse_args([])).denied_objects == frozenset()


def _ids(answer: object, key: str) -> list[str]:
    assert isinstance(answer, dict)
    return [item["id"] for item in answer[key]]


def test_custom_field_lists_ignore_limit_and_offset_by_default() -> None:
    """spec §11: custom-field meta/data document no offset; by default every row comes back
    on every call whatever limit/offset say (a loop on "a full page means more" never ends)."""
    with account(contacts=300) as ac:
        everything = sorted(str(o["id"]) for o in ac.sb.store.objects("accountCustomFieldData"))
        assert len(everything) > 100
        first = ac.get("accountCustomFieldData", limit=100, offset=0).json()
        second = ac.get("accountCustomFieldData", limit=100, offset=100).json()
        assert sorted(_ids(first, "accountCustomFieldData")) == everything
        assert _ids(second, "accountCustomFieldData") == _ids(first, "accountCustomFieldData")
        assert "meta" not in first


def test_custom_field_lists_can_honour_only_limit_or_both() -> None:
    """spec §11: accounts differ; "first" honours limit but not offset, "offset" both."""
    with account(contacts=300, custom_field_paging="first") as ac:
        first = _ids(ac.get("accountCustomFieldData", limit=10, offset=0).json(),
                     "accountCustomFieldData")
        again = _ids(ac.get("accountCustomFieldData", limit=10, offset=10).json(),
                     "accountCustomFieldData")
        assert len(first) == 10 and again == first
    with account(contacts=300, custom_field_paging="offset") as ac:
        first = _ids(ac.get("dealCustomFieldData", limit=10, offset=0).json(),
                     "dealCustomFieldData")
        later = _ids(ac.get("dealCustomFieldData", limit=10, offset=10).json(),
                     "dealCustomFieldData")
        assert len(first) == 10 and not set(first) & set(later)
    flags = parse_args(["--custom-field-paging", "first"])
    assert behaviour_from(flags).custom_field_paging == "first"


def test_contact_sub_lists_page_with_limit_and_offset() -> None:
    """spec §11 [S]: sub-lists page (AC's own link: contactAutomations?limit=1000); default
    20 a page here, no meta."""
    with account(contacts=20) as ac:
        store = ac.sb.store
        contact = int(store.objects("contacts")[0]["id"])
        for tag in range(25):
            store.add_tag(contact, int(store.new_tag(f"bulk tag {tag}")["id"]))
        mine = store["contactTags"].where("contact", contact)
        default = ac.get(f"contacts/{contact}/contactTags").json()
        assert len(default["contactTags"]) == 20 and "meta" not in default
        pages = [_ids(ac.get(f"contacts/{contact}/contactTags", limit=10, offset=o).json(),
                      "contactTags") for o in (0, 10, 20)]
        assert [len(p) for p in pages] == [10, 10, len(mine) - 20]
        assert sorted(int(i) for page in pages for i in page) == mine
        whole = ac.get(f"contacts/{contact}/contactTags", limit=1000).json()["contactTags"]
        assert len(whole) == len(mine)


def test_utc_timestamps_carry_the_account_wall_time_of_cdate_and_udate() -> None:
    """spec §11: cdate "2018-09-28T13:50:41-05:00" pairs with created_utc_timestamp
    "2018-09-28 13:50:41": the naive fields hold the account's local wall time, not UTC."""
    with account(contacts=30) as ac:
        contacts = ac.get("contacts", limit=100).json()["contacts"]
        contacts.append(ac.get(f"contacts/{contacts[0]['id']}").json()["contact"])
        for contact in contacts:
            assert contact["created_utc_timestamp"] == contact["cdate"][:19].replace("T", " ")
            assert contact["updated_utc_timestamp"] == contact["udate"][:19].replace("T", " ")


def test_account_counts_are_zero_unless_count_deals_is_asked() -> None:
    """spec §5.3/§11: contactCount/dealCount are "0" strings without count_deals=true."""
    with account(contacts=100) as ac:
        plain = ac.get("accounts", limit=100).json()["accounts"]
        counted = ac.get("accounts", limit=100, count_deals="true").json()["accounts"]
        assert {(a["contactCount"], a["dealCount"]) for a in plain} == {("0", "0")}
        assert any(a["contactCount"] != "0" for a in counted)
        assert any(a["dealCount"] != "0" for a in counted)


def _contact_at(ac: Client, when: datetime) -> str:
    store = ac.sb.store
    cid = int(store.objects("contacts")[0]["id"])
    store.touch_contacts([cid], ts=when.timestamp())
    return str(cid)


def _updated_after(ac: Client, value: str) -> set[str]:
    answer = ac.get("contacts", limit=100, **{"filters[updated_after]": value}).json()
    return {c["id"] for c in answer["contacts"]}


WHEN = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)  # 06:00 in America/Chicago (-06:00)


def test_date_filters_honour_offsets_to_the_second_by_default() -> None:
    """spec §2/§8: filters[updated_after] is inclusive on udate; here offsets are honoured."""
    with account(contacts=20) as ac:
        cid = _contact_at(ac, WHEN)
        assert cid in _updated_after(ac, "2030-01-15T12:00:00Z")
        assert cid not in _updated_after(ac, "2030-01-15T12:00:01Z")


def test_an_account_can_read_filter_values_in_account_time_ignoring_the_offset() -> None:
    """spec §2/§9 [U]: timezone unconfirmed; "account-time" reads 12:00Z as 12:00 Chicago
    (18:00 UTC), so a contact changed at 12:00 UTC falls outside the filter."""
    with account(contacts=20, date_filters="account-time") as ac:
        cid = _contact_at(ac, WHEN)
        assert cid not in _updated_after(ac, "2030-01-15T12:00:00Z")
        assert cid in _updated_after(ac, "2030-01-15T06:00:00Z")
        assert cid in _updated_after(ac, "2030-01-15 06:00:00")


def test_an_account_can_read_only_the_date_of_a_filter_value() -> None:
    """spec §2/§9 [U]: granularity unconfirmed; "account-day" keeps the date, from 00:00 in
    account time, whatever time or offset follows."""
    with account(contacts=20, date_filters="account-day") as ac:
        cid = _contact_at(ac, WHEN)
        assert cid in _updated_after(ac, "2030-01-15T23:59:59Z")
        assert cid not in _updated_after(ac, "2030-01-16T00:00:00-06:00")
    assert behaviour_from(parse_args(["--date-filters", "account-day"])).date_filters == \
        "account-day"


def _segment_ids(ac: Client, **params: object) -> list[str]:
    return [c["id"] for c in ac.get("contacts", segmentid=2, limit=100, **params)
            .json()["contacts"]]


def test_a_segment_is_evaluated_asynchronously_and_cached_for_an_hour() -> None:
    """spec §2/§11: the first GET /contacts?segmentid= starts the evaluation and answers with
    segment information instead of the members; later calls return them (cached 1 h)."""
    with account(contacts=100) as ac:
        members = sorted(str(c) for c in ac.sb.store.contacts_in_segment(2))
        assert members
        first = ac.get("contacts", segmentid=2, limit=100).json()
        assert first["contacts"] == [] and first["segment"]["id"] == "2"
        assert sorted(_segment_ids(ac)) == members
        assert sorted(_segment_ids(ac, offset=0)) == members  # cached: ready at once
        clock = ac.sb.store.clock
        ac.sb.store.clock = lambda: clock() + 3601  # the cached result expired
        assert _segment_ids(ac) == []
        assert sorted(_segment_ids(ac)) == members


def test_force_query_restarts_a_segment_evaluation_and_readiness_is_configurable() -> None:
    """spec §2/§11: forceQuery=1 starts a new evaluation; how many calls it takes differs."""
    with account(contacts=100, segment_ready_after=3) as ac:
        answers = [_segment_ids(ac) for _ in range(4)]
        assert answers[:3] == [[], [], []] and answers[3]
        assert _segment_ids(ac, forceQuery=1) == []
    with account(contacts=100, segment_ready_after=0) as ac:
        assert _segment_ids(ac)  # synchronous
    assert behaviour_from(parse_args(["--segment-ready-after", "4"])).segment_ready_after == 4
