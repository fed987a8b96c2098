"""One rule for when a list answer has another page, so no paging loop can run forever.

ActiveCampaign pages with ``limit``/``offset`` (or ``id_greater`` on contacts), but some lists
document no ``offset`` (custom-field meta/data, spec §11) and ``meta.total`` is a string, an
int or missing. A loop that goes on while pages are full would never end on an endpoint that
ignores ``offset``. ``PageGuard`` stops on the first of:

- a short page (fewer than ``limit`` items);
- ``meta.total`` reached (``offset + items >= total``; for keyset paging pass ``offset=0``:
  the total there counts what is left);
- a page that repeats the previous one (the endpoint ignored ``offset``): its items are
  dropped, not read twice;
- a hard cap on pages: ``PagingError`` saying which list and what to do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from activecampaign_client.errors import ActiveCampaignError

LOGGER = logging.getLogger("activecampaign_client")

PAGE_SIZE = 100
# 100,000 pages of 100 = 10 million rows: far above any account, far below "forever".
DEFAULT_MAX_PAGES = 100_000


class PagingError(ActiveCampaignError):
    """A list kept sending full, new pages past the hard cap."""


def total_of(body: Any) -> int | None:
    """``meta.total`` as an int (a string on most lists, an int on deals), None if absent."""
    meta = body.get("meta") if isinstance(body, dict) else None
    total = meta.get("total") if isinstance(meta, dict) else None
    try:
        return int(total) if total is not None else None
    except (TypeError, ValueError):
        return None


def _fingerprint(items: list[Any]) -> tuple[Any, ...]:
    return tuple(item.get("id") if isinstance(item, dict) else repr(item) for item in items)


class PageGuard:
    """Decides, page by page, whether a list has more; ``page()`` returns the items to keep."""

    def __init__(self, what: str, page_size: int = PAGE_SIZE,
                 max_pages: int = DEFAULT_MAX_PAGES) -> None:
        self.what = what
        self.page_size = page_size
        self.max_pages = max_pages
        self.pages = 0
        self.more = True
        self.repeated = False  # the endpoint answered the same page twice (ignores offset)
        self.first_page_size: int | None = None
        self._previous: tuple[Any, ...] | None = None

    def page(self, items: list[Any], total: int | None = None, offset: int = 0) -> list[Any]:
        """Record one page; set ``more``; return its items (none if it repeats the last)."""
        self.pages += 1
        if self.first_page_size is None:
            self.first_page_size = len(items)
        fingerprint = _fingerprint(items)
        if items and fingerprint == self._previous:
            self.repeated = True
            LOGGER.warning("%s: page %d repeats the previous page (the endpoint ignores "
                           "offset); stopping there", self.what, self.pages)
            self.more = False
            return []
        self._previous = fingerprint
        self.more = len(items) >= self.page_size and (
            total is None or offset + len(items) < total)
        if self.more and self.pages >= self.max_pages:
            raise PagingError(
                f"{self.what}: stopped after {self.pages} full pages of {self.page_size} "
                "without reaching the end (meta.total missing or never reached). Narrow the "
                "request (a filter or a smaller source) or report the endpoint.")
        return items


Get = Callable[[str, dict[str, Any]], Any]


def offset_pages(get: Get, path: str, list_key: str, params: Mapping[str, Any] | None = None,
                 page_size: int = PAGE_SIZE, guard: PageGuard | None = None,
                 ) -> Iterator[list[Any]]:
    """The pages (items to keep) of a ``limit``/``offset`` collection, under ``PageGuard``.

    ``get(path, params)`` sends one request and returns the parsed body (the session's
    ``get``, or the tap's). Pass a ``guard`` to look at it afterwards (``repeated``).
    """
    guard = guard or PageGuard(f"GET /{path}", page_size)
    while guard.more:
        offset = guard.pages * page_size
        body = get(path, {**(params or {}), "limit": page_size, "offset": offset})
        items = body.get(list_key) if isinstance(body, dict) else body
        yield guard.page(items if isinstance(items, list) else [], total_of(body), offset)
