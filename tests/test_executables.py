"""The three plugin executables in .venv answer --about and --version, as a newcomer checks."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

BIN = Path(__file__).resolve().parents[1] / ".venv" / "bin"
PLUGINS = {
    "tap-activecampaign": {"api_url", "api_key", "requests_per_second", "list_ids"},
    "abmatic-mapper": {"direction", "field_modes", "custom_fields", "operations"},
    "target-activecampaign": {"api_url", "api_key", "default_mode", "dry_run"},
}


@pytest.mark.parametrize("plugin", sorted(PLUGINS))
def test_about_json_lists_the_plugins_own_settings(plugin: str) -> None:
    result = subprocess.run([str(BIN / plugin), "--about", "--format=json"],
                            capture_output=True, text=True, check=True)
    about = json.loads(result.stdout)
    assert about["name"] == plugin
    assert PLUGINS[plugin] <= set(about["settings"]["properties"])


@pytest.mark.parametrize("plugin", sorted(PLUGINS))
def test_version_names_the_plugin_and_the_sdk(plugin: str) -> None:
    result = subprocess.run([str(BIN / plugin), "--version"], capture_output=True, text=True,
                            check=True)
    assert result.stdout.startswith(f"{plugin} v0.1.0")
    assert "Meltano SDK v0.54.9" in result.stdout


@pytest.mark.parametrize(("plugin", "secret"), [("tap-activecampaign", "api_key"),
                                                ("target-activecampaign", "api_key"),
                                                ("abmatic-mapper", "store_url")])
def test_secrets_are_marked_secret(plugin: str, secret: str) -> None:
    result = subprocess.run([str(BIN / plugin), "--about", "--format=json"],
                            capture_output=True, text=True, check=True)
    assert json.loads(result.stdout)["settings"]["properties"][secret].get("secret") is True
