"""One account's `meltano run` environment: its own Meltano project folder, system database,
state ids, credentials, store and export folder. Nothing is shared between accounts except the
installed plugin venvs (MELTANO_SYS_DIR_ROOT) and the per-API-URL rate budget files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import yaml

from .accounts import Account

REPO_ROOT = Path(__file__).resolve().parents[2]
MELTANO_SH = REPO_ROOT / "scripts" / "meltano.sh"
PLUGINS_DIR = REPO_ROOT / ".meltano"
DUCKDB_PYTHON = PLUGINS_DIR / "loaders" / "target-duckdb" / "venv" / "bin" / "python"
PG_PYTHON = PLUGINS_DIR / "loaders" / "target-postgres" / "venv" / "bin" / "python"
# Meltano's environment whose push paths come from ABMATIC_EXPORT_DIR and whose target reads
# the account from TAP_ACTIVECAMPAIGN_API_URL/KEY (meltano.yml); the state ids then read
# `prod:<tap>-to-<target>:<account>`.
MELTANO_ENVIRONMENT = "prod"


class MissingKeyError(RuntimeError):
    """The variable the accounts file names for an account's key is unset or empty."""


def api_key(account: Account) -> str:
    value = os.environ.get(account.api_key_env, "").strip()
    if not value:
        raise MissingKeyError(
            f"Account {account.name!r}: the environment variable {account.api_key_env} (named "
            f"by api_key_env in the accounts file) is not set or empty, so there is no API key "
            f"for {account.api_url}. Set {account.api_key_env} in the environment of the Dagster "
            "deployment (code server and run workers); nothing was run for this account.")
    return value


def store_url(account: Account) -> str:
    """The SQLAlchemy URL of the account's store (PostgreSQL: with the psycopg 3 driver, the
    one target-postgres and the mapper have; a plain postgresql:// URL is accepted)."""
    if account.duckdb_path is not None:
        return f"duckdb:///{account.project_dir / 'output' / 'abmatic.duckdb'}"
    assert account.postgres_url_env
    value = os.environ.get(account.postgres_url_env, "").strip()
    if not value:
        raise MissingKeyError(
            f"Account {account.name!r}: the environment variable {account.postgres_url_env} "
            "(store.postgres_url_env in the accounts file) is not set: no PostgreSQL store URL. "
            "Set it to postgresql+psycopg://USER:PASSWORD@HOST:5432/DATABASE in the environment "
            "of the Dagster deployment; nothing was run for this account.")
    scheme, sep, rest = value.partition("://")
    if not sep or scheme not in ("postgresql", "postgres", "postgresql+psycopg"):
        raise MissingKeyError(
            f"Account {account.name!r}: {account.postgres_url_env} does not hold a PostgreSQL "
            f"URL (it starts with {scheme[:20]!r}); expected "
            "postgresql+psycopg://USER:PASSWORD@HOST:5432/DATABASE.")
    return f"postgresql+psycopg://{rest}"


def sys_dir(account: Account) -> Path:
    return account.work_dir / ".meltano"


def _link(link: Path, target: Path) -> None:
    if link.is_symlink() and link.resolve() == target.resolve():
        return
    if link.is_symlink() or link.is_file():
        link.unlink()
    link.symlink_to(target)


# The mapping whose store is PostgreSQL (meltano.yml); its store_schema is the account's.
PG_IMPORT_MAPPING = "abmatic-import-pg"


def _set_mapping_setting(project: dict[str, Any], mapping: str, key: str, value: str) -> int:
    """Set one setting of a mapping in a parsed meltano.yml, at the base and in every
    environment that configures it; returns how many places were set."""
    places = [project.get("plugins") or {}]
    places += [(env.get("config") or {}).get("plugins") or {}
               for env in project.get("environments") or []]
    done = 0
    for plugins in places:
        for mapper in plugins.get("mappers") or []:
            for entry in mapper.get("mappings") or []:
                if entry.get("name") == mapping:
                    entry.setdefault("config", {})[key] = value
                    done += 1
    return done


