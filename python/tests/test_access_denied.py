"""A Marketo 603 (the role of the Custom Service's API-only user lacks a permission) as
``MarketoAccessDenied``, naming the REST path, the permission it needs and the client, like the Node client;
never retried, and the token is kept."""

from __future__ import annotations

import json

import pytest
from fakes import (
    ENDPOINT,
    KEY,
    MARKETO,
    MARKETO_OK,
    FakeClock,
    FakeTransport,
    answer,
    marketo_error,
    token_body,
)

from marketo_token_vendor import MarketoAccessDenied, MarketoApiError, TokenClient

DENIED = marketo_error("603")


def client(transport: FakeTransport) -> TokenClient:
    return TokenClient(
        ENDPOINT, "eu-west-1", credentials=KEY, budget=False, clock=FakeClock(), transport=transport
    )


def vendor_with_one_token() -> FakeTransport:
    return FakeTransport().on("GET /v1/tokens/my-sync", answer(200, token_body("t1:ab")))


def test_request_raises_marketo_access_denied_naming_path_permission_and_client() -> None:
    transport = vendor_with_one_token().on("GET /rest/v1/leads.json", DENIED)

    with pytest.raises(MarketoAccessDenied) as raised:
        client(transport).request(
            "my-sync",
            "GET",
            f"{MARKETO}/rest/v1/leads.json",
            params={"filterType": "email", "filterValues": "a@b.c"},
        )

    error = raised.value
    assert (error.code, error.marketo_code, error.client_id, error.method, error.path, error.permission) == (
        "MarketoAccessDenied",
        "603",
        "my-sync",
        "GET",
        "/rest/v1/leads.json",
        "Read-Only Lead",
    )
    assert error.retryable is False
    assert str(error) == (
        "Marketo denied GET /rest/v1/leads.json to client my-sync (603 Access denied): the role of its "
        "API-only user lacks Read-Only Lead (Read-Write Lead also grants it); add the permission to that "
        "role (Admin > Users & Roles), or call with a client whose role has it"
    )


@pytest.mark.parametrize(
    ("method", "path", "permission"),
    [
        ("POST", "/rest/asset/v1/email/7/approveDraft.json", "Approve Assets"),
        ("POST", "/rest/v1/campaigns/7/trigger.json", "Execute Campaign"),
        ("POST", "/rest/v1/leads.json", "Read-Write Lead"),
    ],
)
def test_request_names_the_permission_by_path_and_method(method: str, path: str, permission: str) -> None:
    transport = vendor_with_one_token().on(f"{method} {path}", DENIED)

    with pytest.raises(MarketoAccessDenied) as raised:
        client(transport).request("my-sync", method, f"{MARKETO}{path}", json={})

    assert raised.value.permission == permission


def test_a_603_is_never_retried_and_never_invalidates_the_token() -> None:
    transport = vendor_with_one_token().on("GET /rest/v1/leads/describe.json", DENIED, MARKETO_OK)
    tokens = client(transport)

    with pytest.raises(MarketoAccessDenied):
        tokens.request("my-sync", "GET", f"{MARKETO}/rest/v1/leads/describe.json")
    after = tokens.request("my-sync", "GET", f"{MARKETO}/rest/v1/leads/describe.json")

    assert after.json()["success"] is True
    assert [f"{sent.method} {sent.path}" for sent in transport.sent] == [
        "GET /v1/tokens/my-sync",
        "GET /rest/v1/leads/describe.json",
        "GET /rest/v1/leads/describe.json",
    ]
    assert {sent.headers.get("authorization") for sent in transport.sent[1:]} == {"Bearer t1:ab"}


def test_with_token_maps_a_raised_marketo_api_error_603_with_its_request() -> None:
    transport = vendor_with_one_token()
    runs: list[str] = []

    def schedule(token: object) -> None:
        runs.append("run")
        raise MarketoApiError(
            "603", "Access denied", method="POST", path="/rest/v1/campaigns/7/schedule.json"
        )

    with pytest.raises(MarketoAccessDenied) as raised:
        client(transport).with_token("my-sync", schedule)

    assert (raised.value.client_id, raised.value.path, raised.value.permission) == (
        "my-sync",
        "/rest/v1/campaigns/7/schedule.json",
        "Execute Campaign",
    )
    assert runs == ["run"]
    assert len(transport.sent) == 1


def test_with_token_maps_a_returned_603_body_without_knowing_its_path() -> None:
    transport = vendor_with_one_token()

    with pytest.raises(MarketoAccessDenied) as raised:
        client(transport).with_token("my-sync", lambda _token: json.loads(DENIED.body))

    assert (raised.value.path, raised.value.permission) == (None, None)
    assert str(raised.value) == (
        "Marketo denied a call to client my-sync (603 Access denied): the role of its API-only user lacks "
        "the permission the call needs; use request, or raise MarketoApiError with method and path, to have "
        "it named"
    )
