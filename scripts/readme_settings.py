"""Regenerate the settings tables in README.md from each plugin's ``--about --format=markdown``.

Blocks between ``<!-- settings:PLUGIN -->`` and ``<!-- /settings:PLUGIN -->`` are replaced by the
plugin's own settings rows (the SDK's generic rows - stream maps, flattening, batch - are listed
once instead of three times). ``--check`` exits 1 when README.md is out of date.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ("tap-activecampaign", "abmatic-mapper", "target-activecampaign")
SDK_GENERIC = ("stream_maps", "stream_map_config", "faker_config", "flattening_", "batch_config",
               "load_method", "add_record_metadata", "validate_records", "batch_size_rows")


def settings_table(plugin: str) -> str:
    about = subprocess.run(
        [str(ROOT / ".venv" / "bin" / plugin), "--about", "--format=markdown"],
        capture_output=True, text=True, check=True,
    ).stdout
    section = about.split("## Settings", 1)[1]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    header, body = rows[:2], rows[2:]
    kept = [row for row in body if not row.split("|")[1].strip().startswith(SDK_GENERIC)]
    return "\n".join([*header, *kept])


def render(text: str) -> str:
    for plugin in PLUGINS:
        pattern = re.compile(
            rf"(<!-- settings:{plugin} -->\n)(?:.*?\n)?(<!-- /settings:{plugin} -->)", re.S
        )
        if not pattern.search(text):
            raise SystemExit(f"README.md has no <!-- settings:{plugin} --> block")
        table = settings_table(plugin)
        text = pattern.sub(lambda m, table=table: m.group(1) + table + "\n" + m.group(2), text)
    return text


def main() -> int:
    readme = ROOT / "README.md"
    current = readme.read_text()
    fresh = render(current)
    if "--check" in sys.argv[1:]:
        if fresh != current:
            print("README.md settings tables are out of date: run "
                  ".venv/bin/python scripts/readme_settings.py", file=sys.stderr)
            return 1
        print("README.md settings tables are up to date")
        return 0
    readme.write_text(fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
