"""OwnedNumbers' single flight and short cache, with pages held back on demand and an injected clock."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from tendlc.clients.models import OwnedNumber, OwnedNumbersPage
from tendlc.clients.owned_numbers import LISTING_MAX_AGE, OwnedNumbers
from tendlc.partner_errors import PartnerUnavailable

OURS = [f"1954000000{i}" for i in range(8)]


@dataclass
class List:
    """The account's list, served page by page; `hold` keeps every request waiting until released.

    A walk sees the list as it was at its first page (a walk that started before an import was
    answered may miss that import, which is the rule the single flight must respect)."""

    owned: list[str]
    now: float = 0.0
    calls: list[tuple[str | None, int]] = field(default_factory=list)
    hold: asyncio.Event | None = None
    fail_page: int | None = None
    snapshot: list[str] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    async def fetch(self, number: str | None, page: int, limit: int) -> OwnedNumbersPage:
        self.calls.append((number, page))
        if number is None and page == 0:
            self.snapshot = list(self.owned)
        if self.hold is not None:
            await self.hold.wait()
        if page == self.fail_page:
            raise PartnerUnavailable("infobip", "numbers.owned", "HTTP 500 with an empty body", status=500)
        found = list(self.snapshot) if number is None else [n for n in self.owned if number in n]
        return OwnedNumbersPage(
            numbers=tuple(OwnedNumber(number=n) for n in found[page * limit : (page + 1) * limit]),
            number_count=len(found),
        )

    def walks(self) -> int:
        return sum(1 for number, page in self.calls if number is None and page == 0)


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_an_import_answered_during_a_walk_waits_for_the_next_one_which_everybody_shares() -> None:
    account = List(owned=OURS[:4])
    owned = OwnedNumbers(account.fetch, clock=account.clock, page_size=2)
    account.hold = asyncio.Event()
    account.now = 2.0
    first = asyncio.ensure_future(owned.check(OURS[:4], since=1.0))  # walk 1 starts at 2
    await settle()
    account.owned.extend(OURS[4:8])  # imports answered at 3 and 3.5, while walk 1 runs
    account.now = 3.0
    second = asyncio.ensure_future(owned.check(OURS[4:8], since=3.0))
    account.now = 3.5
    third = asyncio.ensure_future(owned.check(OURS[4:8], since=3.5))
    await settle()
    assert account.walks() == 1  # the second and third wait for walk 2; they do not start one each
    account.now = 5.0
    account.hold.set()
    one, two, three = await asyncio.gather(first, second, third)
    assert one.owned == frozenset(OURS[:4])
    assert two.owned == three.owned == frozenset(OURS[4:8])
    assert account.walks() == 2
    assert (one.calls, two.calls, three.calls) == (2, 4, 0)  # whoever started a walk is charged its pages


async def test_a_fresh_walk_answers_later_askers_without_a_request() -> None:
    account = List(owned=list(OURS))
    owned = OwnedNumbers(account.fetch, clock=account.clock)
    account.now = 10.0
    await owned.check(OURS, since=9.0)
    calls = len(account.calls)
    account.now = 20.0
    # answered before the walk started: the walk proves presence and absence alike
    assert (await owned.check([*OURS[:5], "12025550100"], since=8.0)).owned == frozenset(OURS[:5])
    # answered after it started: its positives still count (ownership does not flicker)
    assert (await owned.check(OURS[:5], since=15.0)).owned == frozenset(OURS[:5])
    assert len(account.calls) == calls
    # but it cannot prove that a number imported since is absent: ask again
    await owned.check(["12025550100", *OURS[:4]], since=15.0)
    assert len(account.calls) > calls


async def test_a_walk_older_than_the_max_age_is_not_used() -> None:
    account = List(owned=list(OURS))
    owned = OwnedNumbers(account.fetch, clock=account.clock)
    await owned.check(OURS, since=0.0)
    account.now = LISTING_MAX_AGE + 1
    calls = len(account.calls)
    await owned.check(OURS, since=0.0)
    assert len(account.calls) == calls + 1  # one page: a new walk


async def test_a_few_numbers_are_asked_one_by_one_with_the_number_filter() -> None:
    account = List(owned=OURS[:2])
    owned = OwnedNumbers(account.fetch, clock=account.clock)
    result = await owned.check(OURS[:3], since=0.0)
    assert result.owned == frozenset(OURS[:2])
    assert account.calls == [(OURS[0], 0), (OURS[1], 0), (OURS[2], 0)]


async def test_a_failed_walk_is_reported_to_its_waiters_and_not_kept() -> None:
    account = List(owned=[f"1202555{i:04d}" for i in range(120)] + OURS, fail_page=1)
    owned = OwnedNumbers(account.fetch, clock=account.clock)
    result = await owned.check(OURS, since=0.0)
    assert result.owned == frozenset()
    assert result.problem is not None
    assert "HTTP 500" in result.problem
    account.fail_page = None
    assert (await owned.check(OURS, since=0.0)).owned == frozenset(OURS)
    assert account.walks() == 2


async def test_a_cancelled_asker_does_not_cancel_the_shared_walk() -> None:
    account = List(owned=list(OURS))
    owned = OwnedNumbers(account.fetch, clock=account.clock)
    account.hold = asyncio.Event()
    leaving = asyncio.ensure_future(owned.check(OURS, since=0.0))
    staying = asyncio.ensure_future(owned.check(OURS, since=0.0))
    await settle()
    leaving.cancel()
    account.hold.set()
    assert (await staying).owned == frozenset(OURS)
    with pytest.raises(asyncio.CancelledError):
        await leaving
    assert account.walks() == 1


async def test_a_list_longer_than_the_page_cap_is_cut_short_and_says_so() -> None:
    account = List(owned=[f"1202555{i:04d}" for i in range(30)] + OURS)
    owned = OwnedNumbers(account.fetch, clock=account.clock, page_size=10, max_pages=2)
    result = await owned.check(OURS, since=0.0)
    assert result.owned == frozenset()
    assert result.problem == "the owned-numbers list has more than 2 pages; only those were read"
