"""Marketo's Bulk Extract under the vendor's slots, in local mode: the simulator's jobs run on a clock of
their own that moves only when the client waits (each of the client's sleeps moves it on instead of passing
real time), so what these tests see is an order of events, never this machine's speed."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from conftest import BULK_DAILY_BYTES, BULK_FILE_BYTES, FULL_KEY, Vendor

from marketo_token_vendor import (
    BulkExportEvent,
    BulkExportOptions,
    BulkExportResult,
    TokenClient,
    TokenVendorClientError,
)

JOB = {"fields": ["id", "email"], "format": "CSV"}


class JobsClock:
    """Real time for the vendor (leases, signatures); a wait moves the simulated jobs' clock on instead.
    ``before_wait`` runs first: what else happens meanwhile."""

    def __init__(self, vendor: Vendor, before_wait: threading.Event | None = None) -> None:
        self._vendor = vendor
        self._before_wait = before_wait

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if self._before_wait is not None:
            assert self._before_wait.wait(timeout=60), "the other exports never got their places"
        self._vendor.command("advanceBulkClock", ms=int(seconds * 1000))


def _bulk(local_mode: dict[str, Vendor]) -> Vendor:
    return local_mode["bulk"]


def test_runs_a_whole_export_under_a_slot_and_gives_the_slot_back_with_the_files_bytes(
    local_mode: dict[str, Vendor],
) -> None:
    vendor = _bulk(local_mode)
    events: list[BulkExportEvent] = []
    with TokenClient(vendor.url, vendor.region, credentials=FULL_KEY, clock=JobsClock(vendor)) as tokens:
        result = tokens.bulk_export("py-bulk", vendor.rest_url, JOB, BulkExportOptions(on_event=events.append))
        check = tokens.acquire_bulk_slot("py-bulk", "import")
        check.release()

    assert (result.bytes, len(result.file)) == (BULK_FILE_BYTES, BULK_FILE_BYTES)
    assert result.file.startswith(b"id,email,firstName,lastName\n1,lead1@example.com,")
    # Polls after 5, 10, 20 and 40 s (backoff) of a job that takes 60 s: ended at the fourth.
    assert [e.status if e.kind == "status" else e.kind for e in events] == [
        "slot",
        "created",
        "queued",
        "Processing",
        "Processing",
        "Processing",
        "Completed",
        "ended",
    ]
    assert check.usage is not None
    assert check.usage["slots"]["extract"]["inUse"] == 0
    assert check.usage["exportBytes"] == vendor.counters()["bulk"]["exportedBytes"]


def test_keeps_twelve_threads_inside_marketos_queue_every_place_used_none_refused(
    local_mode: dict[str, Vendor],
) -> None:
    vendor = _bulk(local_mode)
    vendor.command("resetCounters")
    # The jobs' clock stands still until 10 jobs are queued: the 2 exports without a place wait for one.
    ten_queued = threading.Event()
    queued: list[str] = []
    lock = threading.Lock()

    def on_event(event: BulkExportEvent) -> None:
        if event.kind == "queued":
            with lock:
                queued.append(event.export_id or "")
                if len(queued) == 10:
                    ten_queued.set()

    clock = JobsClock(vendor, before_wait=ten_queued)
    with TokenClient(vendor.url, vendor.region, credentials=FULL_KEY, clock=clock) as tokens:

        def export(_: int) -> BulkExportResult:
            return tokens.bulk_export("py-bulk", vendor.rest_url, JOB, BulkExportOptions(on_event=on_event))

        with ThreadPoolExecutor(max_workers=12) as pool:
            results = list(pool.map(export, range(12)))

    assert [r.bytes for r in results] == [BULK_FILE_BYTES] * 12
    bulk = vendor.counters()["bulk"]
    assert (bulk["completed"], bulk["peakQueued"], bulk["peakProcessing"]) == (12, 10, 2)
    assert (bulk["refusedQueueFull"], bulk["refusedQuota"]) == (0, 0)


def test_raises_daily_export_quota_exhausted_with_the_reset_time_and_never_asks_marketo_past_it(
    local_mode: dict[str, Vendor],
) -> None:
    vendor = _bulk(local_mode)
    before = vendor.counters()["bulk"]
    exported = 0
    with TokenClient(vendor.url, vendor.region, credentials=FULL_KEY, clock=JobsClock(vendor)) as tokens:
        while True:
            try:
                tokens.bulk_export("py-bulk", vendor.rest_url, JOB)
                exported += 1
            except TokenVendorClientError as error:
                refused = error
                break

    assert (refused.code, refused.status, refused.retryable) == ("DailyExportQuotaExhausted", 429, False)
    assert refused.resets_at is not None
    reset = datetime.fromtimestamp(refused.resets_at, tz=timezone.utc)
    # 00:00 in Chicago: 05:00 or 06:00 UTC (daylight saving time), within the next day.
    assert (reset.hour in (5, 6), reset.minute, reset.second) == (True, 0, 0)
    assert 0 < refused.resets_at - time.time() <= 86_400
    after = vendor.counters()["bulk"]
    assert after["exportedBytes"] == BULK_DAILY_BYTES
    assert after["created"] - before["created"] == exported
    assert after["refusedQuota"] == 0
