"""What Marketo rejects, recovered from through the vendor: 602 and 601 answers, and tokens that expire
while a job keeps calling (local mode's simulator issues short-lived tokens)."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

from conftest import FULL_KEY, SHORT_LIFESPAN_SECONDS, Vendor

from marketo_token_vendor import MarketoApiError, MarketoToken, TokenClient


def test_recovers_from_a_602_answer_with_one_invalidate_and_one_more_request(main_vendor: Vendor) -> None:
    with TokenClient(main_vendor.url, main_vendor.region, credentials=FULL_KEY) as tokens:
        tokens.get_token("py-602")
        main_vendor.command("resetCounters")
        main_vendor.command("forceRestError", code="602", times=1)

        response = tokens.request(
            "py-602", "GET", main_vendor.leads_url(), params={"filterType": "id", "filterValues": "1"}
        )

    assert response.json()["success"] is True
    assert response.json()["result"][0]["email"] == "lead1@example.com"
    counters = main_vendor.counters()
    assert counters["restCalls"] == 2
    assert [r["path"] for r in counters["requests"] if r["path"].endswith("/invalidate")] == [
        "/tokens/py-602/invalidate"
    ]


def test_sends_the_token_in_the_authorization_header_and_never_in_the_query(main_vendor: Vendor) -> None:
    with TokenClient(main_vendor.url, main_vendor.region, credentials=FULL_KEY) as tokens:
        main_vendor.command("resetCounters")
        response = tokens.request("py-602", "GET", main_vendor.leads_url(), params={"batchSize": "1"})

    assert response.json()["success"] is True
    assert main_vendor.counters()["accessTokenQueryParamUses"] == 0


def test_runs_a_with_token_callback_once_more_with_a_new_token_after_marketo_revoked_the_first(
    main_vendor: Vendor,
) -> None:
    with TokenClient(main_vendor.url, main_vendor.region, credentials=FULL_KEY) as tokens:
        revoked = tokens.get_token("py-601")
        main_vendor.command("revokeToken", clientId="py-601")
        used: list[MarketoToken] = []

        def call_marketo(token: MarketoToken) -> dict[str, Any]:
            used.append(token)
            # The caller's own HTTP, with the token it was handed.
            request = urllib.request.Request(
                f"{main_vendor.leads_url()}?batchSize=1",
                headers={"Authorization": f"Bearer {token.access_token}"},
            )
            with urllib.request.urlopen(request, timeout=30) as answer:
                body: dict[str, Any] = json.load(answer)
            if not body["success"]:
                error = body["errors"][0]
                raise MarketoApiError(error["code"], error["message"])
            return body

        body = tokens.with_token("py-601", call_marketo)

    assert body["success"] is True
    assert [t.access_token == revoked.access_token for t in used] == [True, False]


def test_keeps_calling_marketo_across_a_token_expiry_without_a_failed_call(
    local_mode: dict[str, Vendor],
) -> None:
    vendor = local_mode["short"]
    seen: set[str] = set()
    failures: list[object] = []
    with TokenClient(vendor.url, vendor.region, credentials=FULL_KEY) as tokens:
        # Until the simulator has issued a second token (an expiry); a bound, not a speed: 10 lifespans.
        deadline = time.monotonic() + 10 * SHORT_LIFESPAN_SECONDS
        while len(seen) < 2 and time.monotonic() < deadline:
            seen.add(tokens.get_token("py-expiry", min_validity=1).access_token)
            response = tokens.request("py-expiry", "GET", vendor.leads_url(), params={"batchSize": "1"})
            if response.json()["success"] is not True:
                failures.append(response.json())
            time.sleep(0.2)

    assert len(seen) == 2
    assert failures == []
