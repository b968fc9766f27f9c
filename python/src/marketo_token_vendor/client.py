"""The consumer's view of the token vendor: SigV4-signed token requests with a thread-safe in-memory cache,
``with_token`` / ``request`` that recover from Marketo 601/602 once, the shared API budget's permits, and
typed errors. The same behaviour as the Node client (``marketo-token-vendor/client``)."""

from __future__ import annotations

import json as jsonlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlencode, urlsplit

from botocore.credentials import Credentials

from .access_denied import MarketoAccessDenied, fail_on_access_denied
from .budget import BudgetOptions, BudgetStats
from .bulk import (
    BulkExportOptions,
    BulkExportResult,
    BulkKind,
    BulkSlot,
    BulkSlots,
    run_bulk_export,
)
from .clock import Clock, SystemClock
from .credentials import AwsCredentials, credentials_source
from .defaults import (
    DEFAULT_MIN_VALIDITY_SECONDS,
    REQUEST_MIN_VALIDITY_SECONDS,
    default_retry_budget_seconds,
)
from .errors import TokenVendorClientError
from .marketo import MarketoLimitCode, MarketoResponse, marketo_limit_code, token_rejection_code
from .permits import Permit, Permits
from .signed_call import SignedCaller
from .tokens import MarketoToken, Target, TokenCache, client_target, instance_target, token_from_answer
from .transport import BotocoreTransport, Transport

T = TypeVar("T")


@dataclass(frozen=True)
class _Demand:
    """What one call asks the vendor for, and how long it may wait."""

    min_validity: float
    retry_budget_seconds: float


