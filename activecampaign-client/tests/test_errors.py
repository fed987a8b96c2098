"""The 403 verdicts: a permission refusal is final, a bare 403 keeps the key/intermittent rule."""

from __future__ import annotations

import json

import pytest
import requests

from activecampaign_client.errors import (
    AuthenticationError,
    PermissionDeniedError,
    RedirectRefusedError,
    classify,
    fatal_error_for,
    is_permission_refusal,
)

PERMISSION = {"errors": [{"status": 403, "title": "Forbidden",
                          "detail": "You do not have permission to view deals."}]}


def _response(status: int, body: object) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode() if body is not None else b""
    return response


@pytest.mark.parametrize("key_accepted", [False, True])
def test_a_permission_403_is_never_retried(key_accepted: bool) -> None:
    """spec §11: "You do not have permission to view deals." never heals by retrying."""
    assert classify(403, key_accepted, PERMISSION) == "fatal"
    assert classify(403, key_accepted, {"message": "Could not create SubscriberSeries"}) == "fatal"


@pytest.mark.parametrize("body", [{"message": "Forbidden"}, {}, None, ""])
def test_a_bare_403_is_a_bad_key_first_and_retried_once_the_key_worked(body: object) -> None:
    """spec §1/§11: a bare 403 means a bad key, or an intermittent 403 after the key worked."""
    assert not is_permission_refusal(body)
    assert classify(403, False, body) == "fatal"
    assert classify(403, True, body) == "retry"


def test_a_permission_403_becomes_a_permission_error_with_activecampaigns_reason() -> None:
    error = fatal_error_for("GET", "/api/3/deals", _response(403, PERMISSION))
    assert isinstance(error, PermissionDeniedError)
    assert "You do not have permission to view deals." in error.reason
    assert "GET /api/3/deals" in str(error) and "permission" in str(error)


def test_a_bare_403_becomes_the_bad_key_error_saying_where_the_key_is() -> None:
    error = fatal_error_for("GET", "/api/3/users/me", _response(403, {"message": "Forbidden"}))
    assert isinstance(error, AuthenticationError)
    assert not isinstance(error, PermissionDeniedError)
    assert "Settings -> Developer -> API Access" in str(error)


UNREGISTERED = "never-registered-key-77"  # redacted from the request it rode on alone


def _echoing(status: int, body: object, location: str | None = None) -> requests.Response:
    response = _response(status, body)
    response.request = requests.Request(
        "POST", "https://acme.api-us1.com/api/3/contact/sync",
        headers={"Api-Token": UNREGISTERED}).prepare()
    if location:
        response.headers["Location"] = location
    return response


@pytest.mark.parametrize("status", [400, 403, 404, 422])
def test_an_echoed_key_is_redacted_at_the_source_even_if_never_registered(status: int) -> None:
    body = {"errors": [{"title": "Bad request", "detail": f"Api-Token: {UNREGISTERED}"}],
            "echo": {"headers": {"Api-Token": UNREGISTERED}}}
    error = fatal_error_for("POST", "/api/3/contact/sync", _echoing(status, body))
    everything = str(error) + json.dumps(error.body) + str(getattr(error, "reason", ""))
    assert UNREGISTERED not in everything and "[api key redacted]" in str(error)


def test_a_text_body_is_redacted_before_it_is_cut() -> None:
    text = "x" * 490 + UNREGISTERED  # the cut at 500 falls inside the key
    response = _echoing(400, None)
    response._content = text.encode()
    error = fatal_error_for("POST", "/api/3/contact/sync", response)
    assert UNREGISTERED[:10] not in str(error) + str(error.body)


def test_a_redirect_names_its_target_without_query_and_is_never_retried() -> None:
    response = _echoing(302, None, "http://other.example:8080/login?next=/api/3&key=1#frag")
    assert classify(302) == "fatal"
    error = fatal_error_for("POST", "/api/3/contact/sync", response)
    assert isinstance(error, RedirectRefusedError)
    assert "redirecting to http://other.example:8080/login." in str(error)
    assert "next=" not in str(error) and "frag" not in str(error)
    relative = fatal_error_for("GET", "/api/3/x", _echoing(301, None, "/moved/here?x=1"))
    assert "redirecting to https://acme.api-us1.com/moved/here." in str(relative)
