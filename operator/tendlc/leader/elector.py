"""The election loop: campaign for one Lease, renew it, give it up on time, release it on shutdown.

This room runs the algorithm of client-go's `LeaderElector` over `tendlc.leader.records` and a
`LeaseApi`: it decides from its own monotonic clock, writes only conditionally, and tells the rest
of the operator through `is_leader`, two events and callbacks. Time (clock, sleep, jitter) is
injected so tests run it in virtual time. It makes no partner calls and imports no Kopf.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from tendlc.kube import CONFLICT, KubeApiError
from tendlc.leader.records import (
    DEFAULT_TIMINGS,
    JITTER_FACTOR,
    LeaseApi,
    LeaseTimings,
    claimed,
    declared_duration,
    holder_of,
    new_lease,
    released,
    spec_of,
)

logger = logging.getLogger("tendlc.leader")

Clock = Callable[[], float]
WallClock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]
Callback = Callable[[], None]
T = TypeVar("T")


class LeaderElector:
    """Campaigns for one Lease and tells whether this replica holds it (see the module docstring).

    `run()` is the election loop (start it as a background task); `release()` ends it and hands
    the lease over at once; `is_leader` gates partner calls; the `leading` / `not_leading` events
    and the `on_started_leading` / `on_stopped_leading` / `on_new_leader` callbacks tell when
    leadership changes. After losing the lease `run()` keeps campaigning; cancel its task to stop.
    """

    def __init__(
        self,
        kube: LeaseApi,
        namespace: str,
        name: str,
        identity: str,
        *,
        timings: LeaseTimings = DEFAULT_TIMINGS,
        clock: Clock = time.monotonic,
        wall_clock: WallClock = lambda: datetime.now(UTC),
        sleep: Sleep = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        on_started_leading: Callback | None = None,
        on_stopped_leading: Callback | None = None,
        on_new_leader: Callable[[str], None] | None = None,
    ) -> None:
        if not identity:
            raise ValueError("identity must not be empty (an empty holderIdentity means a free lease)")
        self._kube = kube
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.timings = timings
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._jitter = jitter
        self._on_started = on_started_leading
        self._on_stopped = on_stopped_leading
        self._on_new_leader = on_new_leader
        self._lease: dict[str, Any] | None = None  # as last read or written, with its resourceVersion
        self._observed_spec: dict[str, Any] | None = None
        self._observed_at = 0.0  # our clock when the record was last seen to change
        self._renewed_at: float | None = None  # our clock when the last successful write as holder started
        self._reported_holder = ""
        self._leading = False
        self._task: asyncio.Task[Any] | None = None
        self.leading = asyncio.Event()
        """Set while this replica leads."""
        self.not_leading = asyncio.Event()
        """Set while it does not (from the start until the first acquisition)."""
        self.not_leading.set()

    # -------------------------------------------------------------------------- reading

    @property
    def is_leader(self) -> bool:
        """True only while we hold the lease and our last successful renewal started less than the
        renew deadline ago by our clock — checked at every call, so it turns false on time even if
        the loop is stuck in a request."""
        return (
            self._leading
            and self._renewed_at is not None
            and self._clock() - self._renewed_at < self.timings.renew_deadline
            and holder_of(self._lease) == self.identity
        )

    @property
    def holder(self) -> str | None:
        """The holder identity last seen in the Lease (None when free or not read yet)."""
        return holder_of(self._lease) or None

    # -------------------------------------------------------------------------- the loop

    async def run(self) -> None:
        """Campaign, lead until a renewal misses its deadline, campaign again; until cancelled."""
        self._task = asyncio.current_task()
        try:
            while True:
                await self._acquire()
                self._set_leading(True)
                await self._keep_renewing()
                self._set_leading(False)
        finally:
            self._set_leading(False)
            self._task = None

    async def _acquire(self) -> None:
        while not await self._attempt():
            period = self.timings.retry_period
            await self._sleep(period + JITTER_FACTOR * period * self._jitter())

    async def _keep_renewing(self) -> None:
        """Renew every retry period; return (deposed) when none succeeded within the renew deadline
        or when the lease turns out to belong to someone else."""
        timings = self.timings
        while True:
            await self._sleep(timings.retry_period)
            while True:
                if not self._still_ours():
                    return
                if await self._attempt(bound=self._time_left()):
                    break
                if not self._still_ours():
                    return
                await self._sleep(min(timings.retry_period, self._time_left()))

    def _time_left(self) -> float:
        assert self._renewed_at is not None
        return self._renewed_at + self.timings.renew_deadline - self._clock()

    def _still_ours(self) -> bool:
        if holder_of(self._lease) != self.identity:
            logger.warning("lease %s/%s now held by %r: stopped leading", self.namespace, self.name, self.holder)
            return False
        if self._time_left() <= 0:
            logger.warning(
                "lease %s/%s not renewed within %g s: stopped leading",
                self.namespace, self.name, self.timings.renew_deadline,
            )
            return False
        return True

    async def _attempt(self, bound: float | None = None) -> bool:
        """One try to acquire or renew, bounded in time (a hung request must not outlive the deadline)."""
        limit = self.timings.renew_deadline if bound is None else bound
        try:
            done, result = await self._within(self._try_acquire_or_renew(), limit)
        except KubeApiError as error:
            logger.warning("lease %s/%s: %s", self.namespace, self.name, error)
            return False
        except Exception:
            logger.exception("lease %s/%s: unexpected failure", self.namespace, self.name)
            return False
        self._reportholder_of()
        return done and bool(result)

    async def _within(self, work: Awaitable[T], seconds: float) -> tuple[bool, T | None]:
        """(True, result) if `work` ends within `seconds` of the injected clock, else (False, None).

        Built on the injected sleep rather than asyncio.timeout so that tests in virtual time see
        the same deadlines as production does.
        """
        task = asyncio.ensure_future(work)
        timer = asyncio.ensure_future(self._sleep(max(seconds, 0.0)))
        timed_out = True
        try:
            await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timed_out = not task.done()
            timer.cancel()
            if timed_out:
                task.cancel()
            await asyncio.gather(task, timer, return_exceptions=True)
        if timed_out or task.cancelled():
            return False, None
        return True, task.result()

    async def _try_acquire_or_renew(self) -> bool:
        started = self._clock()
        if self._leading and holder_of(self._lease) == self.identity:
            # Fast path: renew the version we wrote last without reading it first (one request).
            assert self._lease is not None
            try:
                self._observe(await self._kube.replace_lease(self.namespace, self.name, self._claim(self._lease)))
                self._renewed_at = started
                return True
            except KubeApiError as error:
                if error.status != CONFLICT:
                    raise
                # someone wrote the Lease since: read it and decide again

        current = await self._kube.get_lease(self.namespace, self.name)
        if current is None:
            try:
                fresh = new_lease(self.namespace, self.name, self.identity, self.timings, self._wall_clock())
                created = await self._kube.create_lease(self.namespace, fresh)
            except KubeApiError as error:
                if error.status == CONFLICT:
                    return False  # another candidate created it first
                raise
            self._observe(created)
            self._renewed_at = started
            return True

        self._observe(current)
        holder = holder_of(current)
        if holder and holder != self.identity and self._observed_valid():
            return False
        try:
            self._observe(await self._kube.replace_lease(self.namespace, self.name, self._claim(current)))
        except KubeApiError as error:
            if error.status == CONFLICT:
                return False  # another candidate wrote first; the next read shows who
            raise
        self._renewed_at = started
        return True

    def _claim(self, current: dict[str, Any]) -> dict[str, Any]:
        return claimed(current, self.identity, self.timings, self._wall_clock())

    def _observed_valid(self) -> bool:
        duration = declared_duration(self._lease, self.timings.lease_duration)
        return self._observed_at + duration > self._clock()

    def _observe(self, lease: dict[str, Any]) -> None:
        spec = spec_of(lease)
        if spec != self._observed_spec:
            self._observed_spec = spec
            self._observed_at = self._clock()
        self._lease = lease

    # ------------------------------------------------------------------------ releasing

    async def release(self) -> bool:
        """Stop campaigning and, if we hold the lease, free it (empty holder, 1 s duration, as
        client-go's ReleaseOnCancel does) so a successor takes over within a retry period instead
        of waiting out the lease duration. Call it once the work the lease guards has stopped.
        Never raises; returns whether the lease is known to be free of us.
        """
        task = self._task
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._set_leading(False)
        for _ in range(2):  # one re-read after a conflict
            if self._lease is None or holder_of(self._lease) != self.identity:
                return True
            lease = released(self._lease, self._wall_clock())
            try:
                done, stored = await self._within(
                    self._kube.replace_lease(self.namespace, self.name, lease), self.timings.renew_deadline
                )
                if not done or stored is None:
                    logger.warning("lease %s/%s: release timed out", self.namespace, self.name)
                    return False
                self._observe(stored)
                self._renewed_at = None
                logger.info("lease %s/%s released by %s", self.namespace, self.name, self.identity)
                return True
            except KubeApiError as error:
                if error.status != CONFLICT:
                    logger.warning("lease %s/%s: release failed: %s", self.namespace, self.name, error)
                    return False
                try:
                    current = await self._kube.get_lease(self.namespace, self.name)
                except KubeApiError as reread:
                    logger.warning("lease %s/%s: release failed: %s", self.namespace, self.name, reread)
                    return False
                if current is None:
                    return True
                self._observe(current)
        return False

    # ------------------------------------------------------------------------ reporting

    def _set_leading(self, leading: bool) -> None:
        if leading == self._leading:
            return
        self._leading = leading
        if leading:
            logger.info("lease %s/%s acquired by %s", self.namespace, self.name, self.identity)
            self.not_leading.clear()
            self.leading.set()
        else:
            self.leading.clear()
            self.not_leading.set()
        self._call(self._on_started if leading else self._on_stopped)

    def _reportholder_of(self) -> None:
        holder = holder_of(self._lease)
        if holder == self._reported_holder:
            return
        self._reported_holder = holder
        if holder and self._on_new_leader is not None:
            try:
                self._on_new_leader(holder)
            except Exception:
                logger.exception("on_new_leader callback failed")

    @staticmethod
    def _call(callback: Callback | None) -> None:
        if callback is None:
            return
        try:
            callback()
        except Exception:
            logger.exception("leadership callback failed")
