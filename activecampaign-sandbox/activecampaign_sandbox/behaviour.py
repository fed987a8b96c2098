"""How this account differs where real ActiveCampaign accounts differ (spec §11).

Defaults model the harder, documented case; each switch is a keyword of ``Sandbox(...)``
(``Sandbox(behaviour=AccountBehaviour(sideloads=False))``) and a ``--flag`` of the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class AccountBehaviour:
    """Per-account behaviours of the real API that accounts do not all share."""

    # ---- reads ----------------------------------------------------------------------------
    # Object types the API user may not read: their routes answer the permission 403 (§11).
    denied_objects: frozenset[str] = field(default_factory=frozenset)

    # ---- writes ---------------------------------------------------------------------------
    # Whether GET /contacts honours include= (undocumented, §11); False = ignores it.
    sideloads: bool = True
