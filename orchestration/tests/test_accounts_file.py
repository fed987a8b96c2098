"""The accounts file: the documented example loads, and the mistakes a user makes are named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from abmatic_dagster.accounts import AccountsFileError, load_accounts
from abmatic_dagster.environment import (
    PG_IMPORT_MAPPING,
    REPO_ROOT,
    MissingKeyError,
    meltano_env,
    prepare_project,
)

GOOD = {"name": "acme", "api_url": "https://acme.api-us1.com", "api_key_env": "ACME_KEY",
        "export_dir": "exports/acme", "contacts": 8000}


def _file(tmp_path: Path, accounts: list[dict]) -> Path:
    path = tmp_path / "accounts.yml"
    path.write_text(yaml.safe_dump({"accounts": accounts}), encoding="utf-8")
    return path


def test_the_documented_example_loads() -> None:
    accounts = load_accounts(REPO_ROOT / "orchestration" / "accounts.example.yml")
    acme, globex, initech = accounts.accounts
    assert (acme.name, acme.tier.name, acme.store_kind, acme.import_job) == (
        "acme", "small", "duckdb", "import")
    assert (globex.tier.name, globex.store_kind, globex.import_job) == (
        "large", "postgres", "import-pg")
    # one database (the same variable), one schema each: the default one and a chosen one
    assert globex.postgres_url_env == initech.postgres_url_env == "ABMATIC_PG_URL"
    assert (globex.postgres_schema, initech.postgres_schema) == (
        "abmatic_globex", "initech_abmatic")


@pytest.mark.parametrize(("change", "message"), [
    ({"api_key": "secret"}, "never put the key in this file"),
    ({"name": "Acme Corp"}, "lower-case"),
    ({"api_key_env": "not a var"}, "must be a variable name"),
    ({"api_url": None}, "lacks api_url"),
    ({"store": {"sqlite": "x"}}, "store is"),
    ({"store": {"postgres_url_env": "PG", "schema": "Acme-Store"}}, "not a safe schema name"),
    ({"store": {"postgres_url_env": "PG", "schema": "x; drop table contacts"}},
     "not a safe schema name"),
    ({"store": {"postgres_url_env": "PG", "schema": "public"}}, "PostgreSQL's own or shared"),
    ({"store": {"postgres_url_env": "PG", "schema": "pg_catalog"}}, "PostgreSQL's own"),
    ({"store": {"postgres_url_env": "postgresql://u:pw@db/abmatic"}}, "never the URL itself"),
    ({"store": {"postgres_url_env": "PG", "table": "x"}}, "store is"),
    ({"name": "a" * 60, "store": {"postgres_url_env": "PG"}}, "set `store.schema`"),
])
def test_mistakes_are_named(tmp_path: Path, change: dict, message: str) -> None:
    with pytest.raises(AccountsFileError, match=message):
        load_accounts(_file(tmp_path, [{**GOOD, **change}]))


def test_an_account_listed_twice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AccountsFileError, match="listed twice"):
        load_accounts(_file(tmp_path, [GOOD, GOOD]))


def test_one_activecampaign_account_under_two_names_is_refused(tmp_path: Path) -> None:
    twin = {**GOOD, "name": "acme-again", "api_url": GOOD["api_url"].upper() + "/api/3",
            "store": {"duckdb": "other.duckdb"}, "export_dir": "other-exports"}
    with pytest.raises(AccountsFileError, match="both have api_url"):
        load_accounts(_file(tmp_path, [GOOD, twin]))


PG = {"postgres_url_env": "SHARED_PG_URL"}


def test_two_accounts_share_a_database_in_two_schemas(tmp_path: Path) -> None:
    other = {**GOOD, "name": "globex-eu", "api_url": "https://globex-eu.api-us1.com",
             "store": {**PG, "schema": "globex"}}
    accounts = load_accounts(_file(tmp_path, [{**GOOD, "store": PG}, other]))
    assert [a.postgres_schema for a in accounts.accounts] == ["abmatic_acme", "globex"]
    assert accounts.get("acme").store_display == "postgresql ($SHARED_PG_URL), schema abmatic_acme"


@pytest.mark.parametrize("other_store", [
    {**PG, "schema": "abmatic_acme"},  # chosen equal to acme's default
    {"postgres_url_env": "OTHER_PG_URL", "schema": "abmatic_acme"},  # same database (set below)
])
def test_two_accounts_on_one_schema_are_refused_naming_both(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, other_store: dict) -> None:
    monkeypatch.setenv("SHARED_PG_URL", "postgresql+psycopg://ac:secret-1@db.local:5432/abmatic")
    monkeypatch.setenv("OTHER_PG_URL", "postgresql://reader:secret-2@DB.local/abmatic")
    other = {**GOOD, "name": "globex", "api_url": "https://globex.api-us1.com",
             "store": other_store}
    with pytest.raises(AccountsFileError) as err:
        load_accounts(_file(tmp_path, [{**GOOD, "store": PG}, other]))
    text = str(err.value)
    assert "'acme' and 'globex'" in text and "'abmatic_acme'" in text and "store.schema" in text
    assert "secret" not in text


def test_the_same_schema_on_two_databases_is_fine(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHARED_PG_URL", "postgresql+psycopg://ac@db.local:5432/abmatic")
    monkeypatch.setenv("OTHER_PG_URL", "postgresql+psycopg://ac@db.local:5432/globex")
    other = {**GOOD, "name": "globex", "api_url": "https://globex.api-us1.com",
             "store": {"postgres_url_env": "OTHER_PG_URL", "schema": "abmatic_acme"}}
    assert len(load_accounts(_file(tmp_path, [{**GOOD, "store": PG}, other])).accounts) == 2


def test_two_accounts_on_one_duckdb_file_are_refused(tmp_path: Path) -> None:
    store = {"duckdb": "stores/one.duckdb"}
    other = {**GOOD, "name": "globex", "api_url": "https://globex.api-us1.com", "store": store}
    with pytest.raises(AccountsFileError, match="'acme' and 'globex' both use the DuckDB"):
        load_accounts(_file(tmp_path, [{**GOOD, "store": store}, other]))


def test_a_postgres_account_writes_and_reads_its_own_schema(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the account's `meltano run import-pg` gets: the loader's schema from the
    environment, the mapper's from its meltano.yml copy, the URL with the psycopg driver."""
    accounts = load_accounts(_file(tmp_path, [{**GOOD, "store": {**PG, "schema": "acme_store"}}]))
    acme = accounts.get("acme")
    monkeypatch.setenv("ACME_KEY", "acme-secret")
    monkeypatch.setenv("SHARED_PG_URL", "postgresql://ac:pw@127.0.0.1:5432/abmatic")
    env = meltano_env(acme)
    assert env["TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA"] == "acme_store"
    assert env["ABMATIC_PG_URL"] == "postgresql+psycopg://ac:pw@127.0.0.1:5432/abmatic"
    prepare_project(acme)
    copy = yaml.safe_load((acme.project_dir / "meltano.yml").read_text(encoding="utf-8"))
    root = yaml.safe_load((REPO_ROOT / "meltano.yml").read_text(encoding="utf-8"))
    mapper, = [m for m in copy["plugins"]["mappers"] if m["name"] == "abmatic-mapper"]
    mapping, = [m for m in mapper["mappings"] if m["name"] == PG_IMPORT_MAPPING]
    assert mapping["config"]["store_schema"] == "acme_store"
    assert mapping["config"]["store_url"] == "${ABMATIC_PG_URL}"
    # everything else is meltano.yml's own
    root_mapper, = [m for m in root["plugins"]["mappers"] if m["name"] == "abmatic-mapper"]
    root_mapping, = [m for m in root_mapper["mappings"] if m["name"] == PG_IMPORT_MAPPING]
    mapping["config"]["store_schema"] = root_mapping["config"].get("store_schema")
    assert copy == root


