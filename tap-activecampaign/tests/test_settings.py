"""Settings are checked before any request, with messages that never echo the key."""

from __future__ import annotations

import pytest
from singer_sdk.exceptions import ConfigValidationError

from tap_activecampaign.tap import TapActiveCampaign

SECRET = "s3cr3t-key-value"


def _errors(config: dict) -> str:
    with pytest.raises(ConfigValidationError) as info:
        TapActiveCampaign(config=config, validate_config=True)
    return " ".join(info.value.errors)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"api_url": "http://acme.api-us1.com", "api_key": SECRET}, "https://"),
        ({"api_url": "acme.api-us1.com", "api_key": SECRET}, "include https://"),
        ({"api_url": "https://acme.api-us1.com/admin", "api_key": SECRET}, "unexpected path"),
        ({"api_url": "https://acme.api-us1.com", "api_key": ""}, "api_key is empty"),
        ({"api_url": "https://acme.api-us1.com", "api_key": f" {SECRET}\n"}, "whitespace"),
        ({"api_url": "https://acme.api-us1.com", "api_key": SECRET, "naive_timezone": "Mars/X"},
         "IANA"),
        ({"api_url": "https://acme.api-us1.com"}, "api_key"),
    ],
)
def test_bad_settings_fail_with_an_actionable_message(config: dict, expected: str) -> None:
    message = _errors(config)
    assert expected in message
    assert SECRET not in message


@pytest.mark.parametrize(
    "url",
    ["https://acme.api-us1.com", "https://acme.api-us1.com/", "https://acme.api-us1.com/api/3",
     "https://acme.api-us1.com/api/3/", "http://127.0.0.1:8765", "http://localhost:9/api/3"],
)
def test_accepted_urls_normalize_to_the_api_base(url: str) -> None:
    tap = TapActiveCampaign(config={"api_url": url, "api_key": SECRET}, validate_config=True)
    assert tap.api_base.endswith("/api/3")
    assert tap.api_base.count("/api/3") == 1
