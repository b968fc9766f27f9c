"""The shared API budget in local mode, on a tiny instance the simulator and the budget agree on (8 calls
per 2 s, 2 at once): permits keep a threaded job inside Marketo's limits, and a job that closes its client
leaves no concurrency slot behind."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

from conftest import FULL_KEY, REPO, TINY_LIMITS, Vendor

from marketo_token_vendor import BudgetOptions, MarketoResponse, TokenClient

CALLS = 12  # a window and a half: some calls must wait for the rolling window


def _tiny(local_mode: dict[str, Vendor]) -> Vendor:
    return local_mode["tiny"]


def test_keeps_six_threads_inside_the_instance_limits_so_marketo_refuses_no_call(
    local_mode: dict[str, Vendor],
) -> None:
    vendor = _tiny(local_mode)
    vendor.command("resetCounters")
    with TokenClient(vendor.url, vendor.region, credentials=FULL_KEY) as tokens:
        tokens.get_token("py-budget")  # Identity first: a vend takes no permit

        def page(index: int) -> MarketoResponse:
            params = {"filterType": "id", "filterValues": str(index + 1)}
            return tokens.request("py-budget", "GET", vendor.leads_url(), params=params)

        with ThreadPoolExecutor(max_workers=6) as pool:
            responses = list(pool.map(page, range(CALLS)))
        stats = tokens.budget_stats()

    assert [r.json()["success"] for r in responses] == [True] * CALLS
    limits = vendor.counters()["limits"]
    assert limits["accepted"] == CALLS
    assert (limits["refused606"], limits["refused615"], limits["refused607"]) == (0, 0, 0)
    assert limits["peakConcurrent"] <= TINY_LIMITS["concurrentCalls"]
    assert limits["peakWindowCalls"] <= TINY_LIMITS["callsPerWindow"]
    assert stats.permits - stats.expired == CALLS
    assert stats.unmetered == 0


JOB = """
import sys
from marketo_token_vendor import AwsCredentials, TokenClient
url, region, leads, key_id, secret = sys.argv[1:6]
tokens = TokenClient(url, region, credentials=AwsCredentials(key_id, secret))
response = tokens.request("py-budget", "GET", leads, params={"batchSize": "1"})
tokens.close()
print(response.json()["success"])
"""


def test_leaves_no_concurrency_slot_behind_a_job_that_closed_its_client_before_exiting(
    local_mode: dict[str, Vendor],
) -> None:
    vendor = _tiny(local_mode)
    vendor.command("resetCounters")

    job = subprocess.run(
        [
            sys.executable,
            "-c",
            JOB,
            vendor.url,
            vendor.region,
            vendor.leads_url(),
            FULL_KEY.access_key_id,
            FULL_KEY.secret_access_key,
        ],
        env={"PYTHONPATH": str(REPO / "python" / "src"), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert (job.returncode, job.stdout.strip()) == (0, "True"), job.stderr
    # Granted and released (a 429 before the grant is a wait for the rate window, if the job met one).
    calls = [
        r["path"] for r in vendor.counters()["requests"] if "/permits" in r["path"] and r["status"] == 200
    ]
    assert calls == ["/tokens/py-budget/permits", "/tokens/py-budget/permits/release"]
    # Both slots of the instance can be held again without waiting for the job's 15 s lease to lapse (the
    # wait allowed covers the 2 s rate window only).
    with (
        TokenClient(
            vendor.url, vendor.region, credentials=FULL_KEY, budget=BudgetOptions(max_wait_seconds=10)
        ) as tokens,
        ExitStack() as held,
    ):
        permits = [
            held.enter_context(tokens.permit("py-budget")) for _ in range(TINY_LIMITS["concurrentCalls"])
        ]
        assert [p.unmetered for p in permits] == [False, False]
