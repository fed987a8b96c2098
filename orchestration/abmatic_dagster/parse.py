"""What a `meltano run` left behind, as numbers: the mapper's run summaries, the tap's and the
target's API usage lines, the target's activity-log summary lines."""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

OUTCOMES = ("created", "updated", "unchanged", "skipped", "rejected", "failed")
_MAPPER = re.compile(r"Run summary \((import|push)\) (\w+): (.*)$")
_TAP_USAGE = re.compile(r"tap-activecampaign\S* +ActiveCampaign API usage: (\{.*\})")
_TARGET_USAGE = re.compile(r"target-activecampaign +API usage: (.*)$")
_SKIPPED_FILES = re.compile(r"Skipped (\d+) unchanged files")


def mapper_summaries(log: str) -> dict[str, dict[str, int]]:
    """{stream: {in, out, rejected, ...}} summed over every mapper invocation of the run."""
    found: dict[str, Counter[str]] = {}
    for line in log.splitlines():
        m = _MAPPER.search(line)
        if m:
            counts = found.setdefault(m.group(2), Counter())
            counts.update({k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(3))})
    return {k: dict(v) for k, v in found.items()}


def tap_usage(log: str) -> dict[str, float]:
    usage: Counter[str] = Counter()
    share = 0.0
    for line in log.splitlines():
        m = _TAP_USAGE.search(line)
        if m:
            try:
                data = ast.literal_eval(m.group(1))
            except (ValueError, SyntaxError):
                continue
            usage.update({k: data.get(k, 0) for k in ("requests", "throttled_429", "retries",
                                                       "elapsed_seconds")})
            share = max(share, float(data.get("share_of_rate_budget", 0.0)))
    return {**usage, "share_of_rate_budget": share}


def skipped_files(log: str) -> int:
    return sum(int(n) for n in _SKIPPED_FILES.findall(log))


def activity_summaries(path: Path, offset: int = 0) -> list[dict[str, Any]]:
    """The target's `type: summary` lines written after byte ``offset`` (this run's)."""
    if not path.exists():
        return []
    with path.open("rb") as fh:
        fh.seek(offset)
        lines = fh.read().decode("utf-8", "replace").splitlines()
    out = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("type") == "summary":
            out.append(entry)
    return out


def push_totals(summaries: list[dict[str, Any]]) -> dict[str, float]:
    """created / updated / ... summed over objects and target invocations, plus API usage;
    the share of the budget is the busiest invocation's."""
    totals: Counter[str] = Counter()
    share = 0.0
    for s in summaries:
        for row in s.get("counts") or []:
            totals.update({o: int(row.get(o, 0)) for o in OUTCOMES})
        usage = s.get("api_usage") or {}
        totals.update({k: usage.get(k, 0) for k in ("requests", "throttled_429", "retries")})
        if usage.get("requests"):
            share = max(share, float(usage.get("share_of_rate_budget", 0.0)))
    out: dict[str, float] = {o: totals.get(o, 0) for o in OUTCOMES}
    out.update({k: totals.get(k, 0) for k in ("requests", "throttled_429", "retries")})
    out["share_of_rate_budget"] = share
    return out