def test_the_run_environment_is_the_accounts_own(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    other = {**GOOD, "name": "globex", "api_url": "https://globex.api-us1.com",
             "api_key_env": "GLOBEX_KEY", "export_dir": "exports/globex"}
    accounts = load_accounts(_file(tmp_path, [GOOD, other]))
    monkeypatch.setenv("ACME_KEY", "acme-secret")
    monkeypatch.delenv("GLOBEX_KEY", raising=False)
    env = meltano_env(accounts.get("acme"))
    assert env["TAP_ACTIVECAMPAIGN_API_KEY"] == env["TARGET_ACTIVECAMPAIGN_API_KEY"] == \
        "acme-secret"
    assert env["TAP_ACTIVECAMPAIGN_API_URL"] == "https://acme.api-us1.com"
    assert env["ABMATIC_EXPORT_DIR"] == str(tmp_path / "exports" / "acme")
    assert env["MELTANO_DATABASE_URI"] == f"sqlite:///{tmp_path / 'work' / 'acme' / 'meltano.db'}"
    assert env["MELTANO_SYS_DIR_ROOT"] == str(tmp_path / "work" / "acme" / ".meltano")
    with pytest.raises(MissingKeyError) as err:
        meltano_env(accounts.get("globex"))
    assert "GLOBEX_KEY" in str(err.value) and "acme-secret" not in str(err.value)
