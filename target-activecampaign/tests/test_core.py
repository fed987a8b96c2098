"""The SDK's standard target tests, run against a sandbox.

The standard suite sends streams such as ``test_array_data``; this target pushes only
``contacts`` and ``accounts`` and reports every other stream once (IgnoredStreamSink), so these
tests cover Singer message handling: schemas, state, record validation, odd characters.
The ActiveCampaign behaviour itself is covered by test_push.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from singer_sdk.testing import get_target_test_class
from singer_sdk.testing.suites import target_tests

from target_activecampaign.target import TargetActiveCampaign

# Filled in place by the module fixture below once the sandbox is listening.
SANDBOX_CONFIG: dict[str, Any] = {"api_url": "http://127.0.0.1:9", "api_key": "pending",
                                  "activity_log_path": "", "rejects_path": ""}

StandardTargetTests = get_target_test_class(
    TargetActiveCampaign,
    config=SANDBOX_CONFIG,
    custom_suites=[],
)


@pytest.fixture(scope="module", autouse=True)
def _sandbox_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    from activecampaign_sandbox import Sandbox

    tmp = tmp_path_factory.mktemp("standard")
    with Sandbox(seed="demo", contacts=10, rate_limit=None, api_key="std-key") as sb:
        SANDBOX_CONFIG.update(api_url=sb.base_url, api_key=sb.api_key,
                              requests_per_second=1000,
                              activity_log_path=str(tmp / "activity.jsonl"),
                              rejects_path=str(tmp / "rejects.jsonl"))
        yield


class TestTargetActiveCampaign(StandardTargetTests):  # type: ignore[misc,valid-type]
    """Standard target tests (no exclusions: every test passes as is)."""


def test_standard_suite_is_collected() -> None:
    assert len(target_tests.tests) >= 10
