"""The accounts file: the connected ActiveCampaign accounts, as data (README.md, "Many
accounts on Dagster").

    work_dir: work                      # per-account Meltano projects, state and logs
    accounts:
    - name: acme                        # the Dagster partition and the Meltano state-id suffix
      api_url: https://acme.api-us1.com
      api_key_env: ACME_AC_API_KEY      # the NAME of the variable holding the key, never the key
      store: {duckdb: stores/acme.duckdb}          # or {postgres_url_env: ACME_PG_URL}
      export_dir: exports/acme          # Abmatic's export files for this account's pushes
      contacts: 8000                    # its size: picks the schedule (SIZE_TIERS)

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

import yaml

ACCOUNTS_FILE_ENV = "ABMATIC_ACCOUNTS_FILE"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class SizeTier:
    name: str
    max_contacts: int | None  # upper bound (exclusive); None = no bound
    cron: str
    label: str


# The README's size table (and meltano.yml's sync-* schedules), in UTC.
SIZE_TIERS = (
    SizeTier("small", 10_000, "0 */3 * * *", "< 10,000 contacts: every 3 hours"),
    SizeTier("medium", 50_000, "0 */8 * * *", "10,000-50,000 contacts: every 8 hours"),
    SizeTier("large", None, "0 2 * * *", "> 50,000 contacts: daily at 02:00"),
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
    for i, entry in enumerate(entries):
        account = _account(file, base, work_dir, i, entry)
        if account.name in seen:
            raise AccountsFileError(f"{file}: account {account.name!r} is listed twice")
        seen.add(account.name)
        accounts.append(account)
    return AccountsFile(file, work_dir, tuple(accounts))


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
    if not isinstance(store, dict) or len(store) != 1 or \
            next(iter(store)) not in ("duckdb", "postgres_url_env"):
        raise AccountsFileError(f"{where}: store is {{duckdb: PATH}} or {{postgres_url_env: VAR}}")
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
        duckdb_path=_path(base, store["duckdb"]) if "duckdb" in store else None,
        postgres_url_env=str(store["postgres_url_env"]) if "postgres_url_env" in store else None,
    )
