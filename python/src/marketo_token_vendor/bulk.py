"""Marketo's Bulk API under the vendor's slots, as the Node client does it (``client/bulk-slots.ts``,
``client/bulk-export.ts``): a place in the instance's Bulk Extract (or Import) queue taken before a job is
created, renewed while it runs, and given back with the bytes its file held; and ``run_bulk_export``, a whole
export under one slot (create, enqueue, poll with backoff, release with the file's size, download). Every
Marketo call is a ``TokenClient.request``: a token and a permit of the shared API budget each.

Marketo answers Bulk errors as HTTP 200 with ``success: false``: 1029 "Too many jobs in queue" (an
integration outside the vendor filled the queue) is waited out, 1029 "Export daily quota exceeded" raises
``DailyExportQuotaExhausted``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from .clock import Clock
from .errors import MarketoApiError, TokenVendorClientError
from .signed_call import SignedCaller

BulkKind = Literal["extract", "import"]
BulkJobStatus = Literal["Created", "Queued", "Processing", "Completed", "Failed", "Cancelled"]

DEFAULT_LEASE_SECONDS = 120.0
DEFAULT_MAX_WAIT_SECONDS = 1800.0
_TERMINAL = ("Completed", "Failed", "Cancelled")
_BULK_LIMIT_CODE = "1029"
"""Marketo's code for both a full extract queue and a used-up daily export quota."""
_NO_SLOT_ROUTES = ("AccessDenied", "MissingAuthenticationToken", "NotFound")


def bulk_slots_path(target_path: str) -> str:
    """Where a target's slots are taken: ``/tokens/{clientId}/bulk-slots`` (or the pool's)."""
    return f"{target_path}/bulk-slots"


@dataclass
class BulkSlot:
    """A place held in an instance's Bulk API queue."""

    slot_id: str
    kind: BulkKind
    instance: str
    unmetered: bool
    """True when nothing was counted (no slot routes, or the vendor's store failed open)."""
    lease_expires_at: float
    """This machine's epoch seconds the lease lapses unless renewed."""
    waited_seconds: float
    usage: Mapping[str, Any] | None
    _base_path: str = field(repr=False)
    _lease_seconds: float = field(repr=False)
    _caller: SignedCaller = field(repr=False)
    _clock: Clock = field(repr=False)
    _released: bool = field(default=False, repr=False)

    def renew(self) -> None:
        """Keeps the place for another lease."""
        if self.unmetered or self._released:
            return
        sent_at = self._clock.now()
        self._caller.call(
            "POST",
            f"{self._base_path}/renew",
            body={"slotId": self.slot_id, "leaseMs": int(self._lease_seconds * 1000)},
            retry_budget_seconds=0,
        )
        # Counted from when the renewal left: a slow answer can only shorten it.
        self.lease_expires_at = sent_at + self._lease_seconds

    def renew_if_due(self) -> None:
        """Renews when less than half the lease is left (cheap to call before every wait)."""
        if self.lease_expires_at - self._clock.now() < self._lease_seconds / 2:
            self.renew()

    def release(self, file_bytes: int = 0) -> None:
        """The job ended (completed, failed, cancelled) with ``file_bytes`` in its file: the place is given
        back. Once; a failed release only leaves the lease to lapse."""
        if self.unmetered or self._released:
            return
        self._released = True
        try:
            self._caller.call(
                "POST",
                f"{self._base_path}/release",
                body={"slotId": self.slot_id, "bytes": file_bytes},
                retry_budget_seconds=0,
            )
        except TokenVendorClientError:
            pass  # the lease lapses by itself; the vendor then misses this job's bytes


