"""marketorestpython 0.5.x clients on vended tokens, with a stand-in of its MarketoClient: no secret,
601/602 recovered from through the vendor, a permit per call, and no import of marketorestpython until a
client is built without a base class."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import FULL_KEY, REPO, Vendor
from fakes import ENDPOINT, KEY, FakeClock, FakeTransport, answer, token_body
from marketo_stand_in import MarketoClient

from marketo_token_vendor import TokenClient
from marketo_token_vendor.marketorestpython import vended_marketo_client


def _client(vendor: Vendor, tokens: TokenClient) -> MarketoClient:
    client = vended_marketo_client(
        tokens, "py-mrp", "123-ABC-456", base=MarketoClient, rest_url=vendor.rest_url
    )
    assert isinstance(client, MarketoClient)
    return client


def test_calls_marketo_with_a_vended_token_and_holds_no_secret(main_vendor: Vendor) -> None:
    with TokenClient(main_vendor.url, main_vendor.region, credentials=FULL_KEY) as tokens:
        mc = _client(main_vendor, tokens)
        leads = mc.execute(
            method="get_multiple_leads_by_filter_type", filterType="id", filterValues=["2", "3"]
        )

        assert [lead["email"] for lead in leads] == ["lead2@example.com", "lead3@example.com"]
        assert mc.client_secret is None
        assert mc.token == tokens.get_token("py-mrp").access_token


def test_recovers_from_a_602_with_one_invalidate_through_the_vendor(main_vendor: Vendor) -> None:
    with TokenClient(main_vendor.url, main_vendor.region, credentials=FULL_KEY) as tokens:
        mc = _client(main_vendor, tokens)
        main_vendor.command("resetCounters")
        main_vendor.command("forceRestError", code="602", times=1)

        lead = mc.execute(method="get_lead_by_id", id=7)

    assert lead[0]["id"] == 7
    paths = [r["path"] for r in main_vendor.counters()["requests"]]
    assert paths.count("/tokens/py-mrp/invalidate") == 1
    assert main_vendor.counters()["restCalls"] == 2


def test_takes_a_permit_of_the_shared_budget_for_each_api_call(main_vendor: Vendor) -> None:
    with TokenClient(main_vendor.url, main_vendor.region, credentials=FULL_KEY) as tokens:
        mc = _client(main_vendor, tokens)
        main_vendor.command("resetCounters")

        for lead_id in (1, 2, 3):
            mc.execute(method="get_lead_by_id", id=lead_id)
        tokens.close()

    permits = [r["path"] for r in main_vendor.counters()["requests"] if r["path"] == "/tokens/py-mrp/permits"]
    assert len(permits) == 3
    assert tokens.budget_stats().permits == 3


def test_passes_errors_other_than_601_and_602_through_unchanged(main_vendor: Vendor) -> None:
    with TokenClient(main_vendor.url, main_vendor.region, credentials=FULL_KEY) as tokens:
        mc = _client(main_vendor, tokens)

        with pytest.raises(KeyError):
            mc.execute(method="no_such_method")


def test_refreshes_the_token_when_authenticate_runs_near_its_expiry() -> None:
    transport = FakeTransport().on(
        "GET /v1/tokens/my-sync",
        answer(200, token_body("first:ab", expires_in=100)),
        answer(200, token_body("second:ab", expires_in=3000)),
    )
    clock = FakeClock()
    tokens = TokenClient(
        ENDPOINT, "eu-west-1", credentials=KEY, clock=clock, transport=transport, budget=False
    )
    mc = vended_marketo_client(tokens, "my-sync", "123-ABC-456", base=MarketoClient, min_validity=30)

    mc.authenticate()
    held_first = (mc.token, mc.expires_in)
    clock.time += 80  # 20 s left: less than min_validity
    mc.authenticate()

    assert held_first == ("first:ab", 100)
    assert (mc.token, mc.expires_in, mc.valid_until) == ("second:ab", 3000, clock.time + 3000)
    assert len(transport.sent) == 2


def test_refuses_a_client_secret_because_the_vendor_holds_it() -> None:
    tokens = TokenClient(ENDPOINT, "eu-west-1", credentials=KEY, transport=FakeTransport(), budget=False)

    with pytest.raises(ValueError, match="the token vendor holds the secret"):
        vended_marketo_client(tokens, "my-sync", "123-ABC-456", base=MarketoClient, client_secret="s3cret")


def test_does_not_import_marketorestpython_when_the_module_is_imported() -> None:
    probe = "import sys, marketo_token_vendor.marketorestpython; print('marketorestpython' in sys.modules)"

    result = subprocess.run(
        [sys.executable, "-c", probe],
        env={"PYTHONPATH": str(REPO / "python" / "src"), "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    )

    assert result.stdout.strip() == "False"
