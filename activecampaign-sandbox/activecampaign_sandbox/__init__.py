"""Local ActiveCampaign API v3 sandbox: ``with Sandbox(seed="demo") as sb: ...``."""

from __future__ import annotations

from activecampaign_sandbox.behaviour import AccountBehaviour
from activecampaign_sandbox.server import DEFAULT_API_KEY, Faults, Sandbox
from activecampaign_sandbox.store import Store

__all__ = ["DEFAULT_API_KEY", "AccountBehaviour", "Faults", "Sandbox", "Store"]
