"""The shared API budget on a scripted transport: waits that honour the vendor's exact retryAfterMs and
stop at max_wait_seconds, 606 backed off and reported, 607 failing fast, fail-open without a permit route,
and close() releasing what still lingers."""

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
    key_source,
    marketo_error,
    never,
    token_body,
)

from marketo_token_vendor import BudgetOptions, TokenClient, TokenVendorClientError
from marketo_token_vendor.permits import Permits
from marketo_token_vendor.signed_call import SignedCaller

LEADS = f"{MARKETO}/rest/v1/leads.json"
PERMITS = "POST /v1/tokens/my-sync/permits"
RELEASE = "POST /v1/tokens/my-sync/permits/release"
GRANTED = answer(200, {"permitId": "p1", "useByMs": 750, "unmetered": False})
NO_SLOT = answer(
    429,
    {"error": {"code": "PermitUnavailable", "message": "no slot", "retryAfterMs": 300, "reason": "rate"}},
    {"retry-after": "1"},
)


def world(**budget: object) -> tuple[TokenClient, FakeTransport, FakeClock]:
    transport = (
        FakeTransport()
        .on("GET /v1/tokens/my-sync", answer(200, token_body("t1:ab")))
        .on(RELEASE, answer(200, {"released": True}))
    )
    clock = FakeClock()
    tokens = TokenClient(
        ENDPOINT,
        "eu-west-1",
        credentials=KEY,
        clock=clock,
        transport=transport,
        budget=BudgetOptions(**budget),  # type: ignore[arg-type]
    )
    tokens._permits._random = lambda: 0.0  # no jitter: exact sleeps
    return tokens, transport, clock


def test_asks_for_a_permit_before_the_marketo_call_and_the_token_after_it() -> None:
    tokens, transport, _ = world()
    transport.on(PERMITS, GRANTED).on("GET /rest/v1/leads.json", MARKETO_OK)

    tokens.request("my-sync", "GET", LEADS)
    tokens.close()

    assert transport.routes() == [PERMITS, "GET /v1/tokens/my-sync", "GET /rest/v1/leads.json", RELEASE]
    assert transport.sent[0].json() == {"maxWaitMs": 10000}
    assert tokens.budget_stats().permits == 1


def test_waits_the_vendors_exact_retry_after_ms_when_no_slot_is_free() -> None:
    tokens, transport, clock = world()
    transport.on(PERMITS, NO_SLOT, GRANTED).on("GET /rest/v1/leads.json", MARKETO_OK)

    tokens.request("my-sync", "GET", LEADS)

    assert clock.sleeps == [0.3]
    assert tokens.budget_stats().waits == 1


def test_raises_permit_unavailable_once_the_next_wait_would_pass_max_wait_seconds() -> None:
    tokens, transport, clock = world(max_wait_seconds=1.0)
    transport.on(PERMITS, NO_SLOT)

    with pytest.raises(TokenVendorClientError) as raised:
        tokens.request("my-sync", "GET", LEADS)

    assert (raised.value.code, raised.value.retry_after_ms) == ("PermitUnavailable", 300)
    assert clock.sleeps == [0.3, 0.3, 0.3]
    assert "GET /rest/v1/leads.json" not in transport.routes()


def test_backs_off_from_a_606_reports_it_with_the_release_and_retries_under_a_new_permit() -> None:
    tokens, transport, clock = world()
    transport.on(PERMITS, GRANTED).on("GET /rest/v1/leads.json", marketo_error("606"), MARKETO_OK)

    response = tokens.request("my-sync", "GET", LEADS)

    assert response.json()["success"] is True
    assert next(s.json() for s in transport.sent if f"{s.method} {s.path}" == RELEASE) == {
        "permitId": "p1",
        "marketoError": "606",
    }
    assert clock.sleeps == [0.05]
    assert tokens.budget_stats().marketo606 == 1


def test_fails_fast_on_607_and_asks_no_permit_for_the_next_call() -> None:
    tokens, transport, _ = world()
    transport.on(PERMITS, GRANTED).on("GET /rest/v1/leads.json", marketo_error("607"))

    with pytest.raises(TokenVendorClientError) as first:
        tokens.request("my-sync", "GET", LEADS)
    asked = transport.routes().count(PERMITS)
    with pytest.raises(TokenVendorClientError) as second:
        tokens.request("my-sync", "GET", LEADS)

    assert (first.value.code, second.value.code) == ("DailyQuotaExhausted", "DailyQuotaExhausted")
    assert first.value.retryable is False
    assert transport.routes().count(PERMITS) == asked == 1


def test_goes_on_unmetered_when_the_vendor_has_no_permit_route_for_the_caller() -> None:
    tokens, transport, _ = world()
    denied = answer(403, {"error": {"code": "AccessDenied", "message": "User: x is not authorized"}})
    transport.on(PERMITS, denied).on("GET /rest/v1/leads.json", MARKETO_OK)

    tokens.request("my-sync", "GET", LEADS)
    tokens.request("my-sync", "GET", LEADS)

    assert transport.routes().count(PERMITS) == 1
    assert tokens.budget_stats().unmetered == 1


def test_releases_on_close_a_permit_whose_release_still_lingers() -> None:
    transport = FakeTransport().on(PERMITS, GRANTED).on(RELEASE, answer(200, {"released": True}))
    clock = FakeClock()
    caller = SignedCaller(
        endpoint=ENDPOINT, region="eu-west-1", credentials=key_source, transport=transport, clock=clock
    )
    permits = Permits(caller=caller, clock=clock, options=BudgetOptions(), schedule=never)
    permits.release(permits.acquire("/tokens/my-sync/permits"))
    before_close = transport.routes()

    permits.close()

    assert before_close == [PERMITS]
    assert transport.routes() == [PERMITS, RELEASE]
    assert transport.sent[-1].json() == {"permitId": "p1"}


def test_carries_a_lingering_release_on_the_next_permit_request() -> None:
    tokens, transport, _ = world()
    transport.on(PERMITS, GRANTED).on("GET /rest/v1/leads.json", MARKETO_OK)
    tokens._permits._schedule = never  # the release waits for the next acquire

    tokens.request("my-sync", "GET", LEADS)
    tokens.request("my-sync", "GET", LEADS)

    permit_bodies = [s.json() for s in transport.sent if f"{s.method} {s.path}" == PERMITS]
    assert permit_bodies == [{"maxWaitMs": 10000}, {"maxWaitMs": 10000, "release": "p1"}]
    assert RELEASE not in transport.routes()