class TokenClient:
    """A SigV4-signing client of the token vendor API, with an in-memory token cache shared by threads.

    ``endpoint``: the token API's base URL including the stage (the stack output ``ApiUrl``, or local mode's
    ``http://127.0.0.1:8787``). ``region``: where the API lives (the SigV4 signing region).
    ``credentials``: by default the AWS default credential chain (works unchanged in Lambda, ECS, Glue).
    """

    def __init__(
        self,
        endpoint: str,
        region: str,
        *,
        credentials: AwsCredentials | Credentials | None = None,
        default_min_validity: float = DEFAULT_MIN_VALIDITY_SECONDS,
        request_min_validity: float = REQUEST_MIN_VALIDITY_SECONDS,
        retry_budget_seconds: float | None = None,
        budget: BudgetOptions | bool = True,
        timeout_seconds: float = 30.0,
        clock: Clock | None = None,
        transport: Transport | None = None,
    ) -> None:
        self._clock = clock or SystemClock()
        self._transport = transport or BotocoreTransport(timeout_seconds=timeout_seconds)
        self._caller = SignedCaller(
            endpoint=endpoint,
            region=region,
            credentials=credentials_source(credentials),
            transport=self._transport,
            clock=self._clock,
        )
        options = budget if isinstance(budget, BudgetOptions) else BudgetOptions(enabled=budget)
        self._permits = Permits(caller=self._caller, clock=self._clock, options=options)
        self._bulk_slots = BulkSlots(self._caller, self._clock)
        self._cache = TokenCache(self._clock.now)
        self._default_min_validity = default_min_validity
        self._request_min_validity = request_min_validity
        self._retry_budget_seconds = retry_budget_seconds
        self._closed = False

    @property
    def clock(self) -> Clock:
        """The client's time source (expiries are epoch seconds on it)."""
        return self._clock

    # -- tokens -----------------------------------------------------------------------------------------

    def _demand(
        self, min_validity: float | None, retry_budget_seconds: float | None, default: float
    ) -> _Demand:
        wanted = default if min_validity is None else min_validity
        budget = retry_budget_seconds if retry_budget_seconds is not None else self._retry_budget_seconds
        return _Demand(wanted, default_retry_budget_seconds(wanted) if budget is None else budget)

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("TokenClient is closed")

    def _target_token(self, target: Target, wanted: _Demand) -> MarketoToken:
        self._check_open()

        def fetch() -> MarketoToken:
            answer = self._caller.call(
                "GET",
                target.path,
                query={"minValidity": _whole(wanted.min_validity)},
                retry_budget_seconds=wanted.retry_budget_seconds,
            )
            return token_from_answer(answer.body, answer.received_at)

        return self._cache.get(target.cache_key, wanted.min_validity, fetch)

    def _invalidate_target(self, target: Target, access_token: str, wanted: _Demand) -> MarketoToken:
        self._check_open()

        def report() -> MarketoToken:
            answer = self._caller.call(
                "POST",
                target.invalidate_path,
                query={"minValidity": _whole(wanted.min_validity)},
                body={"accessToken": access_token},
                retry_budget_seconds=wanted.retry_budget_seconds,
            )
            return token_from_answer(answer.body, answer.received_at)

        return self._cache.replace(target.cache_key, access_token, report)

    def get_token(
        self, client_id: str, *, min_validity: float | None = None, retry_budget_seconds: float | None = None
    ) -> MarketoToken:
        """A token with at least ``min_validity`` seconds left (default 20, as the API's): from memory, else
        from the vendor (one request for all threads asking at once). Near an expiry the vendor may answer
        ``503`` with ``Retry-After``: the call waits that out within its retry budget (by default the
        rotation window, ``min_validity`` + 30 s), then raises ``TokenRotating``."""
        wanted = self._demand(min_validity, retry_budget_seconds, self._default_min_validity)
        return self._target_token(client_target(client_id), wanted)

    def get_instance_token(
        self, instance: str, *, min_validity: float | None = None, retry_budget_seconds: float | None = None
    ) -> MarketoToken:
        """The freshest token of an instance pool with at least ``min_validity`` seconds left; ``client_id``
        names the member it came from."""
        wanted = self._demand(min_validity, retry_budget_seconds, self._default_min_validity)
        return self._target_token(instance_target(instance), wanted)

    def invalidate(self, client_id: str, access_token: str) -> MarketoToken:
        """Reports a token Marketo rejected (601/602) and returns its replacement. Threads reporting the same
        token share one request."""
        wanted = self._demand(None, None, self._default_min_validity)
        return self._invalidate_target(client_target(client_id), access_token, wanted)

    # -- Marketo calls ----------------------------------------------------------------------------------

    def _call_under_permit(
        self,
        target: Target,
        wanted: _Demand,
        call: Callable[[MarketoToken], T],
        limit_of: Callable[[T | None, BaseException | None], MarketoLimitCode | None],
        replacing: MarketoToken | None = None,
    ) -> tuple[T, MarketoToken]:
        """One Marketo call under a permit, the token taken after the permit (a one-second token cannot go
        stale while the permit is waited for). ``replacing``: the token Marketo rejected, reported under the
        permit of the call that retries it. Returns the outcome and the token it used."""
        state: dict[str, MarketoToken | None] = {"replacing": replacing, "used": None}

        def prepare() -> MarketoToken:
            rejected = state["replacing"]
            if rejected is None:
                token = self._target_token(target, wanted)
            else:
                token = self._invalidate_target(target, rejected.access_token, wanted)
                state["replacing"] = None
            state["used"] = token
            return token

        result = self._permits.run(target.permits_path, prepare, call, limit_of)
        used = state["used"]
        assert used is not None
        return result, used

    def _with_target_token(
        self,
        target: Target,
        fn: Callable[[MarketoToken], T],
        min_validity: float | None,
        retry_budget_seconds: float | None,
    ) -> T:
        wanted = self._demand(min_validity, retry_budget_seconds, self._request_min_validity)

        def limit_of(value: T | None, error: BaseException | None) -> MarketoLimitCode | None:
            return marketo_limit_code(error if error is not None else value)

        used: list[MarketoToken] = []
        # A 603 is the role's, not the token's: raised as MarketoAccessDenied, never retried or invalidated.
        fn = fail_on_access_denied(fn)

        def first_call(token: MarketoToken) -> T:
            used.append(token)
            return fn(token)

        try:
            result, _ = self._call_under_permit(target, wanted, first_call, limit_of)
            if token_rejection_code(result) is None:
                return result
        except Exception as error:
            if not used or token_rejection_code(error) is None:
                raise
        return self._call_under_permit(target, wanted, fn, limit_of, used[-1])[0]

    def with_token(
        self,
        client_id: str,
        fn: Callable[[MarketoToken], T],
        *,
        min_validity: float | None = None,
        retry_budget_seconds: float | None = None,
    ) -> T:
        """Runs ``fn(token)`` under a permit of the shared budget. If it raises a 601/602 (a
        ``MarketoApiError``, or any exception with such a ``code``) or returns a Marketo body with a 601/602
        error, the token is invalidated and ``fn`` runs once more with the replacement; whatever the second
        run does is final. 606/615 are backed off and retried; 607 raises ``DailyQuotaExhausted``; a 603
        raised (``MarketoApiError`` with ``method`` and ``path`` names the permission) or returned raises
        ``MarketoAccessDenied``, without a retry.
        ``min_validity`` defaults to one request (1 s)."""
        return self._with_target_token(client_target(client_id), fn, min_validity, retry_budget_seconds)

    def with_instance_token(
        self,
        instance: str,
        fn: Callable[[MarketoToken], T],
        *,
        min_validity: float | None = None,
        retry_budget_seconds: float | None = None,
    ) -> T:
        """``with_token`` for a pool: on 601/602 the token is reported to the pool and ``fn`` runs once more
        with the pool's best token."""
        return self._with_target_token(instance_target(instance), fn, min_validity, retry_budget_seconds)

    def request(
        self,
        client_id: str,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        data: bytes | str | None = None,
        min_validity: float | None = None,
        retry_budget_seconds: float | None = None,
    ) -> MarketoResponse:
        """One Marketo REST call with ``Authorization: Bearer <token>`` (never the ``access_token`` query
        parameter), under a permit; when the JSON body reports 601/602 the token is invalidated and the call
        sent once more; a 603 raises ``MarketoAccessDenied`` (the path and the permission it needs).
        ``min_validity`` defaults to one request (1 s). Network errors reaching Marketo
        propagate as the transport raises them (botocore's ``HTTPClientError``)."""
        query = dict(params or {})
        if "access_token" in query or "access_token" in parse_qs(urlsplit(url).query):
            # Marketo is removing the query parameter; a token there would also end up in access logs.
            raise TokenVendorClientError("InvalidRequest", "do not put access_token in the URL", status=400)
        full_url = f"{url}{'&' if urlsplit(url).query else '?'}{urlencode(query)}" if query else url
        body = data.encode() if isinstance(data, str) else data
        sent_headers = {name.lower(): value for name, value in (headers or {}).items()}
        if json is not None:
            body = jsonlib.dumps(json).encode()
            sent_headers.setdefault("content-type", "application/json")
        target = client_target(client_id)
        wanted = self._demand(min_validity, retry_budget_seconds, self._request_min_validity)

        def send(token: MarketoToken) -> MarketoResponse:
            response = self._transport.send(
                method.upper(),
                full_url,
                {**sent_headers, "authorization": f"Bearer {token.access_token}"},
                body,
            )
            answered = MarketoResponse(response.status, response.headers, response.body)
            if answered.access_denied:
                # The role's, not the token's: never retried, the token kept.
                raise MarketoAccessDenied(token.client_id, method, urlsplit(full_url).path)
            return answered

        def limit_of(value: MarketoResponse | None, _error: BaseException | None) -> MarketoLimitCode | None:
            return None if value is None else value.limit_code

        first, used = self._call_under_permit(target, wanted, send, limit_of)
        if first.rejection_code is None:
            return first
        # Marketo answers 601/602 with HTTP 200: replace the token and send once more.
        return self._call_under_permit(target, wanted, send, limit_of, used)[0]

    # -- the budget around your own calls ---------------------------------------------------------------

    @contextmanager
    def _held_permit(self, target: Target) -> Iterator[Permit]:
        self._check_open()
        permit = Permit(self._permits.acquire(target.permits_path))
        try:
            yield permit
        except BaseException as error:
            permit.report(error)
            raise
        finally:
            self._permits.finish(permit.held, permit.marketo_error)

    def permit(self, client_id: str) -> AbstractContextManager[Permit]:
        """A permit of the client's instance budget around a Marketo call you make yourself (with a token
        from ``get_token``)::

            with tokens.permit("my-sync") as permit:
                body = my_marketo_call(token)
                permit.report(body)  # 606/615/607 in it are reported to the vendor

        Waits up to ``BudgetOptions.max_wait_seconds`` for a slot (``PermitUnavailable`` after);
        ``DailyQuotaExhausted`` when the instance's quota is used up. Send the call right away: a permit is
        counted from its grant."""
        return self._held_permit(client_target(client_id))

    def instance_permit(self, instance: str) -> AbstractContextManager[Permit]:
        """``permit`` for an instance pool."""
        return self._held_permit(instance_target(instance))

    # -- Marketo's Bulk API under the vendor's slots ---------------------------------------------------

    def bulk_export(
        self,
        client_id: str,
        rest_url: str,
        job: Mapping[str, Any],
        options: BulkExportOptions | None = None,
    ) -> BulkExportResult:
        """Runs a whole Bulk Extract under a slot of the instance's queue: slot, create (``job`` is Marketo's
        create body: ``fields``, ``filter``, ``format``), enqueue, poll with backoff (the slot renewed), the
        slot given back with the file's size, download. Each Marketo call is a ``request``. Raises
        ``DailyExportQuotaExhausted`` (with ``resets_at``) when the day's export quota is used up,
        ``BulkSlotUnavailable`` when no place frees in time, ``MarketoApiError`` when the job fails."""
        self._check_open()

        def request(method: str, url: str, **fields: Any) -> MarketoResponse:
            return self.request(client_id, method, url, **fields)

        return run_bulk_export(
            self._bulk_slots, request, self._clock, client_target(client_id).path, rest_url, job, options
        )

    def acquire_bulk_slot(self, client_id: str, kind: BulkKind, **options: Any) -> BulkSlot:
        """A place in the instance's Bulk Extract or Import queue for a job you run yourself: call
        ``renew_if_due()`` while it runs and ``release(file_bytes)`` when it ended. Waits while every place is
        held. ``options``: ``lease_seconds``, ``expected_bytes``, ``max_wait_seconds``
        (``BulkSlots.acquire``)."""
        self._check_open()
        return self._bulk_slots.acquire(client_target(client_id).path, kind, **options)

    def budget_stats(self) -> BudgetStats:
        """What the shared API budget did for this client: permits, waits, 606/615/607 seen."""
        return self._permits.stats()

    # -- lifecycle --------------------------------------------------------------------------------------

    def clear(self, client_id: str | None = None) -> None:
        """Forgets cached tokens (all, or one client's)."""
        self._cache.clear(None if client_id is None else client_target(client_id).cache_key)

    def close(self) -> None:
        """Releases what the client holds: permits whose release still lingers are released now (a finished
        job holds no concurrency slot), then the HTTP connections close. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._permits.close()
        self._transport.close()

    def __enter__(self) -> TokenClient:  # noqa: PYI034 - Self needs Python 3.11
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _whole(seconds: float) -> str:
    """The API's ``minValidity`` is whole seconds."""
    return str(int(seconds)) if float(seconds).is_integer() else str(int(seconds) + 1)
