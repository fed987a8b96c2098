"""The README stays true: generated settings tables are current, the two commands exist."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_settings_tables_match_each_plugins_about_output() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "readme_settings.py"),
                             "--check"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_readme_commands_are_the_ones_ci_and_users_run() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "bash scripts/demo.sh" in readme
    assert "bash scripts/test.sh" in readme
    assert (ROOT / "scripts" / "demo.sh").exists()
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text()
