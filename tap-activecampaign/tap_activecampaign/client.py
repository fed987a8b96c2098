"""The base stream: URL, auth, paging, pacing, retries and record typing for every stream.

One HTTP mechanism for the whole tap: the SDK's request loop, with
- ``request_decorator`` wrapped by the process-wide pacer (``shared_pacer``), so every attempt,
  retries included, spends from one ``requests_per_second`` budget;
- ``validate_response`` using the shared classifier (``activecampaign_client.errors``): 429 and
  5xx retry (a 429's ``Retry-After`` pauses the pacer for every stream), other 4xx fail with
  ActiveCampaign's own text, and a truncated or malformed JSON body is retried too;
- a bounded full-jitter exponential backoff (``backoff_wait_generator``).
The API key travels only in the ``Api-Token`` header and is never put into a message.
"""

from __future__ import annotations

import json
import logging
import random
import time
import typing as t
from functools import cache, cached_property
from importlib import resources
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from singer_sdk import RESTStream
from singer_sdk.exceptions import RetriableAPIError
from typing_extensions import override

from activecampaign_client import OBJECTS, ApiUsage
from activecampaign_client.errors import (
    URL_HINT,
    FatalAPIError,
    PermissionDeniedError,
    body_or_text,
    classify,
    fatal_error_for,
    parse_body,
    retry_after_seconds,
)
from activecampaign_client.errors import RetriableAPIError as ACRetriableAPIError
from activecampaign_client.paging import PageGuard, offset_pages, total_of
from activecampaign_client.transport import guarded_session
from tap_activecampaign.pagination import (
    PAGE_SIZE,
    ContactKeysetPaginator,
    ShortPageOffsetPaginator,
)
from tap_activecampaign.records import RecordShaper, zone

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from singer_sdk.helpers.types import Context
    from singer_sdk.streams.rest import HTTPRequest, PageContext

    from tap_activecampaign.tap import TapActiveCampaign

LOGGER = logging.getLogger("tap-activecampaign")
_JSON_ATTR = "_tap_activecampaign_json"


@cache
def load_schema(name: str) -> dict:
    """``schemas/<name>.json`` with ``shared.json#/definitions/...`` references resolved."""
    folder = resources.files("tap_activecampaign") / "schemas"
    shared = json.loads((folder / "shared.json").read_text())["definitions"]

    def resolve(node: t.Any) -> t.Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("shared.json#/definitions/"):
                return dict(shared[ref.rsplit("/", 1)[1]])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return t.cast("dict", resolve(json.loads((folder / f"{name}.json").read_text())))


def response_json(response: requests.Response) -> t.Any:
    """The parsed body, parsed once (validate_response already did it)."""
    if not hasattr(response, _JSON_ATTR):
        setattr(response, _JSON_ATTR, parse_body(response))
    return getattr(response, _JSON_ATTR)


def group_rows(items: Iterable[dict], owner_key: str) -> dict[str, list[dict]]:
    """Rows -> {owner id: [rows]} (rows without an owner are dropped)."""
    grouped: dict[str, list[dict]] = {}
    for item in items:
        owner = item.get(owner_key)
        if owner is not None:
            grouped.setdefault(str(owner), []).append(item)
    return grouped


def _has_members(response: requests.Response) -> bool:
    body = response_json(response) if response.content else None
    return isinstance(body, dict) and isinstance(body.get("contacts"), list) and bool(
        body["contacts"])


def _path_of(request: requests.PreparedRequest | None) -> str:
    """``/api/3/contacts`` without host or query (nothing secret or personal)."""
    return urlsplit(request.url or "").path if request is not None else "?"


class RequestFailedError(ACRetriableAPIError):
    """Retries were exhausted; the message says what was retried and how often."""


