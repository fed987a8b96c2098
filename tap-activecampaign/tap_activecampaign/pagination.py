"""Paginators: offset pages of 100 that stop on a short page, and keyset pages by contact id."""

from __future__ import annotations

import typing as t

from singer_sdk.pagination import BaseAPIPaginator, OffsetPaginator

if t.TYPE_CHECKING:
    import requests

PAGE_SIZE = 100

PageItems = t.Callable[["requests.Response"], list[dict]]


class ShortPageOffsetPaginator(OffsetPaginator):
    """``limit``/``offset`` paging that stops on a short page.

    ActiveCampaign's ``meta.total`` is only a hint (a string on most lists, an int on deals,
    missing on some), so the page length decides: a page shorter than ``limit`` is the last
    one, and no extra empty request is made.
    """

    def __init__(self, page_items: PageItems, page_size: int = PAGE_SIZE) -> None:
        super().__init__(start_value=0, page_size=page_size)
        self._page_items = page_items

    def has_more(self, response: requests.Response) -> bool:
        return len(self._page_items(response)) >= self.page_size


class ContactKeysetPaginator(BaseAPIPaginator[t.Optional[int]]):  # noqa: UP045
    """Keyset paging for ``GET /contacts``: ``orders[id]=ASC`` with ``id_greater=<last id>``.

    A contact inserted, updated or deleted during a long scan cannot shift the pages (as it
    would with offsets), so no contact is skipped or read twice within one scan.
    The token is the last id read (None for the first page).
    """

    def __init__(self, page_items: PageItems, page_size: int = PAGE_SIZE) -> None:
        super().__init__(start_value=None)
        self._page_items = page_items
        self.page_size = page_size

    def has_more(self, response: requests.Response) -> bool:
        return len(self._page_items(response)) >= self.page_size

    def get_next(self, response: requests.Response) -> int | None:
        ids = [int(item["id"]) for item in self._page_items(response) if item.get("id")]
        return max(ids) if ids else None
