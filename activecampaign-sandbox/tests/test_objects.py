from __future__ import annotations

import pytest


def test_fields_list_carries_options_rels_and_string_total(shared):
    body = shared.get("fields").json()
    assert {"fieldOptions", "fieldRels", "fields", "meta"} <= set(body)
    assert isinstance(body["meta"]["total"], str)
    assert {f["type"] for f in body["fields"]} >= {"text", "textarea", "date", "dropdown",
                                                   "listbox", "number"}
    assert any(f["title"] == "Lead Score" for f in body["fields"])


def test_field_create_duplicate_title_and_crud(ac):
    created = ac.post("fields", {"field": {"title": "Plan", "type": "dropdown"}})
    assert created.status_code == 201 and created.json()["field"]["perstag"] == "PLAN"
    fid = created.json()["field"]["id"]
    dup = ac.post("fields", {"field": {"title": "plan", "type": "text"}})
    assert dup.status_code == 422 and dup.json()["errors"][0]["code"] == "duplicate"
    assert ac.post("fieldRels", {"fieldRel": {"field": fid, "relid": 0}}).status_code == 201
    opts = ac.post("fieldOption/bulk", {"fieldOptions": [{"field": fid, "label": "Pro",
                                                          "value": "pro"}]})
    assert opts.status_code == 201
    assert ac.get(f"fields/{fid}").json()["field"]["options"] == [
        opts.json()["fieldOptions"][0]["id"]]
    assert ac.put(f"fields/{fid}", {"field": {"descript": "d"}}).json()["field"]["descript"] == "d"
    assert ac.delete(f"fields/{fid}").json() == {}
    assert ac.get(f"fields/{fid}").status_code == 404


def test_field_value_post_is_200_multi_value_and_bumps_udate(ac, sb):
    sb.store.touch_contacts([8], ts=1_600_000_000)
    response = ac.post("fieldValues", {"fieldValue": {"contact": "8", "field": "3",
                                                      "value": ["ABM", "SEO"]}})
    assert response.status_code == 200
    assert response.json()["fieldValue"]["value"] == "||ABM||SEO||"
    assert response.json()["contacts"][0]["udate"] > "2020-09-13T07:26:40-05:00"
    listed = ac.get("fieldValues", **{"filters[contact]": 8, "filters[fieldid]": 3}).json()
    assert [fv["value"] for fv in listed["fieldValues"]] == ["||ABM||SEO||"]
    fv_id = listed["fieldValues"][0]["id"]
    assert ac.put(f"fieldValues/{fv_id}", {"fieldValue": {"value": "x"}}).status_code == 200
    assert ac.delete(f"fieldValues/{fv_id}").json() == {}
    assert ac.get(f"fieldValues/{fv_id}").status_code == 404


def test_field_values_filter_by_value(shared):
    body = shared.get("fieldValues", **{"filters[fieldid]": 6, "filters[val]": "Retail"}).json()
    assert body["fieldValues"] and all(fv["value"] == "Retail" for fv in body["fieldValues"])


def test_accounts_search_counts_and_quirky_urls(shared):
    body = shared.get("accounts", search="o'reilly", count_deals="true").json()
    assert [a["name"] for a in body["accounts"]] == ["O'Reilly Media"]
    account = body["accounts"][0]
    assert isinstance(account["contactCount"], str) and isinstance(account["dealCount"], str)
    assert shared.get("accounts").json()["accounts"][0]["contactCount"] == "0"
    urls = {a["accountUrl"] for a in shared.sb.store.objects("accounts")}
    assert any(u.startswith("https://www.") for u in urls)
    assert any(u.startswith("WWW.") for u in urls) and any(u.endswith("/about") for u in urls)


@pytest.mark.parametrize(("account", "code"), [({"accountUrl": "x.com"}, "field_missing"),
                                               ({"name": "o'reilly MEDIA"}, "duplicate")])
def test_account_create_errors(ac, account, code):
    response = ac.post("accounts", {"account": account})
    assert response.status_code == 422 and response.json()["errors"][0]["code"] == code


def test_account_create_with_fields_and_crud(ac):
    response = ac.post("accounts", {"account": {"name": "New Co", "accountUrl": "newco.com",
                                                "fields": [{"customFieldId": 1,
                                                            "fieldValue": "+1 555"}]}})
    assert response.status_code == 201
    account = response.json()["account"]
    assert account["fields"][0]["fieldValue"] == "+1 555"
    data = ac.get("accountCustomFieldData", **{"filters[customerAccountId]": account["id"]})
    assert [d["fieldValue"] for d in data.json()["accountCustomFieldData"]] == ["+1 555"]
    updated = ac.put(f"accounts/{account['id']}", {"account": {"accountUrl": "https://newco.com"}})
    assert updated.json()["account"]["accountUrl"] == "https://newco.com"
    assert ac.delete(f"accounts/{account['id']}").json() == {}
    assert ac.get(f"accounts/{account['id']}").status_code == 404


