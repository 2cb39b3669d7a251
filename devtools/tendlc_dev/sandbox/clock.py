"""The sandbox's clock: wall time, compressed by a scale factor and moved forward on demand.

Every partner-side schedule (TCR's decision, the OSR update, registration, webhook retries) is
measured on this clock, never on `time.time()`, so that a demo can run a day in a minute and a test
can freeze time (`time_scale=0`) and jump over a schedule without sleeping. Rate limits are NOT on
this clock: they protect real throughput and use the monotonic clock directly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime


class SandboxClock:
    """`now()` = start + real elapsed * scale + manual advances, in epoch seconds."""

    def __init__(
        self,
        time_scale: float = 1.0,
        *,
        start: float | None = None,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if time_scale < 0:
            raise ValueError("time_scale must be >= 0")
        self._monotonic = monotonic
        self._base = wall() if start is None else start
        self._base_mono = monotonic()
        self._scale = time_scale

    @property
    def time_scale(self) -> float:
        return self._scale

    def now(self) -> float:
        return self._base + (self._monotonic() - self._base_mono) * self._scale

    def set_time_scale(self, time_scale: float) -> None:
        """Change the compression from now on, without a jump in sandbox time."""
        if time_scale < 0:
            raise ValueError("time_scale must be >= 0")
        self._base = self.now()
        self._base_mono = self._monotonic()
        self._scale = time_scale

    def advance(self, seconds: float) -> float:
        """Move sandbox time forward (never backward: schedules must stay causal)."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._base += seconds
        return self.now()

    def resume_at_least(self, moment: float) -> None:
        """After a restart from a state file, never let the clock run behind what already happened."""
        if moment > self.now():
            self._base += moment - self.now()

    def seconds_until(self, moment: float) -> float | None:
        """Real seconds until `moment` on this clock; None when the clock is frozen."""
        if self._scale == 0:
            return None
        return max(0.0, (moment - self.now()) / self._scale)


def isoformat(moment: float) -> str:
    """RFC 3339 with milliseconds and `Z`, as the partners' JSON carries date-times."""
    text = datetime.fromtimestamp(moment, tz=UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")
