"""Bulk API slots on a scripted vendor: waits as long as the vendor names, typed refusals, renewal when due,
one release, and no slots at all on a vendor without the routes (unmetered, as the Node client)."""

from __future__ import annotations

from fakes import ENDPOINT, FakeClock, FakeTransport, answer, key_source

from marketo_token_vendor import HttpResponse, TokenVendorClientError
from marketo_token_vendor.bulk import BulkSlots
from marketo_token_vendor.signed_call import SignedCaller

SLOT = "00000001-0000-4000-8000-000000000000"
TARGET = "/tokens/sync"
BASE = "/v1/tokens/sync/bulk-slots"
GRANTED = answer(200, {"slotId": SLOT, "instance": "i.mktorest.com", "kind": "extract", "unmetered": False})


def _busy(retry_after_ms: int) -> HttpResponse:
    return answer(
        429,
        {"error": {"code": "BulkSlotUnavailable", "message": "held", "retryAfterMs": retry_after_ms}},
        {"retry-after": "5"},
    )


def _slots(transport: FakeTransport, clock: FakeClock) -> BulkSlots:
    caller = SignedCaller(
        endpoint=ENDPOINT, region="us-east-1", credentials=key_source, transport=transport, clock=clock
    )
    return BulkSlots(caller, clock, rng=lambda: 0.0)


def test_asks_for_a_slot_of_its_kind_with_its_lease_and_expected_bytes() -> None:
    transport, clock = FakeTransport().on(f"POST {BASE}", GRANTED), FakeClock()
    slot = _slots(transport, clock).acquire(TARGET, "extract", lease_seconds=60, expected_bytes=5)
    assert (slot.slot_id, slot.unmetered, slot.lease_expires_at) == (SLOT, False, clock.time + 60)
    assert transport.sent[0].json() == {"kind": "extract", "leaseMs": 60000, "expectedBytes": 5}


def test_waits_as_long_as_the_vendor_names_while_every_place_is_held() -> None:
    transport, clock = FakeTransport().on(f"POST {BASE}", _busy(5000), _busy(1200), GRANTED), FakeClock()
    slot = _slots(transport, clock).acquire(TARGET, "extract")
    assert clock.sleeps == [5.0, 1.2]
    assert round(slot.waited_seconds, 3) == 6.2


def test_raises_bulk_slot_unavailable_once_its_wait_would_pass_max_wait() -> None:
    transport, clock = FakeTransport().on(f"POST {BASE}", _busy(5000)), FakeClock()
    try:
        _slots(transport, clock).acquire(TARGET, "extract", max_wait_seconds=8)
    except TokenVendorClientError as error:
        assert (error.code, error.retry_after_ms) == ("BulkSlotUnavailable", 5000)
    else:
        raise AssertionError("expected BulkSlotUnavailable")


def test_raises_daily_export_quota_exhausted_at_once_with_the_reset_time() -> None:
    refused = answer(
        429,
        {
            "error": {
                "code": "DailyExportQuotaExhausted",
                "message": "used up",
                "resetsAt": "2026-12-02T06:00:00.000Z",
            }
        },
    )
    transport, clock = FakeTransport().on(f"POST {BASE}", refused), FakeClock()
    try:
        _slots(transport, clock).acquire(TARGET, "extract")
    except TokenVendorClientError as error:
        expected = ("DailyExportQuotaExhausted", 1796191200.0, False)
        assert (error.code, error.resets_at, error.retryable) == expected
    else:
        raise AssertionError("expected DailyExportQuotaExhausted")
    assert clock.sleeps == []


def test_goes_on_unmetered_and_stops_asking_on_a_vendor_without_slot_routes() -> None:
    missing = answer(404, {"error": {"code": "NotFound", "message": "no route"}})
    transport, clock = FakeTransport().on(f"POST {BASE}", missing), FakeClock()
    slots = _slots(transport, clock)
    first, second = slots.acquire(TARGET, "extract"), slots.acquire(TARGET, "import")
    first.release(10)
    assert (first.unmetered, second.unmetered, len(transport.sent)) == (True, True, 1)


def test_renews_only_once_less_than_half_its_lease_is_left() -> None:
    transport = FakeTransport().on(f"POST {BASE}", GRANTED).on(f"POST {BASE}/renew", GRANTED)
    clock = FakeClock()
    slot = _slots(transport, clock).acquire(TARGET, "extract", lease_seconds=60)
    clock.time += 29
    slot.renew_if_due()
    clock.time += 2
    slot.renew_if_due()
    assert transport.routes() == [f"POST {BASE}", f"POST {BASE}/renew"]
    assert slot.lease_expires_at == clock.time + 60


def test_reports_the_end_with_its_bytes_once() -> None:
    transport = FakeTransport().on(f"POST {BASE}", GRANTED).on(f"POST {BASE}/release", answer(200, {}))
    slot = _slots(transport, FakeClock()).acquire(TARGET, "extract")
    slot.release(1234)
    slot.release(1234)
    assert [s.json() for s in transport.sent[1:]] == [{"slotId": SLOT, "bytes": 1234}]
