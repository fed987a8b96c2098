"""Helpers for the end-to-end tests: throw-away Meltano projects that run this repository's
meltano.yml against an in-process ActiveCampaign sandbox.

Each test project is a temporary folder holding a copy of meltano.yml and its own demo/ export
files; it shares the installed plugin venvs of the repository (MELTANO_SYS_DIR_ROOT) but has its
own system database (so its own state) and its own output/ folder. Nothing here skips: a missing
Meltano, plugin or PostgreSQL server is a test failure with the reason.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from activecampaign_client import normalize_domain

ROOT = Path(__file__).resolve().parents[1]
MELTANO_SH = ROOT / "scripts" / "meltano.sh"
SYS_DIR = ROOT / ".meltano"
DUCKDB_PY = SYS_DIR / "loaders" / "target-duckdb" / "venv" / "bin" / "python"
PG_PY = SYS_DIR / "loaders" / "target-postgres" / "venv" / "bin" / "python"
RUN_TIMEOUT = 300

# Variables of the developer's shell that would leak into the test projects.
_LEAKY = re.compile(r"^(MELTANO_|TAP_|TARGET_|ABMATIC_|DUCKDB_)")


def install_meltano_and_plugins() -> None:
    """`bash scripts/meltano.sh --install-plugins` (installs only what is missing or changed)."""
    try:
        proc = subprocess.run(
            ["bash", str(MELTANO_SH), "--install-plugins"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.fail(f"could not run scripts/meltano.sh --install-plugins: {exc}", pytrace=False)
    if proc.returncode != 0:
        pytest.fail(
            "Meltano or the plugins could not be installed (scripts/meltano.sh "
            f"--install-plugins exited {proc.returncode}):\n{_tail(proc)}",
            pytrace=False,
        )


def _tail(proc: subprocess.CompletedProcess[str], n: int = 40) -> str:
    text = (proc.stdout or "") + (proc.stderr or "")
    keep = [ln for ln in text.splitlines() if "METRIC" not in ln]
    return "\n".join(keep[-n:])


@dataclass
class Run:
    args: tuple[str, ...]
    returncode: int
    output: str

    def summary(self, direction: str, stream: str) -> dict[str, int]:
        """The mapper's last `Run summary (<direction>) <stream>: in=N out=N ...` counters."""
        found: dict[str, int] = {}
        pattern = re.compile(rf"Run summary \({direction}\) {stream}: (.*)$")
        for line in self.output.splitlines():
            m = pattern.search(line)
            if m:
                found = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(1))}
        return found

    def count(self, text: str) -> int:
        return self.output.count(text)


