"""The consumer side of the vendor's shared Marketo API budget, as the Node client does it
(``client/permits.ts``): a permit before each Marketo call, released after; backing off with jitter when
Marketo still answers 606/615 (other integrations share the instance) and reporting it; failing fast with
``DailyQuotaExhausted`` on 607. Thread-safe.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from .budget import BudgetEvent, BudgetOptions, BudgetStats
from .clock import Clock
from .errors import TokenVendorClientError
from .marketo import MarketoLimitCode, marketo_limit_code
from .signed_call import SignedCaller

P = TypeVar("P")
T = TypeVar("T")

SERVER_WAIT_SECONDS = 10.0
"""Longest wait asked of the vendor per request (it holds the request while a slot frees)."""
RELEASE_LINGER_SECONDS = 0.025
"""A released permit waits this long for the caller's next acquire to carry its release (one request less)."""
LATE_PREPARE_LIMIT = 2
"""Permits given back because preparing the call (fetching the token) outlasted them, before going on anyway."""
DEFAULT_USE_BY_SECONDS = 0.5
"""Use-by of a permit whose answer names none."""
QUOTA_USED_UP = "Marketo answered 607: the instance's daily API quota is used up"


@dataclass(frozen=True)
class HeldPermit:
    permit_id: str
    base_path: str
    unmetered: bool
    use_by: float
    """This machine's epoch seconds by which the call must be sent (the vendor counts from the grant)."""


class Cancellable(Protocol):
    def cancel(self) -> None: ...


def _start_timer(seconds: float, action: Callable[[], None]) -> Cancellable:
    timer = threading.Timer(seconds, action)
    timer.daemon = True  # a lingering release never keeps a process alive: close() sends it instead
    timer.start()
    return timer


Schedule = Callable[[float, Callable[[], None]], Cancellable]
"""Runs an action after some seconds unless cancelled (a daemon ``threading.Timer``; tests replace it)."""


@dataclass
class _Lingering:
    permit_id: str
    timer: Cancellable | None = field(default=None, repr=False)


def base_path_of(client_id: str | None = None, instance: str | None = None) -> str:
    """The permit routes of a client's instance, or of a pool."""
    return f"/tokens/{client_id}/permits" if client_id is not None else f"/instances/{instance}/permits"


def _daily_quota_error(message: str) -> TokenVendorClientError:
    return TokenVendorClientError("DailyQuotaExhausted", message, status=429)


