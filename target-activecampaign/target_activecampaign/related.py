"""Related rows of contacts when ``GET /contacts`` lacks a sideload it was asked for.

``include=`` on the contacts list is undocumented (spec §11): an account may answer without
``fieldValues``, ``accountContacts``, ``contactTags`` or ``contactLists``. An absent key is not
"no rows" (an empty array present in the answer is); reading it as none would rewrite every
custom field, re-link every account and re-subscribe contacts who unsubscribed. So the rows are
read another way, whichever costs fewer requests: the whole table in pages of 100
(``GET /fieldValues``), or each contact's own sub-list (``GET /contacts/{id}/fieldValues``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from typing import Any

from activecampaign_client import ActiveCampaignSession
from activecampaign_client.paging import PAGE_SIZE, PageGuard, offset_pages, total_of
from target_activecampaign.current import SIDELOADS, CurrentContact, apply_related

PAGE = PAGE_SIZE


def missing_sideloads(body: Any, includes: Iterable[str]) -> set[str]:
    """The requested sideloads whose key is absent from a contacts answer."""
    present = body if isinstance(body, Mapping) else {}
    return {kind for kind in includes if kind in SIDELOADS and kind not in present}


class RelatedReader:
    """Reads the related rows a contacts answer lacked, and counts what it cost."""

    def __init__(self, session: ActiveCampaignSession, logger: logging.Logger) -> None:
        self.session = session
        self.logger = logger
        self.ignored: set[str] = set()  # sideloads this account left out, for the summary
        self.requests = 0

    def fill(self, contacts: list[CurrentContact], kinds: set[str]) -> None:
        """Give ``contacts`` their ``kinds`` rows as if they had been sideloaded."""
        known = [c for c in contacts if c.id]
        for kind in sorted(kinds):
            if kind not in self.ignored:
                self.ignored.add(kind)
                self.logger.warning(
                    "ActiveCampaign answered GET /contacts without the include=%s sideload; "
                    "reading %s another way (never taken as 'none')", kind, kind)
            if known:
                apply_related(known, kind, self.rows(kind, [c.id for c in known]))

    def rows(self, kind: str, contact_ids: list[str]) -> list[dict[str, Any]]:
        """Every ``kind`` row of these contacts: the table when its pages are fewer than the
        contacts, else one sub-list per contact (one contact: no probe of the table)."""
        wanted = set(contact_ids)
        if len(wanted) > 1:
            first = self._get(kind, {"limit": PAGE, "offset": 0})
            total = total_of(first)
            if total is not None and math.ceil(total / PAGE) <= len(wanted) + 1:
                table = self._table(kind, first, total)
                if table is not None:
                    return [r for r in table if str(r.get("contact")) in wanted]
        out: list[dict[str, Any]] = []
        for cid in sorted(wanted, key=lambda c: (len(c), c)):
            out.extend(r for r in self._pages(f"contacts/{cid}/{kind}", kind)
                       if str(r.get("contact", cid)) == cid)
        return out

    def _table(self, kind: str, first: Any, total: int) -> list[dict[str, Any]] | None:
        """The whole table from its first page on; None when it stopped short of
        ``meta.total`` (an endpoint that ignores offset), so nothing is taken as missing."""
        guard = PageGuard(f"GET /{kind}")
        rows = list(guard.page(_items(first, kind), total, 0))
        if guard.more:
            rows.extend(_dicts(offset_pages(self._get, kind, kind, None, PAGE, guard)))
        if len(rows) < total:
            self.logger.warning("GET /%s stopped at %d of %d rows; reading contact by contact",
                                kind, len(rows), total)
            return None
        return rows

    def _pages(self, path: str, kind: str) -> list[dict[str, Any]]:
        return _dicts(offset_pages(self._get, path, kind, None, PAGE))

    def _get(self, path: str, params: dict[str, Any]) -> Any:
        self.requests += 1
        return self.session.get(path, params)


def _items(body: Any, kind: str) -> list[dict[str, Any]]:
    items = body.get(kind) if isinstance(body, Mapping) else body
    return [i for i in items or [] if isinstance(i, dict)]


def _dicts(pages: Iterable[list[Any]]) -> list[dict[str, Any]]:
    return [i for page in pages for i in page if isinstance(i, dict)]
