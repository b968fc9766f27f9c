"""The client on a scripted transport and a clock that moves only when slept on: waits bounded by the
budget, 601/602 recovered from once, the token only in the Authorization header."""

from __future__ import annotations

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

from marketo_token_vendor import MarketoApiError, MarketoToken, TokenClient, TokenVendorClientError

ROTATING = answer(503, {"error": {"code": "TokenRotating", "message": "rotating"}}, {"retry-after": "2"})


def client(transport: FakeTransport, clock: FakeClock, **options: object) -> TokenClient:
    return TokenClient(
        ENDPOINT, "eu-west-1", credentials=KEY, budget=False, clock=clock, transport=transport, **options
    )  # type: ignore[arg-type]


def test_signs_the_token_request_for_execute_api_with_the_callers_validity() -> None:
    transport = FakeTransport().on("GET /v1/tokens/my-sync", answer(200, token_body("t1:ab")))

    token = client(transport, FakeClock()).get_token("my-sync", min_validity=60)

    sent = transport.sent[0]
    assert token.access_token == "t1:ab"
    assert sent.query == {"minValidity": ["60"]}
    assert (
        sent.headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=UNITTESTKEY/")
        and "/eu-west-1/execute-api/aws4_request" in sent.headers["Authorization"]
    )


def test_waits_out_a_503_for_its_retry_after_and_then_returns_the_successor() -> None:
    transport = FakeTransport().on("GET /v1/tokens/my-sync", ROTATING, answer(200, token_body("t2:ab")))
    clock = FakeClock()

    token = client(transport, clock).get_token("my-sync")

    assert token.access_token == "t2:ab"
    assert clock.sleeps == [2.0]


def test_raises_token_rotating_once_the_next_wait_would_pass_the_calls_budget() -> None:
    transport = FakeTransport().on("GET /v1/tokens/my-sync", ROTATING)
    clock = FakeClock()

    with pytest.raises(TokenVendorClientError) as raised:
        client(transport, clock).get_token("my-sync", retry_budget_seconds=5)

    assert (raised.value.code, raised.value.retry_after_seconds) == ("TokenRotating", 2)
    assert clock.sleeps == [2.0, 2.0]
    assert len(transport.sent) == 3


def test_turns_an_unreachable_vendor_into_network_error_with_its_cause() -> None:
    refused = ConnectionRefusedError(111, "Connection refused")
    transport = FakeTransport().on("GET /v1/tokens/my-sync", refused)

    with pytest.raises(TokenVendorClientError) as raised:
        client(transport, FakeClock()).get_token("my-sync")

    assert (raised.value.code, raised.value.status, raised.value.__cause__) == ("NetworkError", 0, refused)
    assert "Connection refused" in str(raised.value)


def test_fetches_again_when_the_cached_token_has_less_than_the_validity_asked_for() -> None:
    transport = FakeTransport().on(
        "GET /v1/tokens/my-sync",
        answer(200, token_body("t1:ab", expires_in=100)),
        answer(200, token_body("t2:ab")),
    )
    tokens = client(transport, FakeClock())

    first = tokens.get_token("my-sync", min_validity=60)
    again = tokens.get_token("my-sync", min_validity=60)
    longer = tokens.get_token("my-sync", min_validity=120)

    assert (first, again.access_token, longer.access_token) == (again, "t1:ab", "t2:ab")


def test_refuses_a_client_id_outside_the_vendors_alphabet_without_a_request() -> None:
    transport = FakeTransport()

    with pytest.raises(TokenVendorClientError) as raised:
        client(transport, FakeClock()).get_token("../admin")

    assert raised.value.code == "InvalidRequest"
    assert transport.sent == []


def test_runs_with_token_once_more_with_the_replacement_after_a_602() -> None:
    transport = (
        FakeTransport()
        .on("GET /v1/tokens/my-sync", answer(200, token_body("old:ab")))
        .on("POST /v1/tokens/my-sync/invalidate", answer(200, token_body("new:ab")))
    )
    used: list[str] = []

    def call(token: MarketoToken) -> str:
        used.append(token.access_token)
        if token.access_token == "old:ab":
            raise MarketoApiError("602", "Access token expired")
        return "done"

    assert client(transport, FakeClock()).with_token("my-sync", call) == "done"
    assert used == ["old:ab", "new:ab"]
    assert transport.sent[1].json() == {"accessToken": "old:ab"}
    assert transport.sent[1].query == {"minValidity": ["1"]}


