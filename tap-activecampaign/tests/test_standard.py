"""The SDK's standard tap tests against an in-process sandbox."""

from __future__ import annotations

from singer_sdk.testing import SuiteConfig, get_tap_test_class

from activecampaign_sandbox import Sandbox
from tap_activecampaign.tap import TapActiveCampaign

# The test class needs its config when the module is imported, so the sandbox starts here
# and stops in teardown_module.
SANDBOX = Sandbox(seed="demo", contacts=120, rate_limit=None, api_key="test-key").start()


def teardown_module() -> None:
    SANDBOX.stop()


TestTapActiveCampaign = get_tap_test_class(
    TapActiveCampaign,
    config={"api_url": SANDBOX.base_url, "api_key": "test-key", "requests_per_second": 1000},
    # Nothing excluded: every stream returns records from the seeded sandbox.
    suite_config=SuiteConfig(ignore_no_records=False),
)
