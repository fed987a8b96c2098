"""Shared ActiveCampaign API v3 client pieces used by the tap, the target and the sandbox."""

from __future__ import annotations

from activecampaign_client.errors import (
    ActiveCampaignError,
    AuthenticationError,
    ConfigError,
    FatalAPIError,
    RedirectRefusedError,
    RetriableAPIError,
    UnsafeAddressError,
)
from activecampaign_client.http import ActiveCampaignSession, ApiUsage
from activecampaign_client.normalize import (
    blank_to_none,
    is_valid_email,
    normalize_domain,
    normalize_email,
)
from activecampaign_client.objects import OBJECTS, ACObject
from activecampaign_client.pacing import AccountBudget, RequestPacer, shared_pacer
from activecampaign_client.urls import check_api_key, normalize_api_url

__all__ = [
    "OBJECTS",
    "ACObject",
    "AccountBudget",
    "ActiveCampaignError",
    "ActiveCampaignSession",
    "ApiUsage",
    "AuthenticationError",
    "ConfigError",
    "FatalAPIError",
    "RedirectRefusedError",
    "RequestPacer",
    "RetriableAPIError",
    "UnsafeAddressError",
    "blank_to_none",
    "check_api_key",
    "is_valid_email",
    "normalize_api_url",
    "normalize_domain",
    "normalize_email",
    "shared_pacer",
]
