"""Currency custom fields (spec §5.4, §11): Abmatic amounts are major units, ActiveCampaign
stores cents and needs fieldCurrency; a re-run compares in cents and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from target_ac_testkit import run_target, singer, write_requests

from activecampaign_client import ActiveCampaignSession
from target_activecampaign import money


def stored(api: ActiveCampaignSession, domain: str) -> tuple[str, str]:
    (acc,) = [a for a in api.get("accounts", {"limit": 100})["accounts"]
              if domain in (a.get("accountUrl") or "")]
    meta = api.get("accountCustomFieldMeta")["accountCustomFieldMeta"]
    fid = next(str(m["id"]) for m in meta if m["fieldType"] == "currency")
    data = api.get("accountCustomFieldData", {"filters[customerAccountId]": acc["id"]})
    (datum,) = [d for d in data["accountCustomFieldData"] if str(d["customFieldId"]) == fid]
    return datum["fieldValue"], datum["fieldCurrency"]


def test_amounts_go_out_in_cents_with_their_currency_and_a_rerun_writes_nothing(
        config: dict, sandbox: Any, api: ActiveCampaignSession) -> None:
    records = [{"accountUrl": "https://cents-one.io", "name": "Cents One",
                "fields": {"Annual Revenue": 1234.56}},
               {"accountUrl": "cents-two.io", "name": "Cents Two",
                "fields": {"Annual Revenue": {"amount": "0.29", "currency": "eur"}}},
               {"accountUrl": "cents-three.io", "name": "Cents Three",
                "fields": {"Annual Revenue": 19.99}}]
    first = run_target({**config, "default_currency": "GBP"}, singer("accounts", records))
    assert first.counts("account") == {"created": 3}
    assert stored(api, "cents-one.io") == ("123456", "GBP")
    assert stored(api, "cents-two.io") == ("29", "EUR")
    assert stored(api, "cents-three.io") == ("1999", "GBP")  # not 1998 (float 19.99 * 100)
    sandbox.reset_stats()
    second = run_target({**config, "default_currency": "GBP", "default_mode": "overwrite"},
                        singer("accounts", records))
    assert second.counts("account") == {"unchanged": 3} and write_requests(sandbox) == 0


def test_a_seeded_amount_read_in_cents_is_no_change_and_a_new_amount_is_written(
        config: dict, sandbox: Any, api: ActiveCampaignSession) -> None:
    acc = next(a for a in sandbox.store.objects("accounts") if a["accountUrl"])
    fid = next(m["id"] for m in sandbox.store.objects("accountCustomFieldMeta")
               if m["fieldType"] == "currency")
    datum = next(d for d in sandbox.store.objects("accountCustomFieldData")
                 if str(d["accountId"]) == acc["id"] and str(d["customFieldId"]) == fid)
    before = str(datum["fieldValue"])
    dollars = int(before) / 100  # the Abmatic record carries major units
    overwrite = {**config, "default_mode": "overwrite"}
    sandbox.reset_stats()
    same = run_target(overwrite, singer("accounts", [
        {"accountUrl": acc["accountUrl"], "fields": {"Annual Revenue": dollars}}]))
    assert same.counts("account") == {"unchanged": 1} and write_requests(sandbox) == 0
    changed = run_target(overwrite, singer("accounts", [
        {"accountUrl": acc["accountUrl"], "fields": {"Annual Revenue": dollars + 1}}]))
    assert changed.counts("account") == {"updated": 1}
    (line,) = [x for x in changed.activity if x.get("object") == "account"]
    assert line["changes"]["fields.Annual Revenue"] == {"from": before,
                                                        "to": str(int(before) + 100)}
    assert sandbox.store["accountCustomFieldData"].rows[int(datum["id"])]["fieldValue"] == \
        str(int(before) + 100)


@pytest.mark.parametrize(("value", "words"), [
    (12.345, "more than two decimal places"), ("lots", "expects an amount"),
    ({"amount": 5, "currency": "dollars"}, "not a three-letter currency code")])
def test_an_amount_that_cannot_be_cents_exactly_is_rejected_naming_the_field(
        config: dict, api: ActiveCampaignSession, value: Any, words: str) -> None:
    result = run_target(config, singer("accounts", [
        {"accountUrl": "bad-cents.io", "fields": {"Annual Revenue": value}}]))
    line = result.by_key["bad-cents.io"][-1]
    assert line["outcome"] == "rejected" and "'Annual Revenue' (currency)" in line["message"]
    assert words in line["message"]
    assert result.rejects[0]["record"]["accountUrl"] == "bad-cents.io"


@pytest.mark.parametrize(("raw", "cents"), [
    (0.29, "29"), (1234.56, "123456"), ("1,000", "100000"), (-5.5, "-550"),
    ("1000000000000000.01", "100000000000000001")])
def test_conversion_to_cents_is_exact(raw: Any, cents: str) -> None:
    assert money.currency_value("Revenue", raw, "usd") == (cents, "USD")