def test_lets_the_second_601_of_a_with_token_call_through() -> None:
    transport = (
        FakeTransport()
        .on("GET /v1/tokens/my-sync", answer(200, token_body("old:ab")))
        .on("POST /v1/tokens/my-sync/invalidate", answer(200, token_body("new:ab")))
    )

    def always_rejected(_token: MarketoToken) -> str:
        raise MarketoApiError("601", "Access token invalid")

    with pytest.raises(MarketoApiError) as raised:
        client(transport, FakeClock()).with_token("my-sync", always_rejected)

    assert raised.value.code == "601"
    assert transport.routes().count("POST /v1/tokens/my-sync/invalidate") == 1


def test_sends_marketo_requests_with_the_bearer_header_and_replaces_a_token_marketo_answers_602_for() -> None:
    transport = (
        FakeTransport()
        .on("GET /v1/tokens/my-sync", answer(200, token_body("old:ab")))
        .on("POST /v1/tokens/my-sync/invalidate", answer(200, token_body("new:ab")))
        .on("GET /rest/v1/leads.json", marketo_error("602"), MARKETO_OK)
    )

    response = client(transport, FakeClock()).request(
        "my-sync", "get", f"{MARKETO}/rest/v1/leads.json", params={"filterType": "id", "filterValues": "1"}
    )

    assert response.json()["success"] is True
    marketo_calls = [s for s in transport.sent if s.path == "/rest/v1/leads.json"]
    assert [s.headers["authorization"] for s in marketo_calls] == ["Bearer old:ab", "Bearer new:ab"]
    assert [s.query for s in marketo_calls] == [{"filterType": ["id"], "filterValues": ["1"]}] * 2


@pytest.mark.parametrize(
    ("url", "params"),
    [
        (f"{MARKETO}/rest/v1/leads.json?access_token=abc", None),
        (f"{MARKETO}/rest/v1/leads.json", {"access_token": "abc"}),
    ],
)
def test_refuses_a_marketo_request_with_access_token_in_the_url(
    url: str, params: dict[str, str] | None
) -> None:
    transport = FakeTransport()

    with pytest.raises(TokenVendorClientError) as raised:
        client(transport, FakeClock()).request("my-sync", "GET", url, params=params)

    assert (raised.value.code, str(raised.value)) == ("InvalidRequest", "do not put access_token in the URL")
    assert transport.sent == []


def test_closes_its_connections_and_refuses_calls_after_close() -> None:
    transport = FakeTransport()
    tokens = client(transport, FakeClock())

    tokens.close()

    assert transport.closed is True
    with pytest.raises(ValueError, match="closed"):
        tokens.get_token("my-sync")


def test_signs_with_the_default_credential_chain_when_given_no_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ENVCHAINKEY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-chain-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "env-chain-session")
    transport = FakeTransport().on("GET /v1/tokens/my-sync", answer(200, token_body("t1:ab")))

    TokenClient(ENDPOINT, "eu-west-1", budget=False, clock=FakeClock(), transport=transport).get_token(
        "my-sync"
    )

    headers = transport.sent[0].headers
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=ENVCHAINKEY/")
    assert headers["X-Amz-Security-Token"] == "env-chain-session"


def test_reports_a_rejected_pool_token_to_its_pool_and_runs_once_more_with_the_pools_next_token() -> None:
    transport = (
        FakeTransport()
        .on("GET /v1/instances/123-ABC-456/token", answer(200, token_body("a:ab", client_id="member-a")))
        .on(
            "POST /v1/instances/123-ABC-456/invalidate", answer(200, token_body("b:ab", client_id="member-b"))
        )
    )
    used: list[str] = []

    def call(token: MarketoToken) -> dict[str, object]:
        used.append(token.client_id)
        if token.client_id == "member-a":
            return {"success": False, "errors": [{"code": "601", "message": "Access token invalid"}]}
        return {"success": True}

    result = client(transport, FakeClock()).with_instance_token("123-ABC-456", call)

    assert result == {"success": True}
    assert used == ["member-a", "member-b"]
    assert transport.sent[1].json() == {"accessToken": "a:ab"}
