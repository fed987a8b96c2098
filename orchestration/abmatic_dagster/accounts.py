"""The accounts file: the connected ActiveCampaign accounts, as data (README.md, "Many
accounts on Dagster").

    work_dir: work                      # per-account Meltano projects, state and logs
    accounts:
    - name: acme                        # the Dagster partition and the Meltano state-id suffix
      api_url: https://acme.api-us1.com
      api_key_env: ACME_AC_API_KEY      # the NAME of the variable holding the key, never the key
      store: {duckdb: stores/acme.duckdb}          # or {postgres_url_env: VAR, schema: NAME}
      export_dir: exports/acme          # Abmatic's export files for this account's pushes
      contacts: 8000                    # its size: picks the schedule (SIZE_TIERS)

A PostgreSQL store is a server URL read from the variable `postgres_url_env` names plus one
schema per account (`schema`, default `abmatic_<name>`): accounts may share a database, never a
schema (refused, naming both accounts).

Relative paths are relative to the file. The file is re-read at every run, schedule tick and
sensor tick, so adding an account is an edit of this file (plus a code-location reload for its
push sensor), never a code change.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

ACCOUNTS_FILE_ENV = "ABMATIC_ACCOUNTS_FILE"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# A PostgreSQL schema name used unquoted in SQL: lower-case, at most 63 bytes (NAMEDATALEN).
SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
RESERVED_SCHEMAS = ("public", "information_schema")  # and pg_*: PostgreSQL's own


@dataclass(frozen=True)
class SizeTier:
    name: str
    max_contacts: int | None  # upper bound (exclusive); None = no bound
    cron: str
    label: str


# The README's size table (and meltano.yml's sync-* schedules), in UTC.
SIZE_TIERS = (
    SizeTier("small", 10_000, "*/30 * * * *", "< 10,000 contacts: every 30 minutes"),
    SizeTier("medium", 50_000, "0 * * * *", "10,000-50,000 contacts: hourly"),
    SizeTier("large", None, "30 * * * *", "> 50,000 contacts: hourly, at half past"),
)


def tier_for(contacts: int) -> SizeTier:
    for tier in SIZE_TIERS:
        if tier.max_contacts is None or contacts < tier.max_contacts:
            return tier
    return SIZE_TIERS[-1]


class AccountsFileError(ValueError):
    """The accounts file is missing or malformed (the message says where)."""


@dataclass(frozen=True)
class Account:
    name: str
    api_url: str
    api_key_env: str
    export_dir: Path
    contacts: int
    work_dir: Path  # this account's own Meltano project, system database, logs
    duckdb_path: Path | None = None
    postgres_url_env: str | None = None
    postgres_schema: str | None = None  # set for every PostgreSQL store (default abmatic_<name>)

    @property
    def tier(self) -> SizeTier:
        return tier_for(self.contacts)

    @property
    def store_kind(self) -> str:
        return "duckdb" if self.duckdb_path is not None else "postgres"

    @property
    def import_job(self) -> str:
        return "import" if self.store_kind == "duckdb" else "import-pg"

    @property
    def store_display(self) -> str:
        """Where the store is, for the UI and logs: never the URL (it may hold a password)."""
        if self.duckdb_path is not None:
            return str(self.duckdb_path)
        return f"postgresql (${self.postgres_url_env}), schema {self.postgres_schema}"

    @property
    def project_dir(self) -> Path:
        return self.work_dir / "project"

    @property
    def meltano_db(self) -> Path:
        return self.work_dir / "meltano.db"

    @property
    def activity_log(self) -> Path:
        return self.project_dir / "output" / "activity-log.jsonl"


@dataclass(frozen=True)
class AccountsFile:
    path: Path
    work_dir: Path
    accounts: tuple[Account, ...]

    def names(self) -> list[str]:
        return [a.name for a in self.accounts]

    def get(self, name: str) -> Account:
        for account in self.accounts:
            if account.name == name:
                return account
        raise KeyError(f"account {name!r} is not in {self.path} (known: {', '.join(self.names())})")


def accounts_file_path() -> Path:
    value = os.environ.get(ACCOUNTS_FILE_ENV)
    if not value:
        raise AccountsFileError(
            f"{ACCOUNTS_FILE_ENV} is not set: point it at the accounts file "
            "(see orchestration/accounts.example.yml)")
    return Path(value).expanduser().resolve()


def load_accounts(path: str | Path | None = None) -> AccountsFile:
    file = Path(path).expanduser().resolve() if path else accounts_file_path()
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise AccountsFileError(f"cannot read the accounts file {file}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise AccountsFileError(f"the accounts file {file} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise AccountsFileError(f"{file}: expected a mapping with an `accounts` list")
    base = file.parent
    work_dir = _path(base, data.get("work_dir") or "work")
    entries = data.get("accounts") or []
    if not isinstance(entries, list):
        raise AccountsFileError(f"{file}: `accounts` must be a list")
    accounts: list[Account] = []
    seen: set[str] = set()
    by_host: dict[str, str] = {}
    for i, entry in enumerate(entries):
        account = _account(file, base, work_dir, i, entry)
        if account.name in seen:
            raise AccountsFileError(f"{file}: account {account.name!r} is listed twice")
        seen.add(account.name)
        # One ActiveCampaign account under two names would escape the one-run-per-account
        # limit (runs are queued by name) and share one 5 requests/s budget unknowingly.
        host = (urlsplit(account.api_url).netloc or account.api_url).lower()  # host:port
        if host in by_host:
            raise AccountsFileError(
                f"{file}: accounts {by_host[host]!r} and {account.name!r} both have api_url "
                f"{host}: one ActiveCampaign account is one entry (two would run at once)")
        by_host[host] = account.name
        accounts.append(account)
    _refuse_shared_stores(file, accounts)
    return AccountsFile(file, work_dir, tuple(accounts))


def default_schema(name: str) -> str:
    return "abmatic_" + name.replace("-", "_")


def _database_identity(url: str) -> tuple[str, ...] | None:
    """Server and database of a PostgreSQL URL (user and password left out), or None."""
    try:
        parts = urlsplit(url)
        port = parts.port or 5432
    except ValueError:
        return None
    if not parts.scheme.startswith("postgres"):
        return None
    socket_dir = ",".join(parse_qs(parts.query).get("host", []))
    return ((parts.hostname or "").lower(), str(port), parts.path.lstrip("/"), socket_dir)


def _refuse_shared_stores(file: Path, accounts: list[Account]) -> None:
    """Two accounts writing one store would mix their contacts: refuse the file.

    PostgreSQL: the same schema behind the same variable, or behind two variables whose URLs
    (when set here) point at the same server and database."""
    owners: dict[tuple[str, ...], Account] = {}
    for account in accounts:
        keys: list[tuple[str, ...]] = []
        if account.duckdb_path is not None:
            keys.append(("duckdb", str(account.duckdb_path)))
        else:
            assert account.postgres_url_env and account.postgres_schema
            keys.append(("pg-var", account.postgres_url_env, account.postgres_schema))
            identity = _database_identity(os.environ.get(account.postgres_url_env, "").strip())
            if identity is not None:
                keys.append(("pg-db", *identity, account.postgres_schema))
        for key in keys:
            other = owners.get(key)
            if other is None:
                owners[key] = account
                continue
            if key[0] == "duckdb":
                raise AccountsFileError(
                    f"{file}: accounts {other.name!r} and {account.name!r} both use the DuckDB "
                    f"file {account.duckdb_path}: give each account its own `store.duckdb` file")
            same = (f"${account.postgres_url_env}" if other.postgres_url_env ==
                    account.postgres_url_env else
                    f"${other.postgres_url_env} and ${account.postgres_url_env} (same database)")
            raise AccountsFileError(
                f"{file}: accounts {other.name!r} and {account.name!r} both write PostgreSQL "
                f"schema {account.postgres_schema!r} of {same}: their contacts would mix. Give "
                "each account its own `store.schema` (or leave it out: the default is "
                "abmatic_<name>)")


def _path(base: Path, value: Any) -> Path:
    p = Path(str(value)).expanduser()
    return (p if p.is_absolute() else base / p).resolve()


def _account(file: Path, base: Path, work_dir: Path, i: int, entry: Any) -> Account:
    where = f"{file}: accounts[{i}]"
    if not isinstance(entry, dict):
        raise AccountsFileError(f"{where} must be a mapping")
    missing = [k for k in ("name", "api_url", "api_key_env", "export_dir") if not entry.get(k)]
    if missing:
        raise AccountsFileError(f"{where} lacks {', '.join(missing)}")
    name = str(entry["name"])
    where = f"{file}: account {name!r}"
    if not NAME_RE.match(name):
        raise AccountsFileError(f"{where}: a name is lower-case letters, digits, - and _")
    if "api_key" in entry:
        raise AccountsFileError(f"{where}: never put the key in this file; name the variable "
                                "holding it in `api_key_env`")
    key_env = str(entry["api_key_env"])
    if not ENV_NAME_RE.match(key_env):
        raise AccountsFileError(f"{where}: api_key_env must be a variable name, got {key_env!r}")
    store = entry.get("store") or {"duckdb": str(work_dir / name / "abmatic.duckdb")}
    duckdb_path, pg_env, pg_schema = _store(where, base, name, store)
    try:
        contacts = int(entry.get("contacts", 0))
    except (TypeError, ValueError) as exc:
        raise AccountsFileError(f"{where}: contacts must be a number") from exc
    return Account(
        name=name,
        api_url=str(entry["api_url"]).rstrip("/"),
        api_key_env=key_env,
        export_dir=_path(base, entry["export_dir"]),
        contacts=contacts,
        work_dir=work_dir / name,
        duckdb_path=duckdb_path,
        postgres_url_env=pg_env,
        postgres_schema=pg_schema,
    )


def _store(where: str, base: Path, name: str,
           store: Any) -> tuple[Path | None, str | None, str | None]:
    """(duckdb path, PostgreSQL URL variable, schema): exactly one kind of store."""
    shapes = "store is {duckdb: PATH} or {postgres_url_env: VAR, schema: NAME} (schema optional)"
    if isinstance(store, dict) and set(store) == {"duckdb"} and store["duckdb"]:
        return _path(base, store["duckdb"]), None, None
    if not isinstance(store, dict) or "postgres_url_env" not in store or \
            not set(store) <= {"postgres_url_env", "schema"}:
        got = sorted(store) if isinstance(store, dict) else type(store).__name__
        raise AccountsFileError(f"{where}: {shapes}; got {got}")
    var = str(store["postgres_url_env"] or "")
    if not ENV_NAME_RE.match(var):
        raise AccountsFileError(
            f"{where}: store.postgres_url_env is the NAME of the variable holding the "
            f"PostgreSQL URL (e.g. ABMATIC_PG_URL), never the URL itself; got "
            f"{'a URL' if '://' in var else repr(var)}")
    schema = store.get("schema")
    if schema is None:
        schema = default_schema(name)
        if not SCHEMA_RE.match(schema):
            raise AccountsFileError(
                f"{where}: the default schema {schema!r} is longer than PostgreSQL's 63 "
                "characters: set `store.schema` to a shorter name")
    schema = str(schema)
    if not SCHEMA_RE.match(schema):
        raise AccountsFileError(
            f"{where}: store.schema {schema!r} is not a safe schema name: lower-case letters, "
            "digits and _, starting with a letter or _, at most 63 characters (e.g. "
            f"{default_schema(name)!r})")
    if schema in RESERVED_SCHEMAS or schema.startswith("pg_"):
        raise AccountsFileError(
            f"{where}: store.schema {schema!r} is PostgreSQL's own or shared by default: "
            f"use a schema of this account's own, e.g. {default_schema(name)!r}")
    return None, var, schema
