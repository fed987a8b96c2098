"""The import preview (scripts/preview.sh): tap -> import mapping, first N records, nothing
written. Runs against an in-process sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from e2e_helpers import ROOT, names_of

from activecampaign_sandbox import Sandbox

pytestmark = pytest.mark.e2e


def preview(sb: Sandbox, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MELTANO_", "TAP_"))}
    env.update(
        {
            "TAP_ACTIVECAMPAIGN_API_URL": sb.base_url,
            "TAP_ACTIVECAMPAIGN_API_KEY": sb.api_key,
            "TAP_ACTIVECAMPAIGN_REQUESTS_PER_SECOND": "1000",
            "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path}/meltano.db",
        }
    )
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "preview.sh"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_preview_of_a_list_shows_n_of_its_contacts_and_writes_nothing(
    meltano_installed: None, tmp_path: Path
) -> None:
    with Sandbox(seed="demo", contacts=300, rate_limit=None, api_key="e2e-key") as sb:
        lst = sb.store.objects("lists")[2]
        before = sb.stats()["total_requests"]
        proc = preview(
            sb, tmp_path, "--source", f"list:{lst['id']}", "-n", "4", "--json", "--no-store"
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        records = [json.loads(line) for line in proc.stdout.splitlines()]
        assert len(records) == 4
        for rec in records:
            contact = sb.store.contact_by_email(rec["work_email"])
            assert contact is not None
            assert lst["name"] in names_of(
                sb, "lists", "contactLists", "list", "name", contact["id"]
            )
        assert "nothing was written" in proc.stderr
        assert sb.stats()["total_requests"] > before
        writes = [r for r in sb.stats()["routes"] if not r.startswith("GET ")]
        assert writes == []


def test_preview_rejects_an_unknown_source(meltano_installed: None, tmp_path: Path) -> None:
    with Sandbox(seed="empty", contacts=0, rate_limit=None, api_key="e2e-key") as sb:
        proc = preview(sb, tmp_path, "--source", "everything")
    assert proc.returncode == 2
    assert "--source is all, list:ID, tag:ID or segment:ID" in proc.stderr
