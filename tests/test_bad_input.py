"""The bad-input catalogue: every plugin, fed what users really send, as a user runs it.

Each case runs a real console script (config file + stdin) against one in-process sandbox and
checks three things: the run fails or reports a reject as it should; the message names the
record (its key, id or input line) and the field; and nothing is lost (the valid records
around the bad one were written or emitted, the bad one is in the rejects file). Mixed-case
emails and odd website forms are not errors: they are normalized and matched, no duplicates.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # bad_input_helpers (pytest runs importlib mode)
from bad_input_helpers import (
    ACCOUNTS,
    CASES,
    KEY,
    Env,
    Run,
    case,
    failed_cleanly,
    lines,
    mapper_rejected,
    record,
    rejected,
    run_plugin,
    schema,
    written,
)

for _module in sorted(Path(__file__).parent.glob("bad_input_cases_*.py")):
    importlib.import_module(_module.stem)  # each registers its cases with @case


@pytest.fixture(scope="module", params=ACCOUNTS)
def sandbox(request: pytest.FixtureRequest) -> Iterator[Any]:
    from activecampaign_sandbox import AccountBehaviour, Sandbox

    behaviour = AccountBehaviour(sideloads=request.param == "sideloads")
    with Sandbox(seed="demo", contacts=20, rate_limit=None, api_key=KEY,
                 behaviour=behaviour) as sb:
        sb.account = request.param
        yield sb


@pytest.fixture
def env(sandbox: Any, tmp_path: Path) -> Env:
    return Env(sandbox.base_url, sandbox.store, tmp_path, sandbox.account)


def no_state(run: Run) -> None:
    """The target emitted no STATE (it writes state values as bare JSON lines on stdout)."""
    assert run.stdout.strip() == "", run.stdout[-1000:]


# ----------------------------------------------------------------------------- target
@case("target-malformed-json-line")
def _(env: Env) -> None:
    run = env.target(lines(schema("contacts"), record("contacts", {"email": "t1a@x.io"}),
                           '{"type": "RECORD", "stream": "contacts", broken',
                           record("contacts", {"email": "t1b@x.io"}),
                           {"type": "STATE", "value": {"bookmarks": {"contacts": 1}}}))
    failed_cleanly(run, "Input line 3 is not valid JSON")
    written(run, env, "t1a@x.io", "t1b@x.io")
    assert [r["line"] for r in run.rejects if r["outcome"] == "unreadable"] == [3]
    assert "broken" in run.rejects[0]["raw"]
    no_state(run)


@case("target-line-without-type")
def _(env: Env) -> None:
    run = env.target(lines(schema("contacts"), record("contacts", {"email": "t2a@x.io"}),
                           {"stream": "contacts", "record": {"email": "t2x@x.io"}},
                           record("contacts", {"email": "t2b@x.io"})))
    failed_cleanly(run, 'Input line 3 is missing "type"')
    written(run, env, "t2a@x.io", "t2b@x.io")


@case("target-record-before-schema")
def _(env: Env) -> None:
    run = env.target(lines(record("contacts", {"email": "t3x@x.io"}), schema("contacts"),
                           record("contacts", {"email": "t3b@x.io"})))
    failed_cleanly(run, "Input line 1", "before its SCHEMA")
    rejected(run, "t3x@x.io", "Input line 1")
    written(run, env, "t3b@x.io")
    assert "t3x@x.io" not in env.emails()


@case("target-wrong-type-first-name")
def _(env: Env) -> None:
    run = env.target(lines(schema("contacts"), record("contacts", {"email": "t4a@x.io"}),
                           record("contacts", {"email": "t4x@x.io", "firstName": 123}),
                           record("contacts", {"email": "t4b@x.io"})))
    assert run.returncode == 0, run.stderr[-2000:]
    rejected(run, "t4x@x.io", "Input line 3: ", "'firstName'", "got int 123")
    written(run, env, "t4a@x.io", "t4b@x.io")


@case("target-lists-not-an-array")
def _(env: Env) -> None:
    run = env.target(lines(schema("contacts"), record("contacts", {"email": "t5a@x.io"}),
                           record("contacts", {"email": "t5x@x.io", "lists": {"a": 1}})))
    assert run.returncode == 0
    rejected(run, "t5x@x.io", "'lists'")
    written(run, env, "t5a@x.io")


@case("target-missing-email")
def _(env: Env) -> None:
    run = env.target(lines(schema("contacts"), record("contacts", {"email": "t6a@x.io"}),
                           record("contacts", {"firstName": "No Email"}),
                           record("contacts", {"email": "t6b@x.io"})))
    assert run.returncode == 0, run.stderr[-2000:]
    rejected(run, "input line 3", "required field 'email' is missing")
    assert run.rejects[0]["record"] == {"firstName": "No Email"}
    written(run, env, "t6a@x.io", "t6b@x.io")


@case("target-invalid-email")
def _(env: Env) -> None:
    run = env.target(lines(schema("contacts"), record("contacts", {"email": "t7a@x.io"}),
                           record("contacts", {"email": "not-an-email"}),
                           record("contacts", {"email": "t7b@x.io"})))
    assert run.returncode == 0
    rejected(run, "not-an-email", "Invalid email address 'not-an-email'", "field 'email'")
    written(run, env, "t7a@x.io", "t7b@x.io")


@case("target-mixed-case-email-matches-existing-contact")
def _(env: Env) -> None:
    existing = next(e for e in env.emails() if e)
    total = len(env.emails())
    run = env.target(lines(schema("contacts"),
                           record("contacts", {"email": f"  {existing.upper()} ",
                                               "firstName": "Anything"})))
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.outcomes().get(existing) in ("updated", "unchanged"), run.activity
    assert env.emails().count(existing) == 1 and len(env.emails()) == total


@case("target-account-url-odd-forms-match-existing-accounts")
def _(env: Env) -> None:
    total = len(env.objects("accounts"))
    run = env.target(lines(schema("accounts"),
                           record("accounts", {"accountUrl": "HTTPS://WWW.OReillyMedia.COM/about?x=1"}),
                           record("accounts", {"accountUrl": "www.cafnezsa.com."}),
                           record("accounts", {"accountUrl": "http://cafnezsa.com:8080/team"})))
    assert run.returncode == 0, run.stderr[-2000:]
    assert set(run.outcomes("account")) == {"oreillymedia.com", "cafnezsa.com"}
    assert "created" not in run.outcomes("account").values()
    assert len(env.objects("accounts")) == total


@case("target-contact-account-domain-odd-form-links-existing-account")
def _(env: Env) -> None:
    accounts = {a["name"]: a["id"] for a in env.objects("accounts")}
    total = len(accounts)
    run = env.target(lines(schema("contacts"),
                           record("contacts", {"email": "t10@x.io",
                                               "account_domain": " WWW.OReillyMedia.com/About "})))
    assert run.returncode == 0, run.stderr[-2000:]
    contact = next(c for c in env.objects("contacts") if c["email"] == "t10@x.io")
    links = [ac for ac in env.objects("accountContacts")
             if str(ac["contact"]) == str(contact["id"])]
    assert [str(link["account"]) for link in links] == [str(accounts["O'Reilly Media"])]
    assert len(env.objects("accounts")) == total


@case("target-account-url-not-a-domain")
def _(env: Env) -> None:
    total = len(env.objects("accounts"))
    run = env.target(lines(schema("accounts"), record("accounts", {"accountUrl": "not a site"}),
                           record("accounts", {"accountUrl": "https://blog.t11-new.org"})))
    assert run.returncode == 0
    rejected(run, "not a site", "accountUrl 'not a site' is not a website domain", obj="account")
    assert run.outcomes("account").get("t11-new.org") == "created"  # its registrable domain
    assert len(env.objects("accounts")) == total + 1


@case("target-oversized-first-name")
def _(env: Env) -> None:
    run = env.target(lines(schema("contacts"), record("contacts", {"email": "t12a@x.io"}),
                           record("contacts", {"email": "t12x@x.io", "firstName": "A" * 300})))
    assert run.returncode == 0
    rejected(run, "t12x@x.io", "'firstName' is 300 characters long", "at most 255")
    written(run, env, "t12a@x.io")
    assert "t12x@x.io" not in env.emails()


@case("target-control-character-in-last-name")
def _(env: Env) -> None:
    run = env.target(lines(schema("contacts"), record("contacts", {"email": "t13a@x.io"}),
                           record("contacts", {"email": "t13x@x.io", "lastName": "Ab\x00c"})))
    assert run.returncode == 0
    rejected(run, "t13x@x.io", "'lastName' contains the control character U+0000")
    written(run, env, "t13a@x.io")


@case("target-control-character-in-custom-field")
def _(env: Env) -> None:
    run = env.target(lines(schema("contacts"), record("contacts", {"email": "t14a@x.io"}),
                           record("contacts", {"email": "t14x@x.io",
                                               "fields": {"Industry": "Retail\x07"}})))
    assert run.returncode == 0
    rejected(run, "t14x@x.io", "'Industry' contains the control character U+0007")
    written(run, env, "t14a@x.io")


@case("target-unicode-names-kept-intact")
def _(env: Env) -> None:
    name = "Zoë Dvořák 王伟 😀"
    run = env.target(lines(schema("contacts"),
                           record("contacts", {"email": "t15@x.io", "firstName": name,
                                               "lastName": "O'Brien"})))
    assert run.returncode == 0, run.stderr[-2000:]
    written(run, env, "t15@x.io")
    stored = next(c for c in env.objects("contacts") if c["email"] == "t15@x.io")
    assert (stored["firstName"], stored["lastName"]) == (name, "O'Brien")


@case("target-unknown-custom-field")
def _(env: Env) -> None:
    run = env.target(lines(schema("contacts"), record("contacts", {"email": "t16a@x.io"}),
                           record("contacts", {"email": "t16x@x.io", "fields": {"Nope": "1"}})))
    assert run.returncode == 0
    rejected(run, "t16x@x.io", "Unknown contact custom field 'Nope'", "Lead Score")
    written(run, env, "t16a@x.io")


@case("target-custom-field-value-of-wrong-type")
def _(env: Env) -> None:
    run = env.target(lines(schema("contacts"), record("contacts", {"email": "t17a@x.io"}),
                           record("contacts", {"email": "t17x@x.io",
                                               "fields": {"Lead Score": "high"}})))
    assert run.returncode == 0
    rejected(run, "t17x@x.io", "Field 'Lead Score' (number) expects a number, got 'high'")
    written(run, env, "t17a@x.io")


@case("target-custom-fields-not-an-object")
def _(env: Env) -> None:
    run = env.target(lines(schema("contacts"), record("contacts", {"email": "t18a@x.io"}),
                           record("contacts", {"email": "t18x@x.io", "fields": "Lead Score=5"})))
    assert run.returncode == 0
    rejected(run, "t18x@x.io", "field 'fields' must be object or null")
    written(run, env, "t18a@x.io")


@case("target-unknown-list")
def _(env: Env) -> None:
    run = env.target(lines(schema("contacts"), record("contacts", {"email": "t19a@x.io"}),
                           record("contacts", {"email": "t19x@x.io", "lists": ["No Such List"]})))
    assert run.returncode == 0
    rejected(run, "t19x@x.io", "Unknown list 'No Such List'")
    written(run, env, "t19a@x.io")


@case("target-unknown-automation")
def _(env: Env) -> None:
    run = env.target(lines(schema("contacts"), record("contacts", {"email": "t20a@x.io"}),
                           record("contacts", {"email": "t20x@x.io",
                                               "automations": ["No Such Flow"]})))
    assert run.returncode == 0
    rejected(run, "t20x@x.io", "Unknown automation 'No Such Flow'")
    written(run, env, "t20a@x.io")


@case("target-unknown-tag-is-created-once")
def _(env: Env) -> None:
    run = env.target(lines(schema("contacts"),
                           record("contacts", {"email": "t21a@x.io", "tags": ["t21-new-tag"]}),
                           record("contacts", {"email": "t21b@x.io", "tags": ["T21-New-Tag"]})))
    assert run.returncode == 0, run.stderr[-2000:]
    written(run, env, "t21a@x.io", "t21b@x.io")
    tags = [t for t in env.objects("tags") if t["tag"].lower() == "t21-new-tag"]
    assert len(tags) == 1
    tagged = {str(ct["contact"]) for ct in env.objects("contactTags")
              if str(ct["tag"]) == str(tags[0]["id"])}
    assert len(tagged) == 2


@case("target-settings-url-without-https")
def _(env: Env) -> None:
    run = run_plugin("target-activecampaign",
                     {"api_url": "http://acme.api-us1.com", "api_key": KEY}, env.workdir,
                     lines(schema("contacts"), record("contacts", {"email": "t22@x.io"})))
    failed_cleanly(run, "api_url 'http://acme.api-us1.com' must use https://")


@case("target-settings-key-with-whitespace")
def _(env: Env) -> None:
    run = env.target(lines(schema("contacts")), api_key=f"{KEY} \n")
    failed_cleanly(run, "api_key contains whitespace")
    assert KEY not in run.everything().replace(str(env.workdir), "")


@case("target-settings-unknown-default-mode")
def _(env: Env) -> None:
    run = env.target("", default_mode="fil")
    failed_cleanly(run, "'fil' is not one of ['fill', 'overwrite']", "default_mode")


@case("target-settings-unknown-field-mode")
def _(env: Env) -> None:
    run = env.target("", modes={"firstName": "replace"})
    failed_cleanly(run, "modes.firstName: sync mode 'replace' is not one of fill, overwrite")


@case("target-schema-x-sync-unknown-mode")
def _(env: Env) -> None:
    bad = schema("contacts")
    bad["schema"] = {**bad["schema"], "x-sync": {"modes": {"lastName": "fil"}}}
    run = env.target(lines(bad, record("contacts", {"email": "t26@x.io"}),
                           {"type": "STATE", "value": {"bookmarks": {"contacts": 1}}}))
    failed_cleanly(run, "stream 'contacts' SCHEMA x-sync modes.lastName: sync mode 'fil'")
    assert "t26@x.io" not in env.emails()
    no_state(run)


@case("target-api-key-rejected-by-activecampaign")
def _(env: Env) -> None:
    run = env.target(lines(schema("contacts"), record("contacts", {"email": "t27@x.io"}),
                           {"type": "STATE", "value": {"bookmarks": {"contacts": 1}}}),
                     api_key="wrong-key-777")
    failed_cleanly(run, "ActiveCampaign rejected the API key (HTTP 403", "API Access")
    assert "wrong-key-777" not in run.everything()
    no_state(run)
    assert "t27@x.io" not in env.emails()


@case("target-settings-key-pasted-into-url")
def _(env: Env) -> None:
    run = env.target("", api_url=f"{env.base_url}/api/3?api_key=sk-PASTED-1234")
    failed_cleanly(run, "must not contain a query or fragment")
    assert "sk-PASTED-1234" not in run.everything()


# ----------------------------------------------------------------------------- mapper
PUSH_SCHEMA = {"type": "SCHEMA", "stream": "contacts", "schema": {"type": "object"},
               "key_properties": ["work_email"]}
ACCOUNT_PUSH_SCHEMA = {"type": "SCHEMA", "stream": "accounts", "schema": {"type": "object"},
                       "key_properties": ["website_domain"]}


def contact(rec: dict[str, Any]) -> dict[str, Any]:
    return record("contacts", rec)


@case("mapper-malformed-json-line")
def _(env: Env) -> None:
    run = env.mapper(lines(PUSH_SCHEMA, contact({"work_email": "m1a@x.io"}),
                           '{"type":"RECORD","stream":"contacts","record":{"work_email":',
                           contact({"work_email": "m1b@x.io"}),
                           {"type": "STATE", "value": {"bookmarks": {"x": 1}}}))
    failed_cleanly(run, "Input line 3 is not valid JSON")
    assert [r["email"] for r in run.records("contacts")] == ["m1a@x.io", "m1b@x.io"]
    assert [r["line"] for r in run.rejects] == [3] and "work_email" in run.rejects[0]["raw"]
    assert not any(m["type"] == "STATE" for m in run.messages)  # held back: not past line 3


@case("mapper-record-before-schema-is-still-mapped")
def _(env: Env) -> None:
    run = env.mapper(lines(contact({"work_email": "m2a@x.io"}), PUSH_SCHEMA,
                           contact({"work_email": "m2b@x.io"})))
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.messages[0]["type"] == "SCHEMA"
    assert [r["email"] for r in run.records("contacts")] == ["m2a@x.io", "m2b@x.io"]


@case("mapper-object-in-text-field")
def _(env: Env) -> None:
    run = env.mapper(lines(PUSH_SCHEMA, contact({"work_email": "m3a@x.io"}),
                           contact({"work_email": "m3x@x.io", "first_name": {"given": "Ann"}}),
                           contact({"work_email": "m3b@x.io"})))
    mapper_rejected(run, 3, "first_name", "first_name must be text, got an object")
    assert [r["email"] for r in run.records("contacts")] == ["m3a@x.io", "m3b@x.io"]


@case("mapper-number-in-text-field-becomes-text")
def _(env: Env) -> None:
    run = env.mapper(lines(PUSH_SCHEMA, contact({"work_email": "m4@x.io", "phone": 3125550101})))
    assert run.returncode == 0 and not run.rejects
    assert run.records("contacts") == [{"email": "m4@x.io", "phone": "3125550101"}]


@case("mapper-tags-holding-objects")
def _(env: Env) -> None:
    run = env.mapper(lines(PUSH_SCHEMA, contact({"work_email": "m5a@x.io"}),
                           contact({"work_email": "m5x@x.io", "add_tags": [{"name": "vip"}]})))
    mapper_rejected(run, 3, "add_tags", "add_tags must be a list of names")
    assert [r["email"] for r in run.records("contacts")] == ["m5a@x.io"]


@case("mapper-missing-work-email")
def _(env: Env) -> None:
    run = env.mapper(lines(PUSH_SCHEMA, contact({"work_email": "m6a@x.io"}),
                           contact({"first_name": "Nobody"})))
    mapper_rejected(run, 3, "work_email", "missing work_email")
    assert run.rejects[0]["record"] == {"first_name": "Nobody"}
    assert [r["email"] for r in run.records("contacts")] == ["m6a@x.io"]


@case("mapper-invalid-work-email")
def _(env: Env) -> None:
    run = env.mapper(lines(PUSH_SCHEMA, contact({"work_email": "ann at acme"}),
                           contact({"work_email": "m7b@x.io"})))
    mapper_rejected(run, 2, "work_email", "invalid work_email")
    assert [r["email"] for r in run.records("contacts")] == ["m7b@x.io"]


@case("mapper-mixed-case-emails-merge-into-one")
def _(env: Env) -> None:
    run = env.mapper(lines(PUSH_SCHEMA,
                           contact({"work_email": " Ada@ACME.com ", "first_name": "Ada"}),
                           contact({"work_email": "ada@acme.COM", "last_name": "Lovelace"})))
    assert run.returncode == 0 and not run.rejects
    assert run.records("contacts") == [{"email": "ada@acme.com", "firstName": "Ada",
                                        "lastName": "Lovelace"}]


@case("mapper-odd-domain-forms-merge-into-one-account")
def _(env: Env) -> None:
    forms = ["https://www.Acme.com/about", "ACME.COM", "acme.com.", "http://acme.com:8080/x?y=1",
             "  www.acme.com  "]
    run = env.mapper(lines(ACCOUNT_PUSH_SCHEMA,
                           *[record("accounts", {"website_domain": f}) for f in forms],
                           record("accounts", {"website_domain": "https://www.Bücher.de/"})))
    assert run.returncode == 0 and not run.rejects
    assert [r["accountUrl"] for r in run.records("accounts")] == ["acme.com", "xn--bcher-kva.de"]


@case("mapper-website-not-a-domain")
def _(env: Env) -> None:
    run = env.mapper(lines(ACCOUNT_PUSH_SCHEMA, record("accounts", {"website_domain": "n/a"}),
                           record("accounts", {"website_domain": "shop.m9.co.uk"})))
    mapper_rejected(run, 2, "website_domain", "website_domain is not a domain")
    assert [r["accountUrl"] for r in run.records("accounts")] == ["m9.co.uk"]


@case("mapper-custom-fields-not-an-object")
def _(env: Env) -> None:
    run = env.mapper(lines(PUSH_SCHEMA,
                           contact({"work_email": "m10x@x.io", "custom_fields": "a=1"}),
                           contact({"work_email": "m10b@x.io"})),
                     custom_fields={"contacts": {"Industry": "industry"}})
    mapper_rejected(run, 2, "custom_fields", "custom_fields must be an object, got a string")
    assert [r["email"] for r in run.records("contacts")] == ["m10b@x.io"]


@case("mapper-unmapped-custom-field-dropped-with-a-warning")
def _(env: Env) -> None:
    run = env.mapper(lines(PUSH_SCHEMA,
                           contact({"work_email": "m11@x.io",
                                    "custom_fields": {"industry": "Retail", "shoe_size": 9}})),
                     custom_fields={"contacts": {"Industry": "industry"}})
    assert run.returncode == 0 and not run.rejects
    assert "contacts.custom_fields.shoe_size is not mapped" in run.stderr
    assert run.records("contacts") == [{"email": "m11@x.io", "fields": {"Industry": "Retail"}}]


@case("mapper-import-contact-with-invalid-email-names-its-id")
def _(env: Env) -> None:
    tap_schema = {"type": "SCHEMA", "stream": "contacts", "schema": {"type": "object"},
                  "key_properties": ["id"]}
    run = env.mapper(lines(tap_schema, record("contacts", {"id": "41", "email": "no-at-sign"}),
                           record("contacts", {"id": "42", "email": " Bob@Example.COM "})),
                     direction="import")
    assert run.returncode == 0
    assert "at input line 2 id=41 field=email: invalid email" in run.stderr
    assert run.rejects[0]["id"] == "41" and run.rejects[0]["field"] == "email"
    assert [r["work_email"] for r in run.records("contacts")] == ["bob@example.com"]


@case("mapper-import-account-without-domain-names-its-id")
def _(env: Env) -> None:
    tap_schema = {"type": "SCHEMA", "stream": "accounts", "schema": {"type": "object"},
                  "key_properties": ["id"]}
    run = env.mapper(lines(tap_schema,
                           record("accounts", {"id": "7", "name": "X", "accountUrl": ""}),
                           record("accounts", {"id": "8", "name": "Y",
                                               "accountUrl": "WWW.Y-Corp.com/"})),
                     direction="import")
    assert run.returncode == 0
    assert "id=7 field=accountUrl: missing website domain" in run.stderr
    assert [r["website_domain"] for r in run.records("accounts")] == ["y-corp.com"]


@case("mapper-settings-unknown-direction")
def _(env: Env) -> None:
    run = env.mapper("", direction="pull")
    failed_cleanly(run, 'direction: "pull" is not one of import, push')


@case("mapper-settings-unknown-mode")
def _(env: Env) -> None:
    run = env.mapper("", field_modes={"contacts.first_name": "fil"})
    failed_cleanly(run, 'field_modes["contacts.first_name"]: "fil" is not one of')


# ----------------------------------------------------------------------------- tap
@case("tap-settings-url-without-https")
def _(env: Env) -> None:
    run = env.tap(api_url="http://acme.api-us1.com")
    failed_cleanly(run, "api_url 'http://acme.api-us1.com' must use https://")
    assert run.stdout == ""


@case("tap-settings-url-with-path")
def _(env: Env) -> None:
    run = env.tap(api_url="https://acme.api-us1.com/app/contacts")
    failed_cleanly(run, "api_url 'https://acme.api-us1.com' has an unexpected path (hidden")
    assert "/app/contacts" not in run.stderr  # a key may be pasted there: never echoed


@case("tap-settings-key-with-whitespace")
def _(env: Env) -> None:
    run = env.tap(api_key=" abc def ")
    failed_cleanly(run, "api_key contains whitespace")
    assert "abc def" not in run.everything()


@case("tap-settings-empty-key")
def _(env: Env) -> None:
    run = env.tap(api_key="")
    failed_cleanly(run, "api_key is empty")


@case("tap-settings-unknown-time-zone")
def _(env: Env) -> None:
    run = env.tap(naive_timezone="America/Chicagoo")
    failed_cleanly(run, "naive_timezone 'America/Chicagoo' is not an IANA time zone name")


@case("tap-api-key-rejected-by-activecampaign")
def _(env: Env) -> None:
    run = env.tap(api_key="wrong-key-888")
    failed_cleanly(run, "ActiveCampaign rejected the API key (HTTP 403", "API Access")
    assert "wrong-key-888" not in run.everything()
    assert not run.records("users") and not any(m["type"] == "STATE" for m in run.messages)


@case("tap-unicode-and-control-characters-round-trip")
def _(env: Env) -> None:
    with env.store.lock:
        env.store.new_contact("p7@x.io", first="Tab\there\x01", last="王伟 Zoë 😀")
    run = env.tap()
    assert run.returncode == 0, run.stderr[-2000:]
    found = [c for c in run.records("contacts") if c["email"] == "p7@x.io"]
    assert [(c["firstName"], c["lastName"]) for c in found] == [("Tab\there\x01", "王伟 Zoë 😀")]


# ----------------------------------------------------------------------------- the catalogue
def test_catalogue_covers_every_plugin_with_at_least_thirty_cases() -> None:
    """Every case runs on an account that sideloads and on one that ignores include=."""
    assert len(CASES) >= 30
    for prefix in ("target-", "mapper-", "tap-"):
        assert sum(name.startswith(prefix) for name in CASES) >= 6, prefix


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_named_and_nothing_is_lost(name: str, env: Env) -> None:
    CASES[name](env)
