"""Whether this replica may act on the partners now: always when it runs alone, else while it leads.

`Gate.is_open()` is asked right before every partner call and webhook (a call already on the wire
when leadership is lost cannot be recalled; the fenced writes and the exactly-once marker cover
that case); `wait_open()` is where a resource's loop waits while another replica leads. With leader
election off (one replica, or the chart's default) the gate is always open. No partner calls here.
"""

from __future__ import annotations

import asyncio
from typing import Protocol


class Leadership(Protocol):
    """What the gate needs of `tendlc.leader.LeaderElector`."""

    @property
    def is_leader(self) -> bool: ...

    leading: asyncio.Event


class Gate:
    """The leadership answer for the controller (see the module docstring)."""

    def __init__(self, leadership: Leadership | None = None, *, recheck_seconds: float = 1.0) -> None:
        self._leadership = leadership
        self._recheck = recheck_seconds

    @property
    def elects(self) -> bool:
        return self._leadership is not None

    def is_open(self) -> bool:
        return self._leadership is None or self._leadership.is_leader

    async def wait_open(self) -> None:
        """Returns once this replica may act (at once when it runs alone)."""
        while self._leadership is not None and not self._leadership.is_leader:
            await self._leadership.leading.wait()
            if not self._leadership.is_leader:  # leading, but the last renewal is overdue: look again soon
                await asyncio.sleep(self._recheck)