class Permits:
    """The permit machinery of one token client."""

    def __init__(
        self,
        *,
        caller: SignedCaller,
        clock: Clock,
        options: BudgetOptions,
        rand: Callable[[], float] = random.random,
        schedule: Schedule = _start_timer,
    ) -> None:
        self._caller = caller
        self._clock = clock
        self._options = options
        self._random = rand
        self._schedule = schedule
        self._lock = threading.Lock()
        self._stats = BudgetStats()
        self._exhausted_until: dict[str, tuple[float, str]] = {}
        self._lingering: dict[str, list[_Lingering]] = {}
        self._releases_sending = 0
        self._releases_sent = threading.Condition(self._lock)
        self._unavailable = False
        self._closed = False

    # -- bookkeeping ------------------------------------------------------------------------------------

    def stats(self) -> BudgetStats:
        with self._lock:
            return BudgetStats(**vars(self._stats))

    def _count(self, **deltas: float) -> None:
        with self._lock:
            for name, delta in deltas.items():
                setattr(self._stats, name, getattr(self._stats, name) + delta)

    def _emit(self, event: BudgetEvent) -> None:
        if self._options.on_event is not None:
            self._options.on_event(event)

    def _remember_exhausted(self, base_path: str, error: TokenVendorClientError) -> None:
        # Remembered for at most a minute, so an operator raising the quota is seen soon.
        for_seconds = min(60.0, float(error.retry_after_seconds or 60))
        with self._lock:
            self._exhausted_until[base_path] = (self._clock.now() + for_seconds, error.message)

    # -- release ----------------------------------------------------------------------------------------

    def _send_release(self, base_path: str, permit_id: str, marketo_error: str | None = None) -> None:
        body: dict[str, str] = {"permitId": permit_id}
        if marketo_error is not None:
            body["marketoError"] = marketo_error
        with self._lock:
            self._stats.vendor_calls += 1
            self._releases_sending += 1
        try:
            self._caller.call("POST", f"{base_path}/release", body=body, retry_budget_seconds=0)
        except TokenVendorClientError:
            pass  # The lease lapses by itself: a lost release only holds the slot until then.
        finally:
            with self._lock:
                self._releases_sending -= 1
                self._releases_sent.notify_all()

    def _take_lingering(self, base_path: str, entry: _Lingering | None = None) -> _Lingering | None:
        """Removes a lingering release (that one, or the oldest of ``base_path``); whoever removes it sends it."""
        with self._lock:
            queue = self._lingering.get(base_path, [])
            if entry is None:
                return queue.pop(0) if queue else None
            if entry in queue:
                queue.remove(entry)
                return entry
            return None

    def release(self, permit: HeldPermit, marketo_error: MarketoLimitCode | None = None) -> None:
        """Gives a permit back. Without a Marketo error it lingers briefly so that a sequential caller's next
        acquire carries it; ``close()`` sends what still lingers."""
        if permit.unmetered:
            return
        if marketo_error is not None or self._closed:
            self._send_release(permit.base_path, permit.permit_id, marketo_error)
            return
        entry = _Lingering(permit.permit_id)

        def send_if_still_lingering() -> None:
            if self._take_lingering(permit.base_path, entry) is not None:
                self._send_release(permit.base_path, permit.permit_id)

        with self._lock:
            self._lingering.setdefault(permit.base_path, []).append(entry)
        entry.timer = self._schedule(RELEASE_LINGER_SECONDS, send_if_still_lingering)

    def finish(self, permit: HeldPermit, code: MarketoLimitCode | None) -> None:
        """Releases a permit held around the caller's own Marketo call, reporting the limit code it saw (a 607
        makes the next acquires fail fast, as ``run`` does)."""
        if code is not None:
            self._count(**{f"marketo{code}": 1})
            self._emit(BudgetEvent("marketo-limit", code=code))
            if code == "607":
                self._remember_exhausted(permit.base_path, _daily_quota_error(QUOTA_USED_UP))
        self.release(permit, code)

    def close(self) -> None:
        """Sends every release still lingering, now, and waits for those already on their way: a finished
        job holds no concurrency slot."""
        self._closed = True
        with self._lock:
            pending = [(path, entry) for path, queue in self._lingering.items() for entry in queue]
            self._lingering.clear()
        for path, entry in pending:
            if entry.timer is not None:
                entry.timer.cancel()
            self._send_release(path, entry.permit_id)
        with self._lock:
            self._releases_sent.wait_for(lambda: self._releases_sending == 0)

    # -- acquire ----------------------------------------------------------------------------------------

    def acquire(self, base_path: str) -> HeldPermit:
        """A permit of the instance's budget, waiting up to ``max_wait_seconds``."""
        unmetered = HeldPermit("unmetered", base_path, True, float("inf"))
        if not self._options.enabled or self._unavailable:
            return unmetered
        with self._lock:
            known = self._exhausted_until.get(base_path)
        if known is not None and self._clock.now() < known[0]:
            raise _daily_quota_error(known[1])
        started = self._clock.now()
        while True:
            riding = self._take_lingering(base_path)
            if riding is not None and riding.timer is not None:
                riding.timer.cancel()
            wait_left = max(0.0, self._options.max_wait_seconds - (self._clock.now() - started))
            body: dict[str, object] = {"maxWaitMs": round(min(SERVER_WAIT_SECONDS, wait_left) * 1000)}
            if self._options.lease_seconds is not None:
                body["leaseMs"] = round(self._options.lease_seconds * 1000)
            if riding is not None:
                body["release"] = riding.permit_id
            self._count(vendor_calls=1)
            try:
                answer = self._caller.call("POST", base_path, body=body, retry_budget_seconds=0)
            except TokenVendorClientError as error:
                # The release this request carried may not have been written: send it on its own (idempotent).
                if riding is not None:
                    self._send_release(base_path, riding.permit_id)
                pause = self._after_refusal(base_path, error, started)
                if pause is None:
                    return unmetered
                self._clock.sleep(pause)
                continue
            return self._granted(base_path, answer.body, answer.sent_at, started, unmetered)

    def _granted(
        self, base_path: str, body: object, sent_at: float, started: float, unmetered: HeldPermit
    ) -> HeldPermit:
        permit_id = body.get("permitId") if isinstance(body, dict) else None
        if not isinstance(body, dict) or not isinstance(permit_id, str):
            # Not a permit API (a proxy, an old deployment answering something else): go on unmetered.
            self._unavailable = True
            self._count(unmetered=1)
            self._emit(BudgetEvent("unmetered", reason="BadResponse"))
            return unmetered
        self._count(permits=1)
        waited = self._clock.now() - started
        vendor_waited_ms = body.get("waitedMs")
        vendor_waited = vendor_waited_ms / 1000 if isinstance(vendor_waited_ms, (int, float)) else 0.0
        if waited > 0 and vendor_waited > 0:
            self._count(waits=1, waited_seconds=waited)
            self._emit(BudgetEvent("waited", seconds=waited))
        is_unmetered = body.get("unmetered") is True
        if is_unmetered:
            self._count(unmetered=1)
        use_by_ms = body.get("useByMs")
        use_by = DEFAULT_USE_BY_SECONDS if not isinstance(use_by_ms, (int, float)) else use_by_ms / 1000
        # Counted from when the request left plus the time the vendor says it waited before granting (both
        # before the grant), so a slow answer can only shorten it.
        return HeldPermit(permit_id, base_path, is_unmetered, sent_at + max(0.0, vendor_waited) + use_by)

    def _after_refusal(self, base_path: str, error: TokenVendorClientError, started: float) -> float | None:
        """How long to pause before asking again, or ``None`` to go on unmetered; raises what must surface."""
        if error.code == "DailyQuotaExhausted":
            self._remember_exhausted(base_path, error)
            raise error
        if error.code == "PermitUnavailable":
            exact = error.retry_after_ms / 1000 if error.retry_after_ms is not None else None
            pause = (
                exact if exact is not None else float(error.retry_after_seconds or 1)
            ) + self._random() * 0.1
            if self._clock.now() + pause - started > self._options.max_wait_seconds:
                raise error
            self._count(waits=1, waited_seconds=pause)
            self._emit(BudgetEvent("waited", seconds=pause))
            return pause
        # The vendor has no permit route for us (an older deployment, or no grant on it) or cannot be
        # reached: Marketo still enforces its limits, so go on unmetered rather than fail the call.
        if error.code in ("AccessDenied", "MissingAuthenticationToken", "NotFound"):
            self._unavailable = True
        self._count(unmetered=1)
        self._emit(BudgetEvent("unmetered", reason=error.code))
        return None

    def acquire_and_prepare(self, base_path: str, prepare: Callable[[], P]) -> tuple[HeldPermit, P]:
        """A permit that can still be used, and what ``prepare`` made under it (the token). A permit past its
        use-by time is given back (its slot is spent, the limit stays safe) and another is asked for; after
        ``LATE_PREPARE_LIMIT`` late preparations the call goes on with the last one."""
        late = 0
        while True:
            permit = self.acquire(base_path)
            while self._clock.now() > permit.use_by:
                self._count(expired=1)
                self.release(permit)
                permit = self.acquire(base_path)
            try:
                prepared = prepare()
            except BaseException:
                self.release(permit)
                raise
            if self._clock.now() <= permit.use_by or late >= LATE_PREPARE_LIMIT:
                return permit, prepared
            self._count(expired=1)
            self.release(permit)
            late += 1

    def run(
        self,
        base_path: str,
        prepare: Callable[[], P],
        attempt: Callable[[P], T],
        limit_of: Callable[[T | None, BaseException | None], MarketoLimitCode | None],
    ) -> T:
        """One Marketo call under a permit: permit, ``prepare`` (the token), ``attempt``. ``limit_of`` reads
        the outcome: 606/615 are backed off with jitter and retried (up to ``limit_retries``, each under a
        new permit and a new ``prepare``) and reported; 607 raises ``DailyQuotaExhausted`` at once."""
        retry = 0
        while True:
            permit, prepared = self.acquire_and_prepare(base_path, prepare)
            value: T | None = None
            failure: BaseException | None = None
            try:
                value = attempt(prepared)
            except Exception as error:  # noqa: BLE001 - re-raised below once the permit is released
                failure = error
            except BaseException:
                self.release(permit)  # an interrupt: give the slot back, report nothing
                raise
            code = limit_of(value, failure)
            self.release(permit, code)
            if code is None:
                if failure is not None:
                    raise failure
                return value  # type: ignore[return-value]  # attempt returned it
            self._count(**{f"marketo{code}": 1})
            if code == "607":
                self._emit(BudgetEvent("marketo-limit", code=code))
                exhausted = _daily_quota_error(QUOTA_USED_UP)
                self._remember_exhausted(permit.base_path, exhausted)
                raise exhausted
            if retry >= self._options.limit_retries:
                self._emit(BudgetEvent("marketo-limit", code=code))
                if failure is not None:
                    raise failure
                return value  # type: ignore[return-value]
            # Exponential backoff with full jitter: 606 waits for the rolling window, 615 for a slot.
            base_seconds = 2.0 if code == "606" else 0.25
            pause = self._random() * base_seconds * 2**retry + 0.05
            self._emit(BudgetEvent("marketo-limit", code=code, retry_in_seconds=pause))
            self._clock.sleep(pause)
            retry += 1


class Permit:
    """A permit of the shared API budget held around your own Marketo call (see ``TokenClient.permit``)."""

    def __init__(self, held: HeldPermit) -> None:
        self.held = held
        self.marketo_error: MarketoLimitCode | None = None

    @property
    def unmetered(self) -> bool:
        """True when the vendor granted no permit (budget off, or the vendor unreachable: fail open)."""
        return self.held.unmetered

    def report(self, answer: object) -> None:
        """Hands Marketo's answer (a body or an error) to the permit: a 606/615/607 in it is reported to the
        vendor when the permit is released, so every consumer of the instance slows down."""
        code = marketo_limit_code(answer)
        if code is not None:
            self.marketo_error = code
