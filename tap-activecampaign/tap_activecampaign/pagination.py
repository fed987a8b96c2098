"""Paginators: offset pages and keyset pages by contact id, both under one stop rule.

``activecampaign_client.paging.PageGuard`` decides when a list has no more pages: a short
page, ``meta.total`` reached, a page that repeats the previous one (an endpoint that ignores
``offset``, spec §11: its items are dropped, not emitted twice), or a hard cap (an error).
Never only "a full page means more".
"""

from __future__ import annotations

import typing as t

from singer_sdk.pagination import BaseAPIPaginator, OffsetPaginator
from typing_extensions import override

from activecampaign_client.paging import PAGE_SIZE, PageGuard

if t.TYPE_CHECKING:
    import requests

__all__ = ["PAGE_SIZE", "ContactKeysetPaginator", "ShortPageOffsetPaginator"]

#: response -> (the page's items, meta.total or None)
ReadPage = t.Callable[["requests.Response"], tuple[list[dict], "int | None"]]
_KEPT_ATTR = "_tap_activecampaign_kept"


class _Guarded:
    """The items of each page worth keeping, decided once per response by a PageGuard."""

    guard: PageGuard
    _read_page: ReadPage

    def offset_of_page(self) -> int:
        return 0

    def keep(self, response: requests.Response) -> list[dict]:
        if not hasattr(response, _KEPT_ATTR):
            items, total = self._read_page(response)
            setattr(response, _KEPT_ATTR, self.guard.page(items, total, self.offset_of_page()))
        return t.cast("list[dict]", getattr(response, _KEPT_ATTR))

    def has_more(self, response: requests.Response) -> bool:  # the paginators' hook
        self.keep(response)
        return self.guard.more


class ShortPageOffsetPaginator(_Guarded, OffsetPaginator):
    """``limit``/``offset`` paging under the PageGuard rule (``meta.total`` is a string on
    most lists, an int on deals, missing on some; ``offset`` is ignored by some)."""

    def __init__(self, read_page: ReadPage, page_size: int = PAGE_SIZE,
                 what: str = "list") -> None:
        super().__init__(start_value=0, page_size=page_size)
        self._read_page = read_page
        self.guard = PageGuard(what, page_size)

    def offset_of_page(self) -> int:
        return int(self.current_value or 0)


class ContactKeysetPaginator(_Guarded, BaseAPIPaginator[t.Optional[int]]):  # noqa: UP045
    """Keyset paging for ``GET /contacts``: ``orders[id]=ASC`` with ``id_greater=<last id>``.

    A contact inserted, updated or deleted during a long scan cannot shift the pages (as it
    would with offsets), so no contact is skipped or read twice within one scan.
    The token is the last id read (None for the first page). ``meta.total`` then counts
    the contacts left from this page on, so the guard sees offset 0.
    """

    def __init__(self, read_page: ReadPage, page_size: int = PAGE_SIZE,
                 what: str = "contacts") -> None:
        super().__init__(start_value=None)
        self._read_page = read_page
        self.page_size = page_size
        self.guard = PageGuard(what, page_size)

    @override
    def get_next(self, response: requests.Response) -> int | None:
        ids = [int(item["id"]) for item in self.keep(response) if item.get("id")]
        return max(ids) if ids else None
