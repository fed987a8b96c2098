"""Deterministic seeded accounts: ``empty`` (one user) and ``demo`` (a lived-in account).

The demo data carries the quirks a connector meets on real accounts: unicode and apostrophe
names, blank phones, zero dates, -05:00/-06:00 offsets, contacts sharing one ``udate`` (one
import batch), mixed-case emails, hard bounces and account URLs written every which way.
"""

from __future__ import annotations

import random
from datetime import datetime

from activecampaign_sandbox.clock import ACCOUNT_TZ, iso, naive_local
from activecampaign_sandbox.store import Obj, Store

START = datetime(2022, 1, 3, 8, 0, tzinfo=ACCOUNT_TZ).timestamp()
END = datetime(2024, 6, 28, 18, 0, tzinfo=ACCOUNT_TZ).timestamp()
# One CSV import: every contact of this batch has the same cdate and udate.
IMPORT_TS = datetime(2024, 3, 1, 10, 11, 12, tzinfo=ACCOUNT_TZ).timestamp()
SEEDS = ("demo", "empty")

NAMES: list[tuple[str, str, str, str]] = [
    ("José", "Núñez", "jose", "nunez"), ("Siobhan", "O'Brien", "siobhan", "obrien"),
    ("伟", "王", "wei", "wang"), ("Zoë", "Dvořák", "zoe", "dvorak"),
    ("Amélie", "Lefèvre", "amelie", "lefevre"), ("Björn", "Åström", "bjorn", "astrom"),
    ("Patrick", "O'Neil", "patrick", "oneil"), ("Søren", "Kierkegaard", "soren", "kierkegaard"),
    ("John", "Smith", "john", "smith"), ("Maria", "Garcia", "maria", "garcia"),
    ("James", "Johnson", "james", "johnson"), ("Linda", "Brown", "linda", "brown"),
    ("Robert", "Jones", "robert", "jones"), ("Patricia", "Miller", "patricia", "miller"),
    ("Michael", "Davis", "michael", "davis"), ("Jennifer", "Wilson", "jennifer", "wilson"),
    ("David", "Anderson", "david", "anderson"), ("Elizabeth", "Taylor", "elizabeth", "taylor"),
    ("William", "Thomas", "william", "thomas"), ("Susan", "Moore", "susan", "moore"),
    ("Priya", "Patel", "priya", "patel"), ("Hiroshi", "Tanaka", "hiroshi", "tanaka"),
    ("Fatima", "Al-Sayed", "fatima", "alsayed"), ("Chen", "Li", "chen", "li"),
    ("Olga", "Ivanova", "olga", "ivanova"), ("Kwame", "Mensah", "kwame", "mensah"),
    ("Ana", "da Silva", "ana", "dasilva"), ("Liam", "Murphy", "liam", "murphy"),
    ("Emma", "", "emma", ""), ("", "Nakamura", "", "nakamura"),
]
COMPANY_WORDS = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay",
                 "Soylent", "Tyrell", "Cyberdyne", "Wonka", "Gringotts", "Oceanic", "Aperture",
                 "Massive", "Dunder", "Prestige", "Sterling", "Pied Piper"]
COMPANY_SUFFIX = ["Corp", "Inc", "LLC", "Labs", "GmbH", "Ltd", "Group", "Systems", "Partners",
                  "Holdings"]
SPECIAL_ACCOUNTS = ["O'Reilly Media", "Café Núñez S.A.", "北京科技有限公司"]
FREE_MAIL = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com"]
JOB_TITLES = ["CEO", "VP Marketing", "Marketing Manager", "Head of Growth", "CTO",
              "Sales Director", "Demand Gen Lead", "Founder", "Operations Manager", ""]
INDUSTRIES = ["Software", "Healthcare", "Finance", "Retail", "Manufacturing", "Education"]


def seed_store(store: Store, seed: str = "demo", contacts: int = 200) -> Store:
    """Fill ``store`` with the named seed; the same seed and size always give the same data."""
    if seed not in SEEDS:
        raise ValueError(f"unknown seed {seed!r}; choose one of {', '.join(SEEDS)}")
    with store.lock:
        _users(store)
        if seed == "demo":
            _demo(store, random.Random(f"activecampaign-sandbox:{seed}:{contacts}"), contacts)
        store.dirty()
    return store


