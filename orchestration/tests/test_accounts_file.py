"""The accounts file: the documented example loads, and the mistakes a user makes are named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from abmatic_dagster.accounts import AccountsFileError, load_accounts
from abmatic_dagster.environment import REPO_ROOT, MissingKeyError, meltano_env

GOOD = {"name": "acme", "api_url": "https://acme.api-us1.com", "api_key_env": "ACME_KEY",
        "export_dir": "exports/acme", "contacts": 8000}


def _file(tmp_path: Path, accounts: list[dict]) -> Path:
    path = tmp_path / "accounts.yml"
    path.write_text(yaml.safe_dump({"accounts": accounts}), encoding="utf-8")
    return path


def test_the_documented_example_loads() -> None:
    accounts = load_accounts(REPO_ROOT / "orchestration" / "accounts.example.yml")
    acme, globex = accounts.accounts
    assert (acme.name, acme.tier.name, acme.store_kind, acme.import_job) == (
        "acme", "small", "duckdb", "import")
    assert (globex.tier.name, globex.store_kind, globex.import_job) == (
        "large", "postgres", "import-pg")


@pytest.mark.parametrize(("change", "message"), [
    ({"api_key": "secret"}, "never put the key in this file"),
    ({"name": "Acme Corp"}, "lower-case"),
    ({"api_key_env": "not a var"}, "must be a variable name"),
    ({"api_url": None}, "lacks api_url"),
    ({"store": {"sqlite": "x"}}, "store is"),
])
def test_mistakes_are_named(tmp_path: Path, change: dict, message: str) -> None:
    with pytest.raises(AccountsFileError, match=message):
        load_accounts(_file(tmp_path, [{**GOOD, **change}]))


def test_an_account_listed_twice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AccountsFileError, match="listed twice"):
        load_accounts(_file(tmp_path, [GOOD, GOOD]))


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