def test_a_contact_belongs_to_one_account_only(ac):
    linked = ac.get("accountContacts").json()["accountContacts"][0]
    again = ac.post("accountContacts", {"accountContact": {"contact": linked["contact"],
                                                           "account": "2"}})
    assert again.status_code == 422 and again.json()["errors"][0]["code"] == "field_invalid"
    new = ac.post("contacts", {"contact": {"email": "solo@example.com"}}).json()["contact"]
    made = ac.post("accountContacts", {"accountContact": {"contact": new["id"], "account": "2",
                                                          "jobTitle": "CTO"}})
    assert made.status_code == 201 and made.json()["accountContact"]["jobTitle"] == "CTO"
    listed = ac.get("accountContacts", **{"filters[contact]": new["id"]}).json()
    assert listed["meta"]["total"] == "1"
    link = made.json()["accountContact"]["id"]
    assert ac.put(f"accountContacts/{link}", {"accountContact": {"jobTitle": "CEO"}}).json()[
        "accountContact"]["jobTitle"] == "CEO"
    assert ac.delete(f"accountContacts/{link}").json() == {}
    missing = ac.get(f"accountContacts/{link}").json()["message"]
    assert "CustomerAccountSubscriber" in missing


@pytest.mark.parametrize("kind", ["account", "deal"])
def test_custom_field_meta_wrappers_ints_and_no_meta(ac, kind):
    body = ac.get(f"{kind}CustomFieldMeta").json()
    assert list(body) == [f"{kind}CustomFieldMeta"]
    item = body[f"{kind}CustomFieldMeta"][0]
    assert all(isinstance(item[k], int) for k in ("displayOrder", "isFormVisible", "isRequired"))
    created = ac.post(f"{kind}CustomFieldMeta", {f"{kind}CustomFieldMetum": {
        "fieldLabel": "Region", "fieldType": "dropdown", "fieldOptions": ["EU", "US"]}})
    assert created.status_code == 200
    meta_id = created.json()[f"{kind}CustomFieldMetum"]["id"]
    assert ac.delete(f"{kind}CustomFieldMeta/{meta_id}").json()["message"].endswith("deleted.")
    assert ac.get(f"{kind}CustomFieldMeta/{meta_id}").json() == {
        "errors": [{"status": 404, "title": "Not Found"}]}


@pytest.mark.parametrize(("kind", "owner_key", "filter_key"),
                         [("account", "accountId", "customerAccountId"),
                          ("deal", "dealId", "dealId")])
def test_custom_field_data_datum_bulk_create_and_update(ac, kind, owner_key, filter_key):
    post_owner = "customerAccountId" if kind == "account" else "dealId"
    single = ac.post(f"{kind}CustomFieldData", {f"{kind}CustomFieldDatum": {
        post_owner: 3, "customFieldId": 2, "fieldValue": "7"}})
    assert single.status_code == 200
    datum = single.json()[f"{kind}CustomFieldDatum"]
    assert isinstance(datum[owner_key], int) and isinstance(datum["customFieldId"], int)
    bulk = ac.post(f"{kind}CustomFieldData/bulkCreate",
                   [{owner_key: 4, "customFieldId": 2, "fieldValue": "9"}])
    assert bulk.status_code == 200
    assert bulk.json() == {"message": "the bulk insert was successful"}
    listed = ac.get(f"{kind}CustomFieldData", **{f"filters[{filter_key}]": 4}).json()
    assert "meta" not in listed
    row = next(d for d in listed[f"{kind}CustomFieldData"] if d["customFieldId"] == 2)
    assert row["fieldValue"] == "9"
    patched = ac.patch(f"{kind}CustomFieldData/bulkUpdate", [{"id": row["id"],
                                                              "fieldValue": "10"}])
    assert patched.status_code == 200
    assert ac.get(f"{kind}CustomFieldData/{row['id']}").json()[
        f"{kind}CustomFieldDatum"]["fieldValue"] == "10"


def test_deals_types_meta_and_filters(shared):
    body = shared.get("deals", limit=100).json()
    assert isinstance(body["meta"]["total"], int)
    assert "USD" in body["meta"]["currencies"]
    deal = body["deals"][0]
    assert isinstance(deal["value"], str) and deal["value"].isdigit()
    assert deal["currency"] == "usd"
    assert {d["status"] for d in shared.sb.store.objects("deals")} == {"0", "1", "2"}
    won = shared.get("deals", **{"filters[status]": "1"}).json()
    assert all(d["status"] == "1" for d in won["deals"])
    mdate = deal["mdate"]
    after = shared.get("deals", **{"filters[updated_after]": mdate, "limit": 100}).json()
    assert deal["id"] in {d["id"] for d in after["deals"]}
    staged = shared.get("deals", **{"filters[stage]": deal["stage"], "limit": 100}).json()
    assert all(d["stage"] == deal["stage"] for d in staged["deals"])


def test_deal_create_echoes_ints_then_crud(ac):
    created = ac.post("deals", {"deal": {"title": "Big", "contact": "1", "value": 45600,
                                         "currency": "USD", "stage": "2"}})
    assert created.status_code == 201
    deal = created.json()["deal"]
    assert deal["value"] == 45600 and deal["stage"] == 2 and deal["currency"] == "usd"
    assert ac.get(f"deals/{deal['id']}").json()["deal"]["value"] == "45600"
    won = ac.put(f"deals/{deal['id']}", {"deal": {"status": 1}}).json()["deal"]
    assert won["status"] == "1"
    assert ac.delete(f"deals/{deal['id']}").json() == {}