class ActiveCampaignStream(RESTStream):
    """Base class: each concrete stream sets class attributes only."""

    #: key in ``activecampaign_client.OBJECTS`` (path and list key of the collection)
    ac_object: str = ""
    primary_keys = ("id",)
    #: the field holding a contact id, for streams limited to import-source members
    member_key: str | None = None
    page_size = PAGE_SIZE
    _paginator: ShortPageOffsetPaginator | ContactKeysetPaginator
    backoff_base = 0.5
    backoff_cap = 30.0
    max_attempts = 7

    def __init__(self, tap: t.Any) -> None:
        self.ac_tap: TapActiveCampaign = tap  # ours: the SDK keeps its own in a private _tap
        super().__init__(
            tap=tap, schema=load_schema(self.name), path=f"/{OBJECTS[self.ac_object].path}"
        )
        self.list_key = OBJECTS[self.ac_object].list_key
        self.shape = RecordShaper(self.schema, zone(self.config.get("naive_timezone")))

    # -- connection ---------------------------------------------------------------------------

    @property
    @override
    def url_base(self) -> str:
        return self.ac_tap.api_base

    allow_redirects = False  # ActiveCampaign does not redirect API calls: a 3xx is an error

    @cached_property
    @override
    def requests_session(self) -> requests.Session:
        """No redirect followed, no connection to a refused address (client ``transport``)."""
        return guarded_session(allow_private_network=self.ac_tap.allow_private_network)

    @property
    @override
    def http_headers(self) -> dict:
        return {
            "Api-Token": self.config["api_key"],
            "Accept": "application/json",
            "User-Agent": self.user_agent,
        }

    @cached_property
    @override
    def user_agent(self) -> str:
        return str(self.config.get("user_agent") or "tap-activecampaign")

    @property
    @override
    def timeout(self) -> int:
        return int(self.config.get("request_timeout", 60))

    @property
    def usage(self) -> ApiUsage:
        return self.ac_tap.usage

    # -- requests and paging -----------------------------------------------------------------

    @override
    def get_new_paginator(self) -> ShortPageOffsetPaginator:
        self._paginator = ShortPageOffsetPaginator(self.read_page, self.page_size,
                                                   f"GET {self.path}")
        return self._paginator

    def read_page(self, response: requests.Response) -> tuple[list[dict], int | None]:
        return self.page_items(response), total_of(response_json(response))

    @override
    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> dict[str, t.Any]:
        return {"limit": self.page_size, "offset": next_page_token or 0}

    @override
    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        request = super().get_http_request(page=page)
        request.safe_query_chars = "[]"  # filters[updated_after], orders[id] go out readable
        return request

    def page_items(self, response: requests.Response) -> list[dict]:
        items = response_json(response).get(self.list_key) if response.content else None
        return items if isinstance(items, list) else []

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        yield from self._paginator.keep(response)  # a repeated page's items are dropped

    @override
    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        if self.member_key and not self.ac_tap.is_member(row.get(self.member_key), self):
            return None
        return self.shape(row)

    # -- errors, retries, pacing -------------------------------------------------------------

    @override
    def validate_response(self, response: requests.Response) -> None:
        status = response.status_code
        self.usage.by_status[status] = self.usage.by_status.get(status, 0) + 1
        body = body_or_text(response) if status >= 400 else None
        verdict = classify(status, self.ac_tap.key_accepted, body)
        method = response.request.method or "GET"
        path = _path_of(response.request)
        if verdict == "fatal":
            error = fatal_error_for(method, path, response)
            if isinstance(error, PermissionDeniedError):
                self.ac_tap.refused(path, error, self)  # a bad key raises here instead
            raise error
        if verdict == "retry":
            if status == 403:
                raise RetriableAPIError(
                    f"HTTP 403 on {method} {path} although the key was accepted earlier in this "
                    "run (ActiveCampaign answers intermittent 403s; this one gave no reason)",
                    response)
            if status == 429:
                self.usage.throttled += 1
                wait = retry_after_seconds(response)
                if wait:
                    self.ac_tap.pacer.pause(wait)
                    self.logger.warning("HTTP 429 on %s; every stream pauses %.1f s "
                                        "(Retry-After)", path, wait)
            raise RetriableAPIError(f"HTTP {status} on {method} {path}", response)
        try:
            response_json(response)
        except ValueError as exc:
            raise RetriableAPIError(
                f"truncated or malformed JSON body on {method} {path}", response
            ) from exc
        self.ac_tap.key_accepted = True

    @override
    def response_error_message(self, response: requests.Response) -> str:
        """Never the body or headers (they may hold personal data): status and path only."""
        return f"HTTP {response.status_code} on {_path_of(response.request)}"

    @override
    def request_decorator(self, func: Callable) -> Callable:
        pacer = self.ac_tap.pacer

        def paced(prepared_request: requests.PreparedRequest, context: t.Any) -> t.Any:
            self.usage.requests += 1
            with pacer.slot():
                return func(prepared_request, context)

        retrying = super().request_decorator(paced)
        attempts = self.backoff_max_tries()

        def clear_errors(prepared_request: requests.PreparedRequest, context: t.Any) -> t.Any:
            refused = self.ac_tap.refusal_for(_path_of(prepared_request))
            if refused is not None:  # this route refused us once: no second request
                raise refused
            try:
                return retrying(prepared_request, context)
            except (FatalAPIError, ACRetriableAPIError):
                raise
            except (RetriableAPIError, requests.RequestException, ConnectionError) as exc:
                raise self._exhausted_error(prepared_request, exc, attempts) from None

        def segment_ready(prepared_request: requests.PreparedRequest, context: t.Any) -> t.Any:
            response = clear_errors(prepared_request, context)
            return self._await_segment(prepared_request, context, response, clear_errors)

        return segment_ready

    # -- segments are evaluated asynchronously (spec §11) --------------------------------------

    segment_tries = 7  # answers asked for a member-less segment: 6 more over about a minute
    segment_wait = 2.0  # seconds before the 2nd; doubling, capped at segment_wait_cap
    segment_wait_cap = 15.0

    def _await_segment(self, prepared: requests.PreparedRequest, context: t.Any,
                       response: requests.Response, send: Callable) -> requests.Response:
        """A member-less answer to ``GET /contacts?segmentid=`` may come before ActiveCampaign
        finished evaluating the segment: never read it as "no members" before asking again.

        Unnarrowed, the same request is asked again after a wait, at most ``segment_tries``
        answers in all. Narrowed (a filter or ``id_greater``: empty may be true), one probe
        ``segmentid=X&limit=1`` shows whether the evaluation is ready (waiting likewise if
        not), then the request is asked once more. Still no members: a warning, read as empty.
        """
        parts = urlsplit(prepared.url or "")
        query = parse_qs(parts.query)
        segment = (query.get("segmentid") or [""])[0]
        if not segment or not parts.path.endswith("/contacts") or _has_members(response):
            return response
        narrowed = any(key.startswith("filters[") or key == "id_greater" for key in query)
        check = prepared
        if narrowed:
            check = self.build_prepared_request(
                method="GET", url=f"{self.url_base}/contacts", headers=self.http_headers,
                params=urlencode({"segmentid": segment, "limit": 1}))
        answer = send(check, context) if narrowed else response
        tries, waited = 1, 0.0
        while not _has_members(answer) and tries < self.segment_tries:
            wait = min(self.segment_wait_cap, self.segment_wait * 2 ** (tries - 1))
            time.sleep(wait)
            waited += wait
            answer = send(check, context)
            tries += 1
        if not _has_members(answer):
            self.logger.warning(
                "Segment %s: no members after %d answers over %.0f s. Either it is empty or "
                "ActiveCampaign is still evaluating it (segments are evaluated "
                "asynchronously); this run reads it as empty. If it should have members, "
                "run again later.", segment, tries, waited)
            return response
        return send(prepared, context) if narrowed else answer

    def _exhausted_error(
        self, request: requests.PreparedRequest, exc: BaseException, attempts: int
    ) -> RequestFailedError:
        if isinstance(exc, requests.Timeout):
            problem, hint = f"timed out after {self.timeout} s (request_timeout)", ""
        elif isinstance(exc, requests.ConnectionError | ConnectionError):
            problem, hint = f"could not connect ({type(exc).__name__})", f" {URL_HINT}"
        else:
            problem, hint = str(exc), ""
        return RequestFailedError(
            f"{request.method} {_path_of(request)} failed after {attempts} attempts "
            f"(last problem: {problem}); each attempt was retried with exponential backoff "
            f"and jitter.{hint}"
        )

    @override
    def backoff_wait_generator(self) -> t.Generator[float, t.Any, None]:
        """Full-jitter exponential backoff; after a 429 the pacer already holds the wait."""
        attempt = 0
        exc = yield 0.0
        while True:
            response = getattr(exc, "response", None)
            if isinstance(response, requests.Response) and response.status_code == 429 and (
                retry_after_seconds(response)
            ):
                wait = 0.0
            else:
                ceiling = min(self.backoff_cap, self.backoff_base * (2**attempt))
                wait = random.uniform(ceiling / 2, ceiling)
            attempt += 1
            exc = yield wait

    @override
    def backoff_jitter(self, value: float) -> float:
        return value  # jitter is applied in backoff_wait_generator

    @override
    def backoff_max_tries(self) -> int:
        return int(getattr(self.ac_tap, "max_attempts", None) or self.max_attempts)

    @override
    def backoff_handler(self, details: t.Any) -> None:
        self.usage.retries += 1
        exc = details.get("exception")
        if isinstance(exc, RetriableAPIError):
            problem = str(exc)
        elif isinstance(exc, requests.Timeout):
            problem = f"timeout after {self.timeout} s"
        else:
            problem = f"connection problem ({type(exc).__name__})"
        self.logger.warning("%s; retry %d of %d in %.2f s", problem, details.get("tries", 0),
                            self.backoff_max_tries() - 1, details.get("wait") or 0.0)

    @override
    def log_sync_costs(self) -> None:
        super().log_sync_costs()
        if self is list(self.ac_tap.streams.values())[-1]:  # the SDK calls this after all syncs
            self.logger.info("ActiveCampaign API usage: %s", self.usage.summary())
            self.ac_tap.log_run_summary()

    # -- a stream the API user may not read ----------------------------------------------------

    # Private in singer-sdk 0.54.9: sync() and sync_all() are final, and get_records cannot
    # stop a stream without _sync_records then finalizing its state (moving the bookmark).
    def _sync_records(self, context: Context | None = None, *,
                      write_messages: bool = True) -> t.Generator[dict, t.Any, t.Any]:
        """A permission 403 (spec §11) skips this stream; the other streams go on."""
        try:
            yield from super()._sync_records(context, write_messages=write_messages)
        except PermissionDeniedError as exc:
            self.ac_tap.skip(self, exc)

    @override
    def finalize_state_progress_markers(self, state: dict | None = None) -> None:
        if self.name not in self.ac_tap.skipped:
            super().finalize_state_progress_markers(state)
            return
        # The scan did not finish: drop its progress, keep the previous bookmark.
        for partition in self.partitions or [{}]:
            entry = self.get_context_state(partition or None)
            for marker in ("progress_markers", "replication_key_signpost",
                           "starting_replication_value"):
                entry.pop(marker, None)
        self._write_state_message()  # singer-sdk 0.54.9 has no public STATE writer

    # -- extra reads through the same machinery ----------------------------------------------

    def fetch_json(self, path: str, params: dict[str, t.Any] | None = None) -> t.Any:
        """One paced, retried GET of ``<api>/<path>``; returns the parsed body."""
        prepared = self.build_prepared_request(
            method="GET",
            url=f"{self.url_base}/{path}",
            params=urlencode(params or {}, safe="[]"),
            headers=self.http_headers,
        )
        # singer-sdk 0.54.9: _request is the one send with auth, metrics and validate_response;
        # request_records would take over paging.
        response = self.request_decorator(self._request)(prepared, None)
        return response_json(response)

    def fetch_pages(
        self, object_name: str, params: dict[str, t.Any] | None = None
    ) -> Iterator[list[dict]]:
        """Every page (offset, 100 a page) of a collection, under the PageGuard stop rule.

        A list that documents no ``offset`` (custom-field meta/data, spec §11) and answers
        its first request with more rows than ``limit`` ignores paging: that answer held
        every row, so no second request is sent to see it repeat."""
        obj = OBJECTS[object_name]
        first = True
        for page in offset_pages(self.fetch_json, obj.path, obj.list_key, params, PAGE_SIZE):
            yield page
            if first and not obj.offset_paging and len(page) > PAGE_SIZE:
                return
            first = False

    def contact_ids(self, params: dict[str, t.Any]) -> Iterator[str]:
        """Ids of the contacts matching ``params``, read by key (``id_greater``)."""
        last: int | None = None
        guard = PageGuard("GET /contacts (import source members)", PAGE_SIZE)
        while guard.more:
            query = {**params, "limit": PAGE_SIZE, "orders[id]": "ASC"}
            if last is not None:
                query["id_greater"] = last
            body = self.fetch_json("contacts", query)
            items = guard.page(body.get("contacts") or [], total_of(body))  # keyset: offset 0
            for item in items:
                yield str(item["id"])
            if items:
                last = max(int(item["id"]) for item in items)