@dataclass
class Project:
    """A temporary Meltano project using the repository's meltano.yml."""

    path: Path
    env: dict[str, str] = field(default_factory=dict)
    runs: list[Run] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        path: Path,
        sandbox: Any,
        environment: str = "sandbox",
        database_uri: str | None = None,
        **extra_env: str,
    ) -> Project:
        path.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "meltano.yml", path / "meltano.yml")
        (path / "demo").mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not _LEAKY.match(k)}
        env.update(
            {
                "MELTANO_PROJECT_ROOT": str(path),
                "MELTANO_SYS_DIR_ROOT": str(SYS_DIR),
                "MELTANO_DATABASE_URI": database_uri or f"sqlite:///{path}/meltano.db",
                "MELTANO_ENVIRONMENT": environment,
                "TAP_ACTIVECAMPAIGN_API_URL": sandbox.base_url,
                "TAP_ACTIVECAMPAIGN_API_KEY": sandbox.api_key,
                "TAP_ACTIVECAMPAIGN_REQUESTS_PER_SECOND": "1000",
                "TARGET_ACTIVECAMPAIGN_API_URL": sandbox.base_url,
                "TARGET_ACTIVECAMPAIGN_API_KEY": sandbox.api_key,
                "TARGET_ACTIVECAMPAIGN_REQUESTS_PER_SECOND": "1000",
                "TARGET_ACTIVECAMPAIGN_BULK_REQUESTS_PER_MINUTE": "100000",
            }
        )
        env.update(extra_env)
        return cls(path=path, env=env)

    @property
    def output(self) -> Path:
        return self.path / "output"

    def meltano(self, *args: str, check: bool = True) -> Run:
        try:
            proc = subprocess.run(
                ["bash", str(MELTANO_SH), *args],
                cwd=self.path,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=RUN_TIMEOUT,
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(
                f"meltano {' '.join(args)} did not finish in {RUN_TIMEOUT} s: {exc}", pytrace=False
            )
        run = Run(args, proc.returncode, (proc.stdout or "") + (proc.stderr or ""))
        (self.path / f"meltano-{len(self.runs) + 1:02d}.log").write_text(run.output)
        self.runs.append(run)
        if check and proc.returncode != 0:
            pytest.fail(
                f"meltano {' '.join(args)} exited {proc.returncode} in {self.path}:\n{_tail(proc)}",
                pytrace=False,
            )
        return run

    def run(self, *args: str) -> Run:
        return self.meltano("run", *args)

    def state(self, state_id: str) -> dict[str, Any]:
        out = self.meltano("state", "get", state_id).output
        start = out.find('{"singer_state"')
        assert start >= 0, f"no state for {state_id}:\n{out[-2000:]}"
        return json.loads(out[start:].splitlines()[0])

    def state_ids(self) -> list[str]:
        out = self.meltano("state", "list").output
        return [ln.strip() for ln in out.splitlines() if re.match(r"^\s*\w+:[\w-]+-to-[\w-]+", ln)]

    def write_jsonl(self, name: str, records: list[dict[str, Any]]) -> Path:
        target = self.path / "demo" / name
        target.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        return target

    def activity(self) -> list[dict[str, Any]]:
        path = self.output / "activity-log.jsonl"
        if not path.exists():
            return []
        return [
            json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()
        ]


def outcomes(entries: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    return Counter(
        (e.get("object", ""), e.get("outcome", "")) for e in entries if e.get("type") != "summary"
    )


def query(python: Path, url: str, sql: str) -> list[list[Any]]:
    """Rows of `sql` on a DuckDB file path or a PostgreSQL URL, read with a plugin venv's python
    (the test venv has neither duckdb nor psycopg)."""
    if not python.exists():
        pytest.fail(f"{python} is missing: the plugins are not installed", pytrace=False)
    script = (
        "import json, sys\n"
        "url, sql = sys.argv[1], sys.argv[2]\n"
        "if url.startswith('postgresql'):\n"
        "    import psycopg\n"
        "    con = psycopg.connect(url.replace('postgresql+psycopg://', 'postgresql://'))\n"
        "    rows = con.execute(sql).fetchall()\n"
        "else:\n"
        "    import duckdb\n"
        "    con = duckdb.connect(url, read_only=True)\n"
        "    rows = con.execute(sql).fetchall()\n"
        "con.close()\n"
        "print(json.dumps([list(r) for r in rows], default=str))\n"
    )
    proc = subprocess.run(
        [str(python), "-c", script, url, sql], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, f"query failed: {sql}\n{proc.stderr[-2000:]}"
    return json.loads(proc.stdout)


def scalar(python: Path, url: str, sql: str) -> Any:
    return query(python, url, sql)[0][0]


# ---- the sandbox side ----------------------------------------------------------------------
def sandbox_contacts(sb: Any) -> list[dict[str, Any]]:
    return list(sb.store.objects("contacts"))


def emails(sb: Any) -> Counter[str]:
    return Counter(c["email"].strip().lower() for c in sandbox_contacts(sb) if c.get("email"))


def names_of(
    sb: Any, table: str, link_table: str, link_field: str, name_field: str, contact_id: Any
) -> set[str]:
    """Names (lists, tags, automations) linked to a contact in the sandbox's store."""
    links = sb.store[link_table]
    ids = links.index["contact"].get(str(contact_id), set())
    out = set()
    for oid in ids:
        target = sb.store[table].get(links.rows[oid][link_field])
        if target is not None:
            out.add(target[name_field])
    return out


def field_value(sb: Any, contact_id: Any, title: str) -> str | None:
    fields = [f for f in sb.store.objects("fields") if f.get("title") == title]
    if not fields:
        return None
    fid = str(fields[0]["id"])
    values = sb.store["fieldValues"]
    for oid in values.index["contact"].get(str(contact_id), set()):
        row = values.rows[oid]
        if str(row.get("field")) == fid:
            return row.get("value")
    return None


def touch(sb: Any, contacts: list[dict[str, Any]]) -> None:
    """Mark contacts as changed in ActiveCampaign, after everything the last import saw."""
    latest = max(times[1] for times in sb.store.contact_times.values())
    sb.store.touch_contacts([c["id"] for c in contacts], ts=max(latest, time.time()) + 5)


def visitor_files(project: Project, sb: Any) -> dict[str, Any]:
    """Abmatic export files for one push: new visitors, updates of two existing contacts, one
    record without an email, one account. Returns what the assertions need."""
    existing = [
        c
        for c in sandbox_contacts(sb)
        if c.get("firstName") and not c.get("phone") and "@" in c.get("email", "")
    ]
    assert len(existing) >= 2, "the seed has no contact without a phone"
    a, b = existing[0], existing[1]
    list_name = sb.store.objects("lists")[0]["name"]
    automation = sb.store.objects("automations")[0]["name"]
    project.write_jsonl(
        "accounts-e2e.jsonl",
        [
            {"website_domain": "e2e-newco.com", "company_name": "E2E NewCo", "phone": None},
        ],
    )
    project.write_jsonl(
        "visitors-1.jsonl",
        [
            {
                "work_email": "Ada.Visitor@E2E-NewCo.com",
                "first_name": "Ada",
                "last_name": "Visitor",
                "phone": "+1 206 555 0101",
                "company_name": "E2E NewCo",
                "job_title": "CMO",
                "account_domain": "e2e-newco.com",
                "engagement_score": 70,
                "add_to_lists": [list_name],
                "add_tags": ["e2e-revealed"],
                "start_automations": [automation],
                "event": "revealed",
            },
            {
                "work_email": a["email"].upper(),
                "first_name": "Changed",
                "last_name": None,
                "phone": "+1 312 555 0199",
                "engagement_score": 99,
                "add_tags": ["e2e-engaged"],
                "event": "enriched",
            },
            {"work_email": None, "first_name": "Anonymous", "event": "revealed"},
        ],
    )
    project.write_jsonl(
        "visitors-2.jsonl",
        [
            {
                "work_email": "bob.visitor@e2e-newco.com",
                "first_name": "Bob",
                "last_name": "Visitor",
                "account_domain": "e2e-newco.com",
                "engagement_score": 30,
                "event": "revealed",
            },
            {
                "work_email": b["email"],
                "first_name": "Other",
                "engagement_score": 42,
                "event": "score_changed",
            },
        ],
    )
    return {
        "a": a,
        "b": b,
        "list": list_name,
        "automation": automation,
        "new": ["ada.visitor@e2e-newco.com", "bob.visitor@e2e-newco.com"],
    }


STORE_TABLES = ("contacts", "accounts", "opportunities")


def store_counts(python: Path, url: str, schema: str = "") -> dict[str, int]:
    """Rows per Abmatic table in the store at ``url`` (``schema`` e.g. "abmatic.")."""
    return {t: scalar(python, url, f"select count(*) from {schema}{t}") for t in STORE_TABLES}


def expected_rows(sb: Any) -> dict[str, int]:
    """Rows a full import of the sandbox must produce (accounts without a domain are rejected)."""
    domains = {normalize_domain(a.get("accountUrl")) for a in sb.store.objects("accounts")}
    return {
        "contacts": len(sb.store.objects("contacts")),
        "accounts": len(domains - {None}),
        "opportunities": len(sb.store.objects("deals")),
    }


# ---- incremental memberships (docs/CONTRACTS.md) ---------------------------------------------
def _names_list(value: Any) -> list[str]:
    if isinstance(value, str):  # DuckDB: JSON text
        value = json.loads(value)
    return sorted(value or [])


def store_memberships(python: Path, url: str, schema: str = "") -> dict[str, tuple[Any, ...]]:
    """work_email -> (lists, tags, company_name, job_title, account_domain) in the store."""
    rows = query(python, url, "select work_email, lists, tags, company_name, job_title, "
                 f"account_domain from {schema}contacts")
    return {r[0]: (_names_list(r[1]), _names_list(r[2]), r[3], r[4], r[5]) for r in rows}


def _member_ids(sb: Any, table: str, cid: int, field: str) -> set[str]:
    links = sb.store[table]
    return {str(links.rows[oid][field]) for oid in links.where("contact", cid)
            if table != "contactLists" or str(links.rows[oid]["status"]) == "1"}


def change_memberships(sb: Any) -> dict[str, Any]:
    """A contact without an account link joins a list and a tag and is linked to an account
    (the rows alone, then its ``udate`` bumped, as a real edit in ActiveCampaign does)."""
    accounts = [a for a in sb.store.objects("accounts") if normalize_domain(a.get("accountUrl"))]
    lists, tags = sb.store.objects("lists"), sb.store.objects("tags")
    for c in sandbox_contacts(sb):
        cid = int(c["id"])
        on = _member_ids(sb, "contactLists", cid, "list")
        has = _member_ids(sb, "contactTags", cid, "tag")
        new_list = next((x for x in lists if x["id"] not in on), None)
        new_tag = next((x for x in tags if x["id"] not in has), None)
        if (sb.store["accountContacts"].where("contact", cid) or not on or not has
                or new_list is None or new_tag is None or "@" not in c.get("email", "")):
            continue
        account = accounts[0]
        sb.store.subscribe(cid, int(new_list["id"]), 1, touch=False)
        sb.store.add_tag(cid, int(new_tag["id"]), touch=False)
        sb.store.link_account(cid, int(account["id"]), "Head of E2E", touch=False)
        touch(sb, [c])
        return {"contact": c, "email": c["email"].strip().lower(), "list": new_list["name"],
                "tag": new_tag["tag"], "company": account["name"],
                "domain": normalize_domain(account["accountUrl"])}
    raise AssertionError("the seed has no contact without an account link on a list and a tag")


def remove_memberships(sb: Any, changed: dict[str, Any]) -> dict[str, Any]:
    """Take back the changed contact's new list (row deleted) and tag, and unsubscribe
    another contact from one list, without touching either contact's ``udate`` (spec §11: a
    membership change alone is assumed not to bump it)."""
    cid = int(changed["contact"]["id"])
    lists = sb.store["contactLists"]
    list_id = str(sb.store.by_name(changed["list"], "lists", "name")["id"])
    for oid in lists.where("contact", cid):
        if str(lists.rows[oid]["list"]) == list_id:
            lists.delete(oid)
    tags = sb.store["contactTags"]
    tag_id = str(sb.store.tag_by_name(changed["tag"])["id"])
    for oid in tags.where("contact", cid):
        if str(tags.rows[oid]["tag"]) == tag_id:
            tags.delete(oid)
    other = next(c for c in sandbox_contacts(sb)
                 if int(c["id"]) != cid and "@" in c.get("email", "")
                 and _member_ids(sb, "contactLists", int(c["id"]), "list"))
    left = sorted(_member_ids(sb, "contactLists", int(other["id"]), "list"))[0]
    sb.store.subscribe(int(other["id"]), int(left), 2, touch=False)
    sb.store.dirty()
    return {"other": other["email"].strip().lower(),
            "other_left": sb.store["lists"].get(left)["name"]}


def membership_requests(routes: dict[str, int]) -> dict[str, int]:
    """Requests of a run that read memberships on their own (tables or per-contact lists)."""
    kinds = ("contactLists", "contactTags", "accountContacts")
    return {route: n for route, n in routes.items() if any(k in route for k in kinds)}
