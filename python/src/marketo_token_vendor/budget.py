"""The shared API budget as the caller configures and observes it: options, events and counters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .marketo import MarketoLimitCode


@dataclass(frozen=True)
class BudgetEvent:
    """``waited`` (``seconds``), ``marketo-limit`` (``code``, ``retry_in_seconds``) or ``unmetered`` (``reason``)."""

    kind: str
    seconds: float | None = None
    code: MarketoLimitCode | None = None
    retry_in_seconds: float | None = None
    reason: str | None = None


@dataclass(frozen=True)
class BudgetOptions:
    """Budget options of the client."""

    enabled: bool = True
    """Ask the vendor for permits."""
    max_wait_seconds: float = 60.0
    """Longest wait for a permit per Marketo call before raising ``PermitUnavailable``."""
    lease_seconds: float | None = None
    """The concurrency slot comes back by itself after this if this process dies mid-call (vendor default 15 s)."""
    limit_retries: int = 4
    """Retries of a call Marketo answered with 606/615 anyway."""
    on_event: Callable[[BudgetEvent], None] | None = None
    """Called for every budget event (waits, Marketo limit errors, fail-open), e.g. to log or count them."""


@dataclass
class BudgetStats:
    """What the budget did for this client."""

    permits: int = 0
    waits: int = 0
    waited_seconds: float = 0.0
    vendor_calls: int = 0
    marketo606: int = 0
    marketo615: int = 0
    marketo607: int = 0
    unmetered: int = 0
    expired: int = 0
    """Permits that arrived too late to use (their slot was spent; a new one was asked for)."""