class BulkSlots:
    """The Bulk API slot machinery of one token client. Thread-safe (it keeps no shared state but a flag)."""

    def __init__(self, caller: SignedCaller, clock: Clock, rng: Callable[[], float] = random.random) -> None:
        self._caller = caller
        self._clock = clock
        self._random = rng
        self._unavailable = False
        """Set once the vendor answered that slots do not exist for us (old deployment, no grant)."""

    def acquire(
        self,
        target_path: str,
        kind: BulkKind,
        *,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        expected_bytes: int | None = None,
        max_wait_seconds: float = DEFAULT_MAX_WAIT_SECONDS,
    ) -> BulkSlot:
        """Takes a place, waiting (as the vendor says) while every place is held. Raises
        ``DailyExportQuotaExhausted`` (with ``resets_at``) when the day's export quota is used up, and
        ``BulkSlotUnavailable`` when no place frees within ``max_wait_seconds``."""
        base = bulk_slots_path(target_path)
        started = self._clock.now()

        def slot(answer: Mapping[str, Any] | None) -> BulkSlot:
            usage = answer.get("usage") if answer is not None else None
            return BulkSlot(
                slot_id=str(answer["slotId"]) if answer is not None else "unmetered",
                kind=kind,
                instance=str(answer.get("instance", "")) if answer is not None else "",
                unmetered=answer is None or answer.get("unmetered") is True,
                lease_expires_at=self._clock.now() + lease_seconds,
                waited_seconds=self._clock.now() - started,
                usage=usage if isinstance(usage, Mapping) else None,
                _base_path=base,
                _lease_seconds=lease_seconds,
                _caller=self._caller,
                _clock=self._clock,
            )

        if self._unavailable:
            return slot(None)
        body: dict[str, Any] = {"kind": kind, "leaseMs": int(lease_seconds * 1000)}
        if expected_bytes is not None:
            body["expectedBytes"] = expected_bytes
        while True:
            try:
                answer = self._caller.call("POST", base, body=body, retry_budget_seconds=0).body
            except TokenVendorClientError as error:
                if error.code == "BulkSlotUnavailable":
                    wait_ms = error.retry_after_ms or (error.retry_after_seconds or 5) * 1000
                    pause = wait_ms / 1000 + self._random() * 0.25
                    if self._clock.now() + pause - started > max_wait_seconds:
                        raise
                    self._clock.sleep(pause)
                    continue
                if error.code in _NO_SLOT_ROUTES:
                    # No slot routes for us (an older vendor, no grant): Marketo still enforces its queue.
                    self._unavailable = True
                    return slot(None)
                raise
            if not isinstance(answer, Mapping) or not isinstance(answer.get("slotId"), str):
                self._unavailable = True  # not a slot API (a proxy, an old deployment): go on unmetered
                return slot(None)
            return slot(answer)


@dataclass(frozen=True)
class BulkExportResult:
    """A finished export."""

    export_id: str
    bytes: int
    """Bytes of the file, as Marketo reported them (what the day's quota counted)."""
    number_of_records: int
    file: bytes
    slot_waited_seconds: float
    polls: int
    """Status polls made."""


@dataclass(frozen=True)
class BulkExportEvent:
    """What happened: ``slot``, ``created``, ``queue-full``, ``queued``, ``status`` (with ``status``),
    ``ended``."""

    kind: str
    export_id: str | None = None
    status: str | None = None
    bytes: int | None = None
    seconds: float | None = None


class _Response(Protocol):
    @property
    def body(self) -> bytes: ...

    def json(self) -> Any: ...


Request = Callable[..., _Response]
"""``TokenClient.request`` bound to the export's client: ``request(method, url, json=…)``."""


def _job_of(response: _Response, what: str) -> Mapping[str, Any] | Literal["queue-full"]:
    """The job a Bulk answer carried, or a typed error; 1029 "…queue…" is returned for the caller to
    wait."""
    answer = response.json()
    if answer.get("success") is True:
        result = answer.get("result") or [{}]
        return result[0]
    error = (answer.get("errors") or [{}])[0]
    code, message = str(error.get("code", "unknown")), str(error.get("message", what))
    if code != _BULK_LIMIT_CODE:
        raise MarketoApiError(code, message)
    if re.search("quota", message, re.IGNORECASE):
        raise TokenVendorClientError(
            "DailyExportQuotaExhausted", f"Marketo answered 1029: {message}", status=429
        )
    return "queue-full"


@dataclass(frozen=True)
class BulkExportOptions:
    """How ``TokenClient.bulk_export`` runs an export."""

    object_name: str = "leads"
    """What to extract: ``leads``, ``activities``, ``program/members`` or ``customobjects/<apiName>``."""
    expected_bytes: int | None = None
    """Bytes the job is expected to export (the last run's), held against the day's quota until it ends."""
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    """The slot's lease; renewed while the job runs."""
    max_slot_wait_seconds: float = DEFAULT_MAX_WAIT_SECONDS
    """Longest wait for a slot (and for a place in a queue others filled)."""
    first_poll_seconds: float = 5.0
    """First status poll after this, doubling up to ``max_poll_seconds``."""
    max_poll_seconds: float = 60.0
    max_job_seconds: float = 6 * 3600.0
    """Give up on a job that has not ended after this (it is cancelled)."""
    on_event: Callable[[BulkExportEvent], None] | None = None
    """Told what happens: slot, created, queue-full, queued, each status, ended."""


