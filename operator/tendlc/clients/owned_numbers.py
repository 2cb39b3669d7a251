"""Which of some numbers an Infobip account owns, from the published list `GET /numbers/1/numbers` (D42).

The import's answer is undocumented; this list is documented, so it is what confirms an import
whose answer did not report every number as a known success. It is also slow (1 request/s, burst
2, per account), so this room spends as few requests as a fleet of campaigns allows:

- a few numbers (at most `PER_NUMBER_MAX`) are looked up one filtered query each;
- more are looked up in a walk of the account's whole list (`PAGE_SIZE` per page), and one walk
  serves every campaign of the account that asks while it runs (single flight). A walk can only
  prove absence for imports answered *before it started*, so a campaign whose import was answered
  during a walk waits for the next one, which starts when the current one ends and is shared by
  everybody waiting for it: at most one walk runs and one waits, whatever the number of campaigns;
- a finished walk is kept `LISTING_MAX_AGE` seconds: a number it shows is owned (ownership does
  not flicker), and it proves absence for imports answered before it started.

A number the list does not show is *not confirmed*, never refused: the import may be asynchronous
or the list may lag. Errors are reported, not raised. Time is injectable; nothing is logged.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

from tendlc.clients.import_answers import number_digits
from tendlc.clients.models import OwnedNumbersPage
from tendlc.partner_errors import PartnerError

PER_NUMBER_MAX = 3
"""At most this many numbers are looked up one query each (≤ 2 s at 1/s with a burst of 2)."""
PAGE_SIZE = 50
"""`limit` per page: the documented default (no maximum is published, so none is assumed)."""
LISTING_MAX_AGE = 30.0
"""Seconds a finished walk of the list keeps serving lookups."""
MAX_LISTING_PAGES = 1000
"""A list that claims more pages than this (50,000 numbers) is cut short; the rest reads unconfirmed."""

FetchPage = Callable[[str | None, int, int], Awaitable[OwnedNumbersPage]]
"""(number filter or None, page from 0, limit) → one page of the owned-numbers list."""
Clock = Callable[[], float]


@dataclass(frozen=True)
class OwnershipCheck:
    """Of the numbers asked about, those the list shows; the requests spent; why it stopped early."""

    owned: frozenset[str]
    calls: int
    problem: str | None = None


@dataclass(eq=False)
class _Walk:
    """One walk of the whole list; `started_at` is set when its first request is about to go."""

    after: _Walk | None = None
    started_at: float | None = None
    finished_at: float | None = None
    pages: int = 0
    truncated: bool = False
    task: asyncio.Task[frozenset[str]] = field(init=False)


def _retrieve(task: asyncio.Task[frozenset[str]]) -> None:
    if not task.cancelled():
        task.exception()  # a walk nobody waits for any more must not warn "exception never retrieved"


def _problem(error: PartnerError) -> str:
    return str(error)


class OwnedNumbers:
    """One account's owned-numbers lookups (one instance per Infobip client, shared by its campaigns)."""

    def __init__(
        self,
        fetch: FetchPage,
        *,
        clock: Clock = time.monotonic,
        per_number_max: int = PER_NUMBER_MAX,
        page_size: int = PAGE_SIZE,
        max_age: float = LISTING_MAX_AGE,
        max_pages: int = MAX_LISTING_PAGES,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._per_number_max = per_number_max
        self._page_size = page_size
        self._max_age = max_age
        self._max_pages = max_pages
        self._current: _Walk | None = None  # the newest walk that started
        self._next: _Walk | None = None  # a walk waiting for the current one to end
        self._finished: _Walk | None = None  # the newest walk that ended well

    async def check(self, numbers: Iterable[str], *, since: float) -> OwnershipCheck:
        """Which of `numbers` the account owns, for imports answered at `since` (our clock)."""
        asked = tuple(dict.fromkeys(numbers))
        if not asked:
            return OwnershipCheck(frozenset(), 0)
        walk = self._joinable(since)
        if walk is not None:
            return await self._from_walk(walk, asked, calls=0)
        owned = self._recently_listed(asked)
        remaining = tuple(number for number in asked if number not in owned)
        if not remaining:
            return OwnershipCheck(frozenset(owned), 0)
        if len(remaining) <= self._per_number_max:
            return await self._one_by_one(remaining, owned)
        walk, started_here = self._walk_for(since)
        result = await self._from_walk(walk, remaining, calls=0)
        calls = walk.pages if started_here else 0
        return OwnershipCheck(result.owned | owned, calls, result.problem)

    # --------------------------------------------------------------------- per number

    async def _one_by_one(self, numbers: Sequence[str], owned: set[str]) -> OwnershipCheck:
        found = set(owned)
        calls = 0
        for number in numbers:
            calls += 1
            try:
                page = await self._fetch(number, 0, self._page_size)
            except PartnerError as error:
                return OwnershipCheck(frozenset(found), calls, _problem(error))
            if number in {number_digits(entry.number) for entry in page.numbers}:
                found.add(number)
        return OwnershipCheck(frozenset(found), calls)

    # -------------------------------------------------------------------- whole walks

    def _fresh(self) -> _Walk | None:
        """The newest walk that ended well, if it ended less than `max_age` ago."""
        walk = self._finished
        if walk is None or walk.finished_at is None or self._clock() - walk.finished_at > self._max_age:
            return None
        return walk

    def _joinable(self, since: float) -> _Walk | None:
        """A walk that started after the import was answered and is running, or ended well lately."""
        running = self._current
        if (
            running is not None and not running.task.done()
            and running.started_at is not None and running.started_at >= since
        ):
            return running
        fresh = self._fresh()
        if fresh is not None and fresh.started_at is not None and fresh.started_at >= since:
            return fresh
        return None

    def _recently_listed(self, asked: Sequence[str]) -> set[str]:
        """Numbers a fresh walk showed, whenever it started: owned then, owned now."""
        walk = self._fresh()
        if walk is None:
            return set()
        listed = walk.task.result()
        return {number for number in asked if number in listed}

    def _walk_for(self, since: float) -> tuple[_Walk, bool]:
        """The walk that will answer for imports answered at `since`, and whether it is new."""
        if self._next is not None:
            return self._next, False  # queued behind the running walk, so it starts after `since`
        running = self._current is not None and not self._current.task.done()
        walk = _Walk(after=self._current if running else None)
        walk.task = asyncio.ensure_future(self._walk(walk))
        walk.task.add_done_callback(_retrieve)
        if running:
            self._next = walk
        else:
            self._current = walk
            walk.started_at = self._clock()  # before any await: later askers see it as started
        return walk, True

    async def _walk(self, walk: _Walk) -> frozenset[str]:
        if walk.after is not None:
            await asyncio.gather(walk.after.task, return_exceptions=True)
            walk.after = None
            walk.started_at = self._clock()
            if self._next is walk:
                self._next = None
            self._current = walk
        listed: set[str] = set()
        seen = 0
        try:
            for page_number in range(self._max_pages):
                walk.pages += 1
                page = await self._fetch(None, page_number, self._page_size)
                listed.update(digits for digits in map(number_digits, (e.number for e in page.numbers)) if digits)
                seen += len(page.numbers)
                if not page.numbers:
                    break
                if page.number_count is not None and seen >= page.number_count:
                    break
                if page.number_count is None and len(page.numbers) < self._page_size:
                    break
            else:
                walk.truncated = True
        finally:
            walk.finished_at = self._clock()
        self._finished = walk
        return frozenset(listed)

    async def _from_walk(self, walk: _Walk, asked: Sequence[str], *, calls: int) -> OwnershipCheck:
        try:
            listed = await asyncio.shield(walk.task)
        except PartnerError as error:
            return OwnershipCheck(frozenset(), calls, _problem(error))
        problem = (
            f"the owned-numbers list has more than {self._max_pages} pages; only those were read"
            if walk.truncated else None
        )
        return OwnershipCheck(frozenset(number for number in asked if number in listed), calls, problem)

    async def aclose(self) -> None:
        """Stop any walk still running (client shutdown)."""
        walks = [walk for walk in (self._current, self._next) if walk is not None]
        for walk in walks:
            walk.task.cancel()
        await asyncio.gather(*(walk.task for walk in walks), return_exceptions=True)
