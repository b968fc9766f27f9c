"""The client's time source: injectable so tests can move time themselves."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Epoch seconds and sleeping."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """``time.time`` and ``time.sleep``."""

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)