def test_deal_groups_sideload_stages(shared):
    body = shared.get("dealGroups").json()
    assert len(body["dealGroups"]) == 2
    stage_ids = {s["id"] for s in body["dealStages"]}
    assert all(set(g["stages"]) <= stage_ids for g in body["dealGroups"])
    staged = shared.get("dealStages", **{"filters[d_groupid]": 2}).json()["dealStages"]
    assert staged and all(s["group"] == "2" for s in staged)


def test_lists_carry_naive_timestamps(shared):
    lst = shared.get("lists").json()["lists"][0]
    assert len(lst["created_timestamp"]) == 19 and "T" not in lst["updated_timestamp"]


def test_contact_list_subscribe_and_unsubscribe(ac):
    new = ac.post("contacts", {"contact": {"email": "sub@example.com"}}).json()["contact"]
    sub = ac.post("contactLists", {"contactList": {"list": 1, "contact": new["id"],
                                                   "status": 1}})
    assert sub.status_code == 200 and sub.json()["contactList"]["status"] == "1"
    for key in ("sdate", "udate", "created_timestamp", "updated_timestamp"):
        assert sub.json()["contactList"][key]
    unsub = ac.post("contactLists", {"contactList": {"list": 1, "contact": new["id"],
                                                     "status": 2}})
    assert unsub.json()["contactList"]["status"] == "2"
    rows = ac.get("contactLists", **{"filters[contact]": new["id"]}).json()["contactLists"]
    assert len(rows) == 1


def test_tags_and_contact_tags(ac):
    assert ac.get("tags", search="vi").json()["tags"][0]["tag"] == "vip"
    tag = ac.post("tags", {"tag": {"tag": "hot", "tagType": "contact"}})
    assert tag.status_code == 201
    tid = tag.json()["tag"]["id"]
    first = ac.post("contactTags", {"contactTag": {"contact": "2", "tag": tid}})
    again = ac.post("contactTags", {"contactTag": {"contact": "2", "tag": tid}})
    assert first.status_code == again.status_code == 201
    assert first.json()["contactTag"]["id"] == again.json()["contactTag"]["id"]
    unknown = ac.post("contactTags", {"contactTag": {"contact": "99999", "tag": tid}})
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["status"] == 404
    link = first.json()["contactTag"]["id"]
    assert ac.delete(f"contactTags/{link}").json() == {}
    assert ac.get("contactTags", **{"filters[tag]": tid}).json()["meta"]["total"] == "0"


def test_segments_and_automations_shapes(shared):
    segment = shared.get("segments").json()["segments"][0]
    assert {"id", "name", "logic", "hidden", "seriesid", "created_timestamp",
            "updated_timestamp"} <= set(segment)
    automation = shared.get("automations").json()["automations"][0]
    assert {"name", "cdate", "mdate", "userid", "status", "entered", "exited", "hidden",
            "id"} <= set(automation)


def test_contact_automations_enrol_and_unknown_is_403(ac):
    made = ac.post("contactAutomations", {"contactAutomation": {"contact": "2",
                                                                "automation": "1"}})
    assert made.status_code == 201 and made.json()["contacts"][0]["id"] == "2"
    run = made.json()["contactAutomation"]
    assert isinstance(run["completed"], int)
    bad = ac.post("contactAutomations", {"contactAutomation": {"contact": "2",
                                                               "automation": "999"}})
    assert bad.status_code == 403
    assert bad.json() == {"message": "Could not create SubscriberSeries"}
    assert ac.delete(f"contactAutomations/{run['id']}").json() == {}


def test_users(shared):
    assert shared.get("users/me").json()["user"]["username"] == "admin"
    assert shared.get("users").json()["meta"]["total"] == "1"


def test_every_seeded_object_carries_the_id_and_timestamps_its_table_row_names(shared):
    """OBJECTS (activecampaign_client) is the one table of objects: the sandbox answers with
    its list key, wrapper key and the id / created / updated fields it names (spec §1
    envelopes and timestamp names, §2 meta, §4 the 404 bodies by model)."""
    from activecampaign_client.objects import OBJECTS

    for name, obj in OBJECTS.items():
        if name in ("fieldOptions", "fieldRels"):
            continue  # no list route of their own (they come with /fields)
        body = shared.get(obj.path, limit=1).json()
        assert ("meta" in body) is obj.has_meta, name
        row = body[obj.list_key][0]
        assert {obj.id_field, obj.created, obj.updated} - {None} <= set(row), name
        one = shared.get(f"{obj.path}/{row[obj.id_field]}").json()
        assert one[obj.singular_key][obj.id_field] == row[obj.id_field], name
        missing = shared.get(f"{obj.path}/999999")
        assert missing.status_code == 404, name
        if obj.model:
            assert missing.json() == {
                "message": f"No Result found for {obj.model} with id 999999"}, name
