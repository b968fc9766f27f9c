"""Tokens as the client holds them, what a token is fetched for, and the thread-safe cache with single
flight (one vendor request per target, whatever the number of threads asking)."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from .errors import TokenVendorClientError, epoch_seconds

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
"""Client ids and instance names share one alphabet (the vendor's and the Node client's)."""


@dataclass(frozen=True)
class MarketoToken:
    """A Marketo access token as handed out by the vendor. Its ``repr`` shows only a fingerprint."""

    client_id: str
    """The Custom Service the token belongs to (for pools: the member that was picked)."""
    access_token: str = field(repr=False)
    token_type: str
    expires_at: float
    """Epoch seconds on this machine's clock: the vendor's expiry, never later than receipt + ``expiresIn``."""
    scope: str | None = None

    @property
    def fingerprint(self) -> str:
        """The first 8 hex characters of the token's SHA-256 (what the vendor's logs show)."""
        return hashlib.sha256(self.access_token.encode()).hexdigest()[:8]

    def __repr__(self) -> str:
        return (
            f"MarketoToken(client_id={self.client_id!r}, fingerprint={self.fingerprint!r}, "
            f"expires_at={self.expires_at!r})"
        )


@dataclass(frozen=True)
class Target:
    """What a token is fetched for: a client, or an instance pool."""

    cache_key: str
    path: str
    invalidate_path: str
    permits_path: str
    """Whose share of the instance's API budget each Marketo call takes."""


def _assert_name(value: str, what: str) -> None:
    if not isinstance(value, str) or not NAME_PATTERN.match(value):
        raise TokenVendorClientError(
            "InvalidRequest",
            f'{what} must be 1-128 characters of A-Z, a-z, 0-9, ".", "_" or "-", starting with a letter or digit',
            status=400,
        )


def client_target(client_id: str) -> Target:
    _assert_name(client_id, "client_id")
    return Target(
        cache_key=f"client:{client_id}",
        path=f"/tokens/{client_id}",
        invalidate_path=f"/tokens/{client_id}/invalidate",
        permits_path=f"/tokens/{client_id}/permits",
    )


def instance_target(instance: str) -> Target:
    _assert_name(instance, "instance")
    return Target(
        cache_key=f"instance:{instance}",
        path=f"/instances/{instance}/token",
        invalidate_path=f"/instances/{instance}/invalidate",
        permits_path=f"/instances/{instance}/permits",
    )


def token_from_answer(body: object, received_at: float) -> MarketoToken:
    """The token of a vendor answer. ``received_at``: when it arrived. The vendor counts ``expiresIn`` (whole
    seconds, rounded down) when it answers, so counting from the arrival loses no life to waits before it."""
    if not isinstance(body, dict):
        body = {}
    access_token, client_id, expires_in = body.get("accessToken"), body.get("clientId"), body.get("expiresIn")
    if (
        not isinstance(access_token, str)
        or not isinstance(client_id, str)
        or not isinstance(expires_in, (int, float))
    ):
        raise TokenVendorClientError("BadResponse", "token vendor answered without a token", status=200)
    by_lifetime = received_at + float(expires_in)
    stated = epoch_seconds(body.get("expiresAt"))
    token_type, scope = body.get("tokenType"), body.get("scope")
    return MarketoToken(
        client_id=client_id,
        access_token=access_token,
        token_type=token_type if isinstance(token_type, str) else "bearer",
        # The vendor's clock may differ from ours: trust whichever expiry comes first.
        expires_at=by_lifetime if stated is None else min(stated, by_lifetime),
        scope=scope if isinstance(scope, str) else None,
    )


@dataclass
class _Pending:
    min_validity: float
    future: Future[MarketoToken]


class TokenCache:
    """Tokens by target, with one fetch per target in flight across threads (a fetch asking for at least
    the validity a caller needs is shared), and one report per rejected token."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._lock = threading.Lock()
        self._tokens: dict[str, MarketoToken] = {}
        self._fetching: dict[str, _Pending] = {}
        self._reporting: dict[tuple[str, str], Future[MarketoToken]] = {}

    def fresh(self, token: MarketoToken | None, min_validity: float) -> bool:
        return token is not None and token.expires_at - self._now() >= min_validity

    def get(self, key: str, min_validity: float, fetch: Callable[[], MarketoToken]) -> MarketoToken:
        """The cached token when it has ``min_validity`` seconds left, else the result of one shared fetch."""
        with self._lock:
            cached = self._tokens.get(key)
            if cached is not None and self.fresh(cached, min_validity):
                return cached
            pending = self._fetching.get(key)
            shared = pending is not None and pending.min_validity >= min_validity
            if not shared:
                pending = _Pending(min_validity, Future())
                self._fetching[key] = pending
        assert pending is not None
        if shared:
            return pending.future.result()
        mine = pending

        def forget() -> None:
            if self._fetching.get(key) is mine:
                del self._fetching[key]

        return self._settle(mine.future, fetch, key, forget)

    def replace(self, key: str, rejected: str, report: Callable[[], MarketoToken]) -> MarketoToken:
        """Reports ``rejected`` (once, however many threads saw it fail) and caches the replacement."""
        report_key = (key, rejected)
        with self._lock:
            pending = self._reporting.get(report_key)
            if pending is None:
                # The dead token may also be cached as a pool's token.
                for cache_key in [k for k, t in self._tokens.items() if t.access_token == rejected]:
                    del self._tokens[cache_key]
                future: Future[MarketoToken] = Future()
                self._reporting[report_key] = future
        if pending is not None:
            return pending.result()
        return self._settle(future, report, key, lambda: self._reporting.pop(report_key, None))

    def _settle(
        self,
        future: Future[MarketoToken],
        produce: Callable[[], MarketoToken],
        key: str,
        forget: Callable[[], object],
    ) -> MarketoToken:
        """Runs ``produce`` (outside the lock), caches its token and hands it (or its error) to the waiters."""
        try:
            token = produce()
        except BaseException as error:
            with self._lock:
                forget()
            future.set_exception(error)
            raise
        with self._lock:
            self._tokens[key] = token
            forget()
        future.set_result(token)
        return token

    def clear(self, key: str | None = None) -> None:
        with self._lock:
            if key is None:
                self._tokens.clear()
            else:
                self._tokens.pop(key, None)