def _write_project_file(account: Account) -> None:
    """meltano.yml, as is for a DuckDB store; for PostgreSQL with the import mapping reading
    the account's schema (the loader's schema comes from meltano_env)."""
    target = account.project_dir / "meltano.yml"
    if account.postgres_schema is None:
        shutil.copy(REPO_ROOT / "meltano.yml", target)
        return
    project = yaml.safe_load((REPO_ROOT / "meltano.yml").read_text(encoding="utf-8"))
    if not _set_mapping_setting(project, PG_IMPORT_MAPPING, "store_schema",
                                account.postgres_schema):
        raise RuntimeError(f"meltano.yml has no mapping {PG_IMPORT_MAPPING!r}: the PostgreSQL "
                           f"import of account {account.name!r} cannot be set up")
    tmp = target.with_suffix(".yml.tmp")
    tmp.write_text("# Written by abmatic_dagster from meltano.yml (store_schema of "
                   f"{PG_IMPORT_MAPPING} = {account.postgres_schema}); edit meltano.yml.\n"
                   + yaml.safe_dump(project, sort_keys=False, allow_unicode=True),
                   encoding="utf-8")
    tmp.replace(target)


def prepare_project(account: Account) -> None:
    """The account's Meltano project: a copy of meltano.yml (refreshed every run, so a deploy
    reaches every account) and an output/ folder. Mappings read
    ${MELTANO_PROJECT_ROOT}/output/abmatic.duckdb (mapping settings cannot be set from the
    environment), so that path is a link to the account's DuckDB file; a PostgreSQL account's
    copy has its own schema in the import mapping's store_schema.

    Its own Meltano system folder too: Meltano 4.4.1 writes every plugin's config (with the
    API key) and catalog to <sys dir>/run/<plugin>/ under fixed names, so two accounts sharing
    one .meltano overwrite each other's files mid-run (seen: "Invalid catalog"). The plugin
    venvs are shared through links; run/ is the account's own."""
    out = account.project_dir / "output"
    out.mkdir(parents=True, exist_ok=True)
    sysd = sys_dir(account)
    (sysd / "run").mkdir(parents=True, exist_ok=True)
    for kind in ("extractors", "loaders", "mappers", "utilities", "transformers"):
        if (PLUGINS_DIR / kind).is_dir():
            _link(sysd / kind, PLUGINS_DIR / kind)
    # target-duckdb's executable is ../../../../../scripts/start-on-input.py from its venv/bin
    _link(account.work_dir / "scripts", REPO_ROOT / "scripts")
    _write_project_file(account)
    account.export_dir.mkdir(parents=True, exist_ok=True)
    if account.duckdb_path is not None:
        link = out / "abmatic.duckdb"
        account.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
        _link(link, account.duckdb_path)


def meltano_env(account: Account) -> dict[str, str]:
    """Variables for the account's `meltano run` (they win over meltano.yml and any .env)."""
    key = api_key(account)
    url = account.api_url
    env = {
        "MELTANO_PROJECT_ROOT": str(account.project_dir),
        "MELTANO_SYS_DIR_ROOT": str(sys_dir(account)),
        # Its own system database: its own state, and no SQLite contention between accounts.
        # On several machines, ABMATIC_MELTANO_DATABASE_URI (PostgreSQL) holds every account's
        # state instead: the state ids carry the account, so they never collide.
        "MELTANO_DATABASE_URI": os.environ.get("ABMATIC_MELTANO_DATABASE_URI")
        or f"sqlite:///{account.meltano_db}",
        "MELTANO_ENVIRONMENT": MELTANO_ENVIRONMENT,
        "TAP_ACTIVECAMPAIGN_API_URL": url,
        "TAP_ACTIVECAMPAIGN_API_KEY": key,
        "TARGET_ACTIVECAMPAIGN_API_URL": url,
        "TARGET_ACTIVECAMPAIGN_API_KEY": key,
        "ABMATIC_EXPORT_DIR": str(account.export_dir),
        "TARGET_ACTIVECAMPAIGN_ACTIVITY_LOG_PATH": str(account.activity_log),
        "TARGET_ACTIVECAMPAIGN_REJECTS_PATH": str(account.project_dir / "output"
                                                  / "rejects-push.jsonl"),
    }
    if account.duckdb_path is not None:
        env["TARGET_DUCKDB_PATH"] = str(account.project_dir / "output" / "abmatic.duckdb")
    else:
        # One database may hold many accounts: target-postgres writes this account's schema
        # (an env var wins over every meltano.yml level); the mapper reads it (meltano.yml copy).
        env["ABMATIC_PG_URL"] = store_url(account)
        env["TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA"] = str(account.postgres_schema)
    # One budget file per API URL for every run on this machine (activecampaign-client).
    budget = os.environ.get("ACTIVECAMPAIGN_RATE_BUDGET_DIR")
    if budget:
        env["ACTIVECAMPAIGN_RATE_BUDGET_DIR"] = budget
    return env