def _users(store: Store) -> None:
    store["users"].insert({"username": "admin", "firstName": "Sandra", "lastName": "Box",
                           "email": "admin@sandbox.example", "phone": "", "signature": None})


def _stamp(rng: random.Random, low: float = START, high: float = END) -> float:
    return float(int(rng.uniform(low, high)))


def _domain_of(name: str) -> str:
    slug = "".join(ch for ch in name.lower() if ch.isascii() and ch.isalnum())
    return f"{slug or 'company'}.com"


def _url_forms(domain: str, i: int) -> str:
    stem = domain.removesuffix(".com")
    forms = [f"https://www.{domain}/", domain, f"http://{domain}/about",
             f"WWW.{stem.capitalize()}.COM", f"https://{domain}", ""]
    return forms[i % len(forms)]


def _demo(store: Store, rng: random.Random, n_contacts: int) -> None:
    ts0 = START - 86400 * 30
    fields = _contact_fields(store, ts0)
    _account_field_meta(store, ts0)
    _deal_field_meta(store, ts0)
    lists = [_list(store, name, ts0 + i * 3600) for i, name in enumerate(
        ["Newsletter", "Product Updates", "Webinar Attendees", "Customers"])]
    tags = [store.new_tag(name, f"{name} contacts", ts=ts0) for name in
            ["customer", "prospect", "vip", "webinar", "trial", "churn-risk", "partner",
             "newsletter"]]
    _segments(store, ts0, fields, tags)
    automations = _automations(store, ts0)
    groups = _pipelines(store, ts0)

    # Accounts: about one for every ten contacts.
    names = SPECIAL_ACCOUNTS + [f"{w} {s}" for s in COMPANY_SUFFIX for w in COMPANY_WORDS]
    n_accounts = max(1, n_contacts // 10) if n_contacts else 0
    accounts: list[tuple[Obj, str]] = []
    for i in range(n_accounts):
        name = names[i] if i < len(names) else f"{names[i % len(names)]} {i // len(names)}"
        domain = _domain_of(name)
        if i >= len(names):
            domain = domain.replace(".com", f"{i // len(names)}.com")
        cts = _stamp(rng)
        acct = store.new_account(name, _url_forms(domain, i), ts=cts)
        acct["updatedTimestamp"] = iso(_stamp(rng, cts, END))
        accounts.append((acct, domain))
        aid = int(acct["id"])
        phone = "" if i % 7 == 0 else f"+1 312 555 {1000 + i % 9000:04d}"
        store.set_custom_datum("account", aid, 1, phone, ts=cts)
        store.set_custom_datum("account", aid, 2, str(rng.choice([8, 45, 180, 950, 4200])),
                               ts=cts)
        store.set_custom_datum("account", aid, 3, str(rng.randrange(10_000, 5_000_000) * 100),
                               currency="usd", ts=cts)
        store.set_custom_datum("account", aid, 4, rng.choice(["Tier 1", "Tier 2", "Tier 3"]),
                               ts=cts)
        acct["updatedTimestamp"] = iso(_stamp(rng, cts, END))

    score_field, size_field, interests_field, notes_field, visit_field, industry_field = fields
    contact_accounts: dict[int, int] = {}
    for i in range(n_contacts):
        first, last, a_first, a_last = NAMES[i % len(NAMES)] if i % 7 != 6 else rng.choice(NAMES)
        business = accounts and rng.random() < 0.7
        acct_pair = rng.choice(accounts) if business else None
        domain = acct_pair[1] if acct_pair else rng.choice(FREE_MAIL)
        local = ".".join(p for p in (a_first, a_last) if p) or "contact"
        email = f"{local}{i + 1}@{domain}"
        if rng.random() < 0.03:
            email = email.title()  # a few stored with mixed case
        phone = "" if rng.random() < 0.3 else rng.choice(
            [f"+1 312 555 {rng.randrange(10000):04d}", f"(773) 555-{rng.randrange(10000):04d}",
             f"312.555.{rng.randrange(10000):04d}"])
        if rng.random() < 0.2:
            cts = uts = IMPORT_TS
        else:
            cts = _stamp(rng)
            uts = cts if rng.random() < 0.2 else _stamp(rng, cts, END)
        extra: Obj = {}
        if rng.random() < 0.02:
            extra = {"bounced_hard": "1", "bounced_date": iso(_stamp(rng, cts, END))[:10]}
        if rng.random() < 0.3:
            extra["adate"] = naive_local(_stamp(rng, cts, END))
        contact = store.new_contact(email, first, last, phone, cts, uts, **extra)
        cid = int(contact["id"])
        if acct_pair and rng.random() < 0.85:
            aid = int(acct_pair[0]["id"])
            store.link_account(cid, aid, rng.choice(JOB_TITLES), ts=cts, touch=False)
            contact_accounts[cid] = aid
        if rng.random() < 0.8:
            store.set_field_value(cid, score_field, str(rng.randrange(0, 101)), cts, touch=False)
        if rng.random() < 0.5:
            store.set_field_value(cid, size_field, rng.choice(["1-10", "11-50", "51-200",
                                                               "201-1000", "1000+"]), cts,
                                  touch=False)
        if rng.random() < 0.4:
            picks = rng.sample(["Analytics", "ABM", "Email", "Ads", "SEO"], rng.randint(1, 3))
            store.set_field_value(cid, interests_field, picks, cts, touch=False)
        if rng.random() < 0.15:
            store.set_field_value(cid, notes_field, 'Met at "SaaStr"\nFollow up in Q3', cts,
                                  touch=False)
        if rng.random() < 0.4:
            store.set_field_value(cid, visit_field, iso(_stamp(rng, START, cts))[:10], cts,
                                  touch=False)
        if rng.random() < 0.5:
            store.set_field_value(cid, industry_field, rng.choice(INDUSTRIES), cts, touch=False)
        for lst in rng.sample(lists, rng.randint(1, 2)):
            status = 2 if rng.random() < 0.08 else 1
            store.subscribe(cid, int(lst["id"]), status, cts, touch=False)
        for tag in rng.sample(tags, rng.choice([0, 1, 1, 2])):
            store.add_tag(cid, int(tag["id"]), cts, touch=False)
        if rng.random() < 0.2:
            _enrol(store, cid, rng.choice(automations), cts, rng)

    _deals(store, rng, n_contacts // 5, groups, contact_accounts)


def _contact_fields(store: Store, ts: float) -> list[int]:
    specs = [("Lead Score", "number", []), ("Company Size", "dropdown",
                                              ["1-10", "11-50", "51-200", "201-1000", "1000+"]),
             ("Interests", "listbox", ["Analytics", "ABM", "Email", "Ads", "SEO"]),
             ("Notes", "textarea", []), ("First Visit", "date", []), ("Industry", "text", [])]
    ids = []
    for order, (title, kind, options) in enumerate(specs, start=1):
        field = store["fields"].insert(new_field(title, kind, ts, order))
        fid = int(field["id"])
        ids.append(fid)
        store["fieldRels"].insert({"field": str(fid), "relid": "0", "dorder": "0",
                                   "cdate": iso(ts)})
        for pos, label in enumerate(options, start=1):
            store["fieldOptions"].insert(new_field_option(fid, label, label, pos, ts))
        field["options"] = [o for o in
                            (store["fieldOptions"].rows[x]["id"]
                             for x in store["fieldOptions"].where("field", fid))]
        field["relations"] = [store["fieldRels"].rows[x]["id"]
                              for x in store["fieldRels"].where("field", fid)]
    return ids


def perstag_of(title: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in title.upper()).strip("_")


def new_field(title: str, kind: str, ts: float, order: int = 0, **extra: object) -> Obj:
    obj: Obj = {"title": title, "descript": "", "type": kind, "isrequired": "0",
                "perstag": perstag_of(title), "defval": "", "show_in_list": "0", "rows": "0",
                "cols": "0", "visible": "1", "service": "", "ordernum": str(order),
                "cdate": iso(ts), "udate": iso(ts), "created_timestamp": naive_local(ts),
                "updated_timestamp": naive_local(ts), "options": [], "relations": []}
    obj.update(extra)
    return obj


def new_field_option(fid: int, label: str, value: str, order: int, ts: float,
                     isdefault: str = "0") -> Obj:
    return {"field": str(fid), "orderid": str(order), "value": value, "label": label,
            "isdefault": isdefault, "cdate": iso(ts), "udate": iso(ts)}


def new_custom_meta(label: str, kind: str, ts: float, order: int,
                    options: list[str] | None = None, default_currency: str | None = None,
                    ) -> Obj:
    return {"fieldLabel": label, "fieldType": kind, "fieldOptions": options,
            "fieldDefault": None, "fieldDefaultCurrency": default_currency,
            "isFormVisible": 1, "isRequired": 0, "displayOrder": order,
            "personalization": perstag_of(label).lower(), "knownFieldId": None,
            "hideFieldFlag": 0, "createdTimestamp": naive_local(ts),
            "updatedTimestamp": naive_local(ts)}


def _account_field_meta(store: Store, ts: float) -> None:
    for order, (label, kind, options, currency) in enumerate(
            [("Phone", "text", None, None), ("Employees", "number", None, None),
             ("Annual Revenue", "currency", None, "usd"),
             ("Tier", "dropdown", ["Tier 1", "Tier 2", "Tier 3"], None)], start=1):
        store["accountCustomFieldMeta"].insert(new_custom_meta(label, kind, ts, order, options,
                                                               currency))


def _deal_field_meta(store: Store, ts: float) -> None:
    for order, (label, kind, options) in enumerate(
            [("Source", "dropdown", ["Inbound", "Outbound", "Partner"]),
             ("Close Reason", "text", None), ("Seats", "number", None)], start=1):
        store["dealCustomFieldMeta"].insert(new_custom_meta(label, kind, ts, order, options))


def new_list(name: str, ts: float) -> Obj:
    stringid = "-".join(name.lower().split())
    return {"stringid": stringid, "userid": "1", "name": name, "cdate": iso(ts),
            "udate": iso(ts), "created_timestamp": naive_local(ts),
            "updated_timestamp": naive_local(ts), "created_by": "1", "updated_by": "1",
            "sender_name": "", "sender_addr1": "", "sender_city": "", "sender_zip": "",
            "sender_country": "", "sender_phone": "", "sender_url": "http://sandbox.example",
            "sender_reminder": "You signed up on our website.", "p_use_tracking": "1",
            "p_use_analytics_read": "0", "p_use_twitter": "0", "p_use_facebook": "0",
            "subscription_notify": "", "unsubscription_notify": "", "private": "0",
            "user": "1"}


def _list(store: Store, name: str, ts: float) -> Obj:
    return store["lists"].insert(new_list(name, ts))


def _segments(store: Store, ts: float, fields: list[int], tags: list[Obj]) -> None:
    score_field = str(fields[0])
    customer_tag = tags[0]["id"]

    def high_score(s: Store, cid: int) -> bool:
        table = s["fieldValues"]
        for oid in table.index["contact"].get(str(cid), ()):
            fv = table.rows[oid]
            if fv["field"] == score_field:
                return fv["value"].isdigit() and int(fv["value"]) >= 70
        return False

    def free_mail(s: Store, cid: int) -> bool:
        return s["contacts"].rows[cid]["email_domain"].lower() in FREE_MAIL

    def customers(s: Store, cid: int) -> bool:
        table = s["contactTags"]
        return any(table.rows[o]["tag"] == customer_tag
                   for o in table.index["contact"].get(str(cid), ()))

    for name, logic, rule in [("High lead score", "Lead Score >= 70", high_score),
                              ("Free-mail addresses", "email domain is a free mail provider",
                               free_mail),
                              ("Customers", "has tag customer", customers)]:
        seg = store["segments"].insert({"name": name, "logic": logic, "hidden": "0",
                                        "seriesid": "0", "created_timestamp": naive_local(ts),
                                        "updated_timestamp": naive_local(ts)})
        store.segment_rules[int(seg["id"])] = rule


# Automations not active (status "2"): enrolling a contact answers 403 (spec §11).
INACTIVE_AUTOMATIONS = (2, 3)


def _automations(store: Store, ts: float) -> list[Obj]:
    out = []
    for i, name in enumerate(["Welcome series", "Trial nurture", "Webinar follow-up",
                              "Re-engagement", "Customer onboarding"]):
        out.append(store["automations"].insert({
            "name": name, "cdate": iso(ts + i * 600), "mdate": iso(ts + i * 900),
            "userid": "1", "status": "2" if i in INACTIVE_AUTOMATIONS else "1",
            "entered": "0", "exited": "0",
            "hidden": "0"}))
    return out


def new_contact_automation(cid: int, aid: int, ts: float) -> Obj:
    return {"contact": str(cid), "seriesid": str(aid), "startid": "0", "status": "1",
            "batchid": None, "adddate": iso(ts), "remdate": None, "timespan": None,
            "lastblock": "1", "lastlogid": "0", "lastdate": iso(ts), "in_als": "0",
            "completedElements": "0", "totalElements": "4", "completed": 0,
            "completeValue": 0, "automation": str(aid)}


def _enrol(store: Store, cid: int, automation: Obj, ts: float, rng: random.Random) -> None:
    run = store["contactAutomations"].insert(new_contact_automation(cid, int(automation["id"]),
                                                                    ts))
    done = rng.random() < 0.4
    if done:
        run.update({"status": "2", "completedElements": "4", "completed": 1,
                    "completeValue": 100, "remdate": iso(ts + 86400 * 7),
                    "lastdate": iso(ts + 86400 * 7)})
        automation["exited"] = str(int(automation["exited"]) + 1)
    automation["entered"] = str(int(automation["entered"]) + 1)


def new_stage(title: str, gid: int, order: int, ts: float) -> Obj:
    return {"title": title, "group": str(gid), "order": str(order), "dealOrder": "next-action DESC",
            "cardRegion1": "title", "cardRegion2": "next-action", "cardRegion3": "show-avatar",
            "cardRegion4": "contact-fullname-orgname", "cardRegion5": "value",
            "color": "32B0FC", "width": "280", "cdate": iso(ts), "udate": iso(ts)}


def new_group(title: str, ts: float) -> Obj:
    return {"title": title, "currency": "usd", "autoassign": "1", "allusers": "1",
            "allgroups": "1", "cdate": iso(ts), "udate": iso(ts), "stages": []}


def _pipelines(store: Store, ts: float) -> list[tuple[Obj, list[Obj]]]:
    out = []
    for title, stage_titles in [("Sales Pipeline", ["Qualified", "Demo", "Proposal",
                                                    "Negotiation", "Closing"]),
                                ("Partnerships", ["Intro", "Evaluation", "Signed"])]:
        group = store["dealGroups"].insert(new_group(title, ts))
        stages = [store["dealStages"].insert(new_stage(t, int(group["id"]), i, ts))
                  for i, t in enumerate(stage_titles, start=1)]
        group["stages"] = [s["id"] for s in stages]
        out.append((group, stages))
    return out


def new_deal(title: str, ts: float, **values: object) -> Obj:
    obj: Obj = {"owner": "1", "contact": None, "organization": None, "account": None,
                "customerAccount": None, "group": "1", "stage": "1", "title": title,
                "description": "", "percent": "0", "value": "0", "currency": "usd",
                "status": "0", "cdate": iso(ts), "mdate": iso(ts), "edate": None,
                "nextdate": None, "nexttaskid": None, "nextdealid": None, "activitycount": "0",
                "winProbability": None, "winProbabilityMdate": None, "hash": "",
                "isDisabled": False}
    obj.update(values)
    return obj


def _deals(store: Store, rng: random.Random, n: int, groups: list[tuple[Obj, list[Obj]]],
           contact_accounts: dict[int, int]) -> None:
    contact_ids = store["contacts"].ids
    if not contact_ids:
        return
    for i in range(n):
        group, stages = groups[0] if rng.random() < 0.75 else groups[1]
        stage = rng.choice(stages)
        cid = rng.choice(contact_ids)
        aid = contact_accounts.get(cid)
        cts = _stamp(rng)
        mts = _stamp(rng, cts, END)
        status = rng.choices(["0", "1", "2"], weights=[6, 2, 2])[0]
        deal = store["deals"].insert(new_deal(
            f"Deal {i + 1}: {rng.choice(['Annual plan', 'Pilot', 'Expansion', 'Renewal'])}",
            cts, contact=str(cid), account=str(aid) if aid else None,
            customerAccount=str(aid) if aid else None, group=group["id"], stage=stage["id"],
            value=str(rng.randrange(500, 250_000) * 100), status=status,
            percent=str(rng.choice([0, 10, 25, 50, 75, 90])),
            edate=naive_local(mts) if status != "0" else None,
            winProbability=rng.randrange(0, 101), hash=f"{rng.getrandbits(32):08x}"))
        deal["mdate"] = iso(mts)
        if rng.random() < 0.5:
            store.set_custom_datum("deal", int(deal["id"]), 1,
                                   rng.choice(["Inbound", "Outbound", "Partner"]), ts=mts)
            deal["mdate"] = iso(mts)