def run_bulk_export(
    slots: BulkSlots,
    request: Request,
    clock: Clock,
    target_path: str,
    rest_url: str,
    job: Mapping[str, Any],
    options: BulkExportOptions | None = None,
) -> BulkExportResult:
    """Runs one export under a slot (see the module docstring); ``TokenClient.bulk_export`` calls it."""
    opts = options or BulkExportOptions()
    first_poll_seconds, max_poll_seconds = opts.first_poll_seconds, opts.max_poll_seconds
    max_slot_wait_seconds = opts.max_slot_wait_seconds

    def emit(event: BulkExportEvent) -> None:
        if opts.on_event is not None:
            opts.on_event(event)

    base = f"{rest_url.rstrip('/')}/bulk/v1/{opts.object_name}/export"
    slot = slots.acquire(
        target_path,
        "extract",
        lease_seconds=opts.lease_seconds,
        expected_bytes=opts.expected_bytes,
        max_wait_seconds=max_slot_wait_seconds,
    )
    emit(BulkExportEvent("slot", seconds=slot.waited_seconds))

    def pause(seconds: float) -> None:
        """Sleeps no longer than a third of the lease, renewing the slot before each wait."""
        slot.renew_if_due()
        left = (slot.lease_expires_at - clock.now()) / 3
        clock.sleep(seconds if slot.unmetered else min(seconds, max(0.001, left)))

    export_id: str | None = None
    ended: Mapping[str, Any] | None = None
    try:
        created = _job_of(request("POST", f"{base}/create.json", json=dict(job)), "create failed")
        if created == "queue-full" or not isinstance(created.get("exportId"), str):
            raise MarketoApiError("unknown", "create answered no exportId")
        export_id = str(created["exportId"])
        emit(BulkExportEvent("created", export_id=export_id))
        started = clock.now()
        wait = first_poll_seconds
        while _job_of(request("POST", f"{base}/{export_id}/enqueue.json"), "enqueue failed") == "queue-full":
            if clock.now() + wait - started > max_slot_wait_seconds:
                raise MarketoApiError(_BULK_LIMIT_CODE, "Too many jobs in queue")
            emit(BulkExportEvent("queue-full", export_id=export_id, seconds=wait))
            pause(wait)
            wait = min(max_poll_seconds, wait * 2)
        emit(BulkExportEvent("queued", export_id=export_id))
        polls = 0
        deadline = clock.now() + opts.max_job_seconds
        wait = first_poll_seconds
        while True:
            pause(wait)
            wait = min(max_poll_seconds, wait * 2)
            polls += 1
            status = _job_of(request("GET", f"{base}/{export_id}/status.json"), "status failed")
            if status == "queue-full" or "status" not in status:
                continue
            emit(BulkExportEvent("status", export_id=export_id, status=str(status["status"])))
            if status["status"] in _TERMINAL:
                ended = status
                break
            if clock.now() > deadline:
                raise MarketoApiError("timeout", f"export {export_id} did not end in time")
        file_bytes = int(ended.get("fileSize") or 0) if ended["status"] == "Completed" else 0
        # The place is Marketo's queue's: given back as soon as the job ended, before the download.
        slot.release(file_bytes)
        emit(BulkExportEvent("ended", export_id=export_id, status=str(ended["status"]), bytes=file_bytes))
        if ended["status"] != "Completed":
            raise MarketoApiError(str(ended["status"]), f"export {export_id} ended {ended['status']}")
        file = request("GET", f"{base}/{export_id}/file.json")
        return BulkExportResult(
            export_id=export_id,
            bytes=file_bytes,
            number_of_records=int(ended.get("numberOfRecords") or 0),
            file=file.body,
            slot_waited_seconds=slot.waited_seconds,
            polls=polls,
        )
    except BaseException:
        if ended is None:
            # A job given up on is cancelled (best effort): it must not go on filling the queue and the quota.
            if export_id is not None:
                try:
                    request("POST", f"{base}/{export_id}/cancel.json")
                except Exception:  # noqa: BLE001 - best effort, the original error is what counts
                    pass
            slot.release(0)
        raise
