"""Helpers shared by the target's tests: Singer messages in, activity log and state out."""

from __future__ import annotations

import copy
import io
import json
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from activecampaign_client import ActiveCampaignSession
from target_activecampaign.objects.accounts import ACCOUNT_SCHEMA
from target_activecampaign.objects.contacts import CONTACT_SCHEMA
from target_activecampaign.target import TargetActiveCampaign

# The two kinds of account for the ``sandbox`` fixture (AccountBehaviour fields): one that
# honours include= on GET /contacts, and one that ignores it (spec §11).
BOTH_KINDS = pytest.mark.parametrize("sandbox", [{}, {"sideloads": False}], indirect=True,
                                     ids=["sideloads", "ignores-include"])


def schema_message(stream: str, x_sync: dict[str, Any] | None = None) -> dict[str, Any]:
    schema = copy.deepcopy(CONTACT_SCHEMA if stream == "contacts" else ACCOUNT_SCHEMA)
    if x_sync is not None:
        schema["x-sync"] = x_sync
    key = ["email"] if stream == "contacts" else ["accountUrl"]
    return {"type": "SCHEMA", "stream": stream, "schema": schema, "key_properties": key}


def singer(stream: str, records: list[dict[str, Any]], x_sync: dict[str, Any] | None = None,
           state: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    msgs = [schema_message(stream, x_sync)]
    msgs += [{"type": "RECORD", "stream": stream, "record": r} for r in records]
    if state is not None:
        msgs.append({"type": "STATE", "value": state})
    return msgs


@dataclass
class Result:
    stdout: str
    stderr: str
    activity: list[dict[str, Any]]
    rejects: list[dict[str, Any]]
    error: BaseException | None = None
    by_key: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def states(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    @property
    def summary(self) -> dict[str, Any]:
        return next(line for line in self.activity if line["type"] == "summary")

    def outcome(self, key: str) -> str:
        return next(line["outcome"] for line in self.by_key[key] if "outcome" in line)

    def messages(self, key: str) -> list[str]:
        return [line["message"] for line in self.by_key.get(key, [])]

    def counts(self, obj: str = "contact") -> dict[str, int]:
        row: dict[str, Any] = next(
            (r for r in self.summary["counts"] if r["object"] == obj), {})
        return {k: v for k, v in row.items() if k != "object" and v}


def _read(path: str) -> list[dict[str, Any]]:
    p = Path(path)
    return [json.loads(line) for line in p.read_text().splitlines()] if p.exists() else []


def run_target(config: dict[str, Any], messages: list[dict[str, Any]],
               expect_error: bool = False) -> Result:
    """Run the target in-process on ``messages``; activity log and rejects are per run."""
    for key in ("activity_log_path", "rejects_path"):
        Path(config[key]).unlink(missing_ok=True)
    text = "".join(json.dumps(m) + "\n" for m in messages)
    out, err = io.StringIO(), io.StringIO()
    error: BaseException | None = None
    with redirect_stdout(out), redirect_stderr(err):
        try:
            TargetActiveCampaign(config=config).listen(io.StringIO(text))
        except Exception as exc:
            error = exc
    if error is not None and not expect_error:
        raise error
    activity = _read(config["activity_log_path"])
    result = Result(out.getvalue(), err.getvalue(), activity, _read(config["rejects_path"]),
                    error)
    for line in activity:
        result.by_key.setdefault(line.get("key", ""), []).append(line)
    return result


def find_contact(api: ActiveCampaignSession, email: str) -> dict[str, Any] | None:
    """The contact with its related rows, read from its sub-lists (works whether or not the
    account honours include=)."""
    for c in api.get("contacts", {"email": email}).get("contacts") or []:
        if c["email"].lower() == email.lower():
            def sub(kind: str, cid: str = str(c["id"])) -> list[dict[str, Any]]:
                return list(api.get(f"contacts/{cid}/{kind}").get(kind) or [])
            c["_fieldValues"] = {fv["field"]: fv["value"] for fv in sub("fieldValues")}
            links = sub("accountContacts")
            c["_accounts"] = [ac["account"] for ac in links]
            c["_jobTitles"] = [ac.get("jobTitle") for ac in links]
            c["_tags"] = {str(t["tag"]) for t in sub("contactTags")}
            c["_lists"] = {str(cl["list"]): str(cl["status"]) for cl in sub("contactLists")}
            return c
    return None


def write_requests(sandbox: Any) -> int:
    """POST/PUT/PATCH/DELETE requests the sandbox has served since its last stats reset."""
    routes = sandbox.stats()["routes"]
    assert isinstance(routes, dict)
    return sum(n for route, n in routes.items() if not route.startswith("GET "))


def requests_by_route(sandbox: Any) -> dict[str, int]:
    return dict(sandbox.stats()["routes"])
